package rundir

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/internal/testutil"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "mounting a tmpfs needs root")
	}
}

func tmpfsAt(t *testing.T, dir string) bool {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Type == unix.TMPFS_MAGIC
}

// mustRelease calls Release and checks whether it unmounted.
func mustRelease(t *testing.T, dir string, want bool) {
	t.Helper()
	got, err := Release(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Release(%s) unmounted: %v, want %v", dir, got, want)
	}
}

func TestMountAndRelease(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "run")
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	if err := Mount(dir); err != nil {
		t.Fatal(err)
	}
	if !tmpfsAt(t, dir) {
		t.Fatal("no tmpfs on the run dir")
	}
	// Mounting again (a restarted agent) keeps what is there.
	f := filepath.Join(dir, "runtime", "containers", "c1", "config.json")
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Mount(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f); err != nil {
		t.Fatalf("a second Mount lost the files: %v", err)
	}

	// A file, or a mount below, keeps the tmpfs.
	mustRelease(t, dir, false)
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	below := filepath.Join(dir, "agent", "rootfs")
	if err := os.MkdirAll(below, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", below, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	mustRelease(t, dir, false)
	if err := unix.Unmount(below, 0); err != nil {
		t.Fatal(err)
	}
	// Only empty directories: unmounted.
	mustRelease(t, dir, true)
	if tmpfsAt(t, dir) {
		t.Fatal("the tmpfs is still there")
	}
	mustRelease(t, dir, false)
}

// A run dir inside a tmpfs it did not mount (a tmpfs /run) is used as is
// and never unmounted.
func TestInsideATmpfs(t *testing.T) {
	requireRoot(t)
	outer := t.TempDir()
	if err := unix.Mount("tmpfs", outer, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(outer, unix.MNT_DETACH) })
	dir := filepath.Join(outer, "pacific")
	if err := Mount(dir); err != nil {
		t.Fatal(err)
	}
	mustRelease(t, dir, false)
	if !tmpfsAt(t, outer) {
		t.Fatal("the outer tmpfs went")
	}
}
