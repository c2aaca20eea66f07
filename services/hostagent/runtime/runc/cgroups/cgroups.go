package cgroups

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openpacific/pacific/internal/mountinfo"
)

// Hierarchy is one mounted cgroup hierarchy.
type Hierarchy struct {
	// Mount is where it is mounted (e.g. /sys/fs/cgroup/memory).
	Mount string
	// Controllers are the v1 controllers (or "name=..." for a named
	// hierarchy); empty for cgroup2.
	Controllers []string
	V2          bool
}

// Has reports whether the hierarchy carries the v1 controller c.
func (h Hierarchy) Has(c string) bool { return slices.Contains(h.Controllers, c) }

// Hierarchies lists the cgroup hierarchies mounted in this mount namespace
// (one entry per distinct hierarchy: the first mount point wins).
func Hierarchies() ([]Hierarchy, error) {
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	var hs []Hierarchy
	seen := map[string]bool{}
	for _, m := range mounts {
		if m.Root != "/" {
			continue
		}
		switch m.FSType {
		case "cgroup2":
			if !seen["cgroup2"] {
				seen["cgroup2"] = true
				hs = append(hs, Hierarchy{Mount: m.MountPoint, V2: true})
			}
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(m.SuperOpts, ",") {
				switch {
				case strings.HasPrefix(o, "name="):
					ctrls = append(ctrls, o)
				case o == "rw" || o == "ro" || strings.Contains(o, "=") || o == "noprefix" ||
					o == "clone_children" || o == "xattr" || o == "cpuset_v2_mode" || o == "favordynmods" ||
					strings.HasPrefix(o, "release_agent"):
				default:
					ctrls = append(ctrls, o)
				}
			}
			slices.Sort(ctrls)
			key := strings.Join(ctrls, ",")
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			hs = append(hs, Hierarchy{Mount: m.MountPoint, Controllers: ctrls})
		}
	}
	return hs, nil
}

// Dirs returns the directory of cgroup path (e.g. /pacific/pod/ctr) in each
// hierarchy.
func Dirs(hs []Hierarchy, path string) []string {
	dirs := make([]string, 0, len(hs))
	for _, h := range hs {
		dirs = append(dirs, filepath.Join(h.Mount, filepath.Clean("/"+path)))
	}
	return dirs
}

// EnsureParent creates cgroup path in every hierarchy; for the v1 cpuset
// controller it copies cpuset.cpus and cpuset.mems from the parent so that
// children can be created (as runc does for the dirs it creates).
func EnsureParent(hs []Hierarchy, path string) error {
	for _, h := range hs {
		dir := filepath.Join(h.Mount, filepath.Clean("/"+path))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		if !h.V2 && h.Has("cpuset") {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if err := copyIfEmpty(h.Mount, dir, f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func copyIfEmpty(root, dir, file string) error {
	if dir == root || dir == "/" {
		return nil
	}
	cur, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	if len(bytes.TrimSpace(cur)) > 0 {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := copyIfEmpty(root, parent, file); err != nil {
		return err
	}
	v, err := os.ReadFile(filepath.Join(parent, file))
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), v, 0); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

// Remove removes cgroup path (which must be a leaf in each hierarchy, or
// have only empty children, removed first) everywhere it exists, retrying
// while the kernel still reports it busy (tasks exiting) until ctx is done.
func Remove(ctx context.Context, hs []Hierarchy, path string) error {
	var errs []error
	for _, dir := range Dirs(hs, path) {
		if err := removeTree(ctx, dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeTree removes dir and its sub-cgroups, deepest first.
func removeTree(ctx context.Context, dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read cgroup %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeTree(ctx, filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	delay := 5 * time.Millisecond
	for {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("remove cgroup %s: %w (%w)", dir, err, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// OOMKills returns the number of processes the kernel OOM-killed in cgroup
// path (v1 memory.oom_control "oom_kill", or v2 memory.events "oom_kill").
// ok is false when no memory hierarchy or counter was found.
func OOMKills(hs []Hierarchy, path string) (n uint64, ok bool) {
	for _, h := range hs {
		var file string
		switch {
		case !h.V2 && h.Has("memory"):
			file = "memory.oom_control"
		case h.V2:
			file = "memory.events"
		default:
			continue
		}
		data, err := os.ReadFile(filepath.Join(h.Mount, filepath.Clean("/"+path), file))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			k, v, _ := strings.Cut(line, " ")
			if k == "oom_kill" {
				if c, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
					return c, true
				}
			}
		}
	}
	return 0, false
}
