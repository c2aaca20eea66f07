package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/openpacific/pacific/bench/internal/benchenv"
	"github.com/openpacific/pacific/internal/repo"
)

// checkMachine verifies what the benchmark needs and resolves the repo,
// runc and busybox paths. It installs nothing.
func checkMachine(o *options) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (the host agent runs runc containers: cgroups, namespaces, overlay mounts)")
	}
	if o.repo == "" {
		o.repo = repo.Root()
	}
	if o.repo == "" {
		return errors.New("repository not found: run from inside it (the directory with go.work) or pass -repo")
	}
	if _, err := os.Stat(filepath.Join(o.repo, "cmd", "pacific")); err != nil {
		return fmt.Errorf("-repo %s: no cmd/pacific: %w", o.repo, err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return errors.New("go not found in PATH (needed to build cmd/pacific)")
	}
	if o.runc == "" {
		o.runc = filepath.Join(o.repo, ".bin", "runc")
		if _, err := os.Stat(o.runc); err != nil {
			o.runc = "runc"
		}
	}
	p, err := exec.LookPath(o.runc)
	if err != nil {
		return fmt.Errorf("runc %q: %w (./hack/install-runc.sh builds runc 1.5.2 into .bin)", o.runc, err)
	}
	if o.runc, err = filepath.Abs(p); err != nil {
		return err
	}
	if err := benchenv.CheckStatic(o.busybox); err != nil {
		return fmt.Errorf("busybox: %w (apt-get install busybox-static, or pass -busybox)", err)
	}
	return nil
}
