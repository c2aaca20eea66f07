package hostagent

import (
	"os"
	"path/filepath"
	"testing"
)

// Usage counts allocated bytes, a hard-linked file once, and stops early
// once over the given bound.
func TestDiskUsage(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 256<<10)
	for i := range data {
		data[i] = byte(i) // not all zeros: really allocated
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "sub/b"} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub/a-again")); err != nil {
		t.Fatal(err)
	}
	used, err := diskUsage(dir, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	const two, three = 2 * 256 << 10, 3 * 256 << 10
	if used < two || used >= three {
		t.Fatalf("usage %d: want two files' worth (%d..%d), the hard link counted once", used, two, three)
	}
	early, err := diskUsage(dir, 1)
	if err != nil || early <= 1 || early > used {
		t.Fatalf("usage bounded by 1 byte = %d, %v", early, err)
	}
	if _, err := diskUsage(filepath.Join(dir, "missing"), 1); !os.IsNotExist(err) {
		t.Fatalf("missing dir: %v", err)
	}
}
