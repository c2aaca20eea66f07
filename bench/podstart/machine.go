package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/bench/internal/benchenv"
	"github.com/openpacific/pacific/internal/repo"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc"
)

// checkMachine verifies what the benchmark needs and resolves o.runc and
// o.busybox to absolute paths. It installs nothing.
func checkMachine(o *options) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (runc, cgroups, namespaces, overlay mounts)")
	}
	if o.runc == "" {
		o.runc = benchenv.FindRunc()
	}
	if o.runc == "" {
		return errors.New("runc not found: run ./hack/install-runc.sh (runc 1.5.2 into .bin) or pass -runc")
	}
	p, err := exec.LookPath(o.runc)
	if err != nil {
		return fmt.Errorf("runc %q: %w (./hack/install-runc.sh installs one)", o.runc, err)
	}
	if o.runc, err = filepath.Abs(p); err != nil {
		return err
	}
	if err := benchenv.CheckStatic(o.busybox); err != nil {
		return fmt.Errorf("busybox: %w (apt-get install busybox-static, or pass -busybox)", err)
	}
	return nil
}

// buildShim builds the C shim (cmd/pacific-shim) into dir with
// hack/build-shim.sh, as hack/dev.sh installs it next to pacific, and
// returns its path.
func buildShim(ctx context.Context, dir string) (string, error) {
	root := repo.Root()
	if root == "" {
		return "", errors.New("-shim small: run from inside the repository (it builds cmd/pacific-shim), or pass -shim self or -shim PATH")
	}
	bin := filepath.Join(dir, runc.ShimBinary)
	return bin, repo.BuildShim(ctx, root, bin)
}

// cleanupDir unmounts whatever is still mounted under dir (deepest first)
// and removes it.
func cleanupDir(dir string, log *slog.Logger) {
	if mps, err := benchenv.MountsUnder(dir); err == nil {
		for i := len(mps) - 1; i >= 0; i-- {
			if err := unix.Unmount(mps[i], unix.MNT_DETACH); err != nil {
				log.Warn("clean-up: unmount", "path", mps[i], "err", err)
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		log.Warn("clean-up: remove state dir", "dir", dir, "err", err)
	}
}
