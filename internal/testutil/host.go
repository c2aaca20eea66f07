package testutil

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openpacific/pacific/internal/repo"
)

// SkipOrFail skips the test, or fails it when CI=true.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (hack/install-runc.sh installs runc and busybox)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FindRunc returns $PACIFIC_RUNC, <repo>/.bin/runc or runc from PATH ("" if none).
func FindRunc() string {
	if p := os.Getenv("PACIFIC_RUNC"); p != "" {
		return p
	}
	if root := repo.Root(); root != "" {
		if p := filepath.Join(root, ".bin", "runc"); IsExecutable(p) {
			return p
		}
	}
	p, _ := exec.LookPath("runc")
	return p
}

// BuildShim builds the C container shim (cmd/pacific-shim) into out, as
// hack/dev.sh installs it.
func BuildShim(out string) error {
	return repo.BuildShim(context.Background(), repo.Root(), out)
}

// IsExecutable reports whether p is a regular executable file.
func IsExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// StaticBusybox returns a statically linked busybox (Debian busybox-static).
func StaticBusybox() (string, error) {
	p, err := exec.LookPath("busybox")
	if err != nil {
		return "", err
	}
	f, err := elf.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked", p)
		}
	}
	return p, nil
}

// RequireContainerHost skips (or fails in CI) unless the test runs as root
// with runc and a static busybox, and returns their paths.
func RequireContainerHost(t testing.TB) (runcPath, busybox string) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root")
	}
	if runcPath = FindRunc(); runcPath == "" {
		SkipOrFail(t, "runc not found")
	}
	busybox, err := StaticBusybox()
	if err != nil {
		SkipOrFail(t, "static busybox not found: %v", err)
	}
	return runcPath, busybox
}
