package runc

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDefaultShim(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "pacific")
	small := filepath.Join(dir, ShimBinary)

	if path, args := DefaultShim(exe); path != exe || !slices.Equal(args, []string{"shim"}) {
		t.Fatalf("without %s: %s %q, want %s shim", ShimBinary, path, args, exe)
	}
	// Not executable: not used.
	if err := os.WriteFile(small, []byte("#!/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if path, _ := DefaultShim(exe); path != exe {
		t.Fatalf("non-executable %s used: %s", ShimBinary, path)
	}
	if err := os.Chmod(small, 0o755); err != nil {
		t.Fatal(err)
	}
	if path, args := DefaultShim(exe); path != small || len(args) != 0 {
		t.Fatalf("with %s: %s %q, want it without arguments", ShimBinary, path, args)
	}
	// A directory of that name is not a shim.
	other := t.TempDir()
	if err := os.Mkdir(filepath.Join(other, ShimBinary), 0o755); err != nil {
		t.Fatal(err)
	}
	if path, _ := DefaultShim(filepath.Join(other, "pacific")); path == filepath.Join(other, ShimBinary) {
		t.Fatal("a directory was taken for the shim")
	}
}
