package runc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
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

func TestStartsPerCPUOption(t *testing.T) {
	o := Options{StateDir: t.TempDir()}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if o.StartsPerCPU != DefaultStartsPerCPU {
		t.Fatalf("StartsPerCPU defaulted to %d, want %d", o.StartsPerCPU, DefaultStartsPerCPU)
	}
	o = Options{StateDir: t.TempDir(), StartsPerCPU: 1}
	if err := o.setDefaults(); err != nil || o.StartsPerCPU != 1 {
		t.Fatalf("StartsPerCPU 1: %d, %v; want it kept", o.StartsPerCPU, err)
	}
	o = Options{StateDir: t.TempDir(), StartsPerCPU: -1}
	if err := o.setDefaults(); err == nil || !strings.Contains(err.Error(), "StartsPerCPU") {
		t.Fatalf("StartsPerCPU -1: %v, want an error naming it", err)
	}
}
