package runc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/internal/mountinfo"
)

// runDirTmpfsOptions: the run dir holds small files only (bundles, runc
// state, namespace pins): a few KiB per container.
const runDirTmpfsOptions = "mode=0700,size=256m"

// runSubdirs are the run dir's parts.
func runSubdirs() []string { return []string{"runc", "sandboxes", "containers"} }

// prepareRunDir creates the run dir, mounting a tmpfs on it first with
// MountRunDir. Sandboxes or bundles left in StateDir by a runtime from
// before RunDir existed keep the runtime on that layout until they are
// gone, so that it re-adopts their containers.
func (r *Runtime) prepareRunDir() error {
	o := &r.opts
	if o.RunDir != o.StateDir {
		for _, d := range []string{"sandboxes", "containers"} {
			if ents, _ := os.ReadDir(filepath.Join(o.StateDir, d)); len(ents) > 0 {
				r.log.Info("containers from before the run dir existed: keeping the volatile state in the state dir until they are gone", "state", o.StateDir)
				o.RunDir, o.MountRunDir = o.StateDir, false
				break
			}
		}
	}
	if err := os.MkdirAll(o.RunDir, 0o700); err != nil {
		return fmt.Errorf("run dir: %w", err)
	}
	if o.MountRunDir {
		tmpfs, err := isTmpfs(o.RunDir)
		if err != nil {
			return fmt.Errorf("run dir: %w", err)
		}
		if !tmpfs {
			if err := unix.Mount("tmpfs", o.RunDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, runDirTmpfsOptions); err != nil {
				return fmt.Errorf("run dir: mount tmpfs on %s: %w", o.RunDir, err)
			}
			r.log.Debug("mounted a tmpfs on the run dir", "dir", o.RunDir)
		}
	}
	for _, d := range runSubdirs() {
		if err := os.MkdirAll(filepath.Join(o.RunDir, d), 0o700); err != nil {
			return fmt.Errorf("run dir: %w", err)
		}
	}
	return nil
}

// releaseRunDir unmounts the run dir's tmpfs (MountRunDir) once no
// sandbox, bundle or runc state is left in it.
func (r *Runtime) releaseRunDir() error {
	if !r.opts.MountRunDir {
		return nil
	}
	for _, d := range runSubdirs() {
		if ents, err := os.ReadDir(filepath.Join(r.opts.RunDir, d)); err != nil || len(ents) > 0 {
			return nil // containers live on, or the dir is already gone
		}
	}
	mounted, err := tmpfsMountedAt(r.opts.RunDir)
	if err != nil || !mounted {
		return err
	}
	if err := unix.Unmount(r.opts.RunDir, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("run dir: unmount %s: %w", r.opts.RunDir, err)
	}
	return nil
}

func isTmpfs(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Type == unix.TMPFS_MAGIC, nil
}

// tmpfsMountedAt reports whether a tmpfs is mounted exactly at dir (not
// merely dir being inside one, as under a tmpfs /run).
func tmpfsMountedAt(dir string) (bool, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false, fmt.Errorf("run dir: %w", err)
	}
	mounts, err := mountinfo.Read()
	if err != nil {
		return false, err
	}
	for _, m := range mounts {
		if m.MountPoint == real && m.FSType == "tmpfs" {
			return true, nil
		}
	}
	return false, nil
}
