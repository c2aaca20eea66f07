package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/bench/internal/benchenv"
)

// leftovers is what the run left behind after the agent stopped; all zero
// after a clean run. Whatever is found is removed.
type leftovers struct {
	containers, shims, mounts, cgroups int
}

func (l leftovers) String() string {
	return fmt.Sprintf("containers %d, shims %d, mounts %d, cgroups %d", l.containers, l.shims, l.mounts, l.cgroups)
}

func (l leftovers) clean() bool { return l == leftovers{} }

// sweep checks for and removes runc containers in the agent's runc root,
// shims of bin (the temporary binary) still running, mounts under dir and
// the pods' cgroups.
func sweep(ctx context.Context, runc, runcRoot, dir, bin string, podUIDs []string, log *slog.Logger) leftovers {
	var l leftovers
	if ids, err := runcList(ctx, runc, runcRoot); err != nil {
		log.Warn("clean-up: runc list", "err", err)
	} else {
		for _, id := range ids {
			l.containers++
			log.Warn("clean-up: container left behind; deleting it", "id", id)
			if out, err := exec.CommandContext(ctx, runc, "--root", runcRoot, "delete", "--force", id).CombinedOutput(); err != nil {
				log.Warn("clean-up: runc delete", "id", id, "err", err, "out", strings.TrimSpace(string(out)))
			}
		}
	}
	for _, pid := range shimsOf(bin) {
		l.shims++
		log.Warn("clean-up: shim still running; killing it", "pid", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if mps, err := benchenv.MountsUnder(dir); err != nil {
		log.Warn("clean-up: read mounts", "err", err)
	} else {
		for i := len(mps) - 1; i >= 0; i-- {
			l.mounts++
			log.Warn("clean-up: mount left behind; unmounting it", "path", mps[i])
			if err := unix.Unmount(mps[i], unix.MNT_DETACH); err != nil {
				log.Warn("clean-up: unmount", "path", mps[i], "err", err)
			}
		}
	}
	for _, cg := range podCgroups(podUIDs) {
		l.cgroups++
		log.Warn("clean-up: cgroup left behind; removing it", "path", cg)
		if err := removeCgroup(ctx, cg); err != nil {
			log.Warn("clean-up: remove cgroup", "path", cg, "err", err)
		}
	}
	return l
}

// runcList lists the container IDs runc knows under root.
func runcList(ctx context.Context, runc, root string) ([]string, error) {
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	out, err := exec.CommandContext(ctx, runc, "--root", root, "list", "-q").Output()
	if err != nil {
		return nil, fmt.Errorf("runc --root %s list: %w", root, err)
	}
	return strings.Fields(string(out)), nil
}

// cgroupParent is the host agent's default cgroup parent (the hostagent
// command has no flag for it); pods' cgroups are <parent>/<pod UID>/<container>.
const cgroupParent = "pacific"

// podCgroups lists the cgroup directories of the given pods in every
// hierarchy (v1 controllers and the unified one).
func podCgroups(uids []string) []string {
	var out []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, r := range roots {
		if fi, err := os.Lstat(r); err != nil || !fi.IsDir() {
			continue // symlinks such as cpu -> cpu,cpuacct
		}
		for _, uid := range uids {
			if uid == "" {
				continue
			}
			p := filepath.Join(r, cgroupParent, uid)
			if _, err := os.Stat(p); err == nil {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// removeCgroup removes a cgroup directory and its children, deepest first
// (rmdir only: a cgroup with processes stays and the error says so).
func removeCgroup(ctx context.Context, dir string) error {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	var errs []error
	for i := len(dirs) - 1; i >= 0; i-- {
		var err error
		for range 10 { // a just-killed process may take a moment to leave
			if err = unix.Rmdir(dirs[i]); err == nil || err == unix.ENOENT || ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil && err != unix.ENOENT {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", dirs[i], err))
		}
	}
	return errors.Join(errs...)
}
