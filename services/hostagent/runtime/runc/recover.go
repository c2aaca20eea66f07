package runc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// load reads the sandboxes and containers persisted in the state dir and
// starts watching the shims that are still alive.
func (r *Runtime) load() error {
	sbs, _ := os.ReadDir(filepath.Join(r.opts.RunDir, "sandboxes"))
	for _, e := range sbs {
		var m sandboxMeta
		if err := readJSON(filepath.Join(r.sandboxDir(e.Name()), sandboxFile), &m); err != nil {
			continue // half-created: Recover removes it
		}
		r.sandboxes[m.ID] = &sandbox{meta: m, ready: namespacesPinned(m.Namespaces)}
	}
	cs, _ := os.ReadDir(filepath.Join(r.opts.RunDir, "containers"))
	for _, e := range cs {
		var m containerMeta
		if err := readJSON(filepath.Join(r.bundleDir(e.Name()), metaFile), &m); err != nil {
			continue // half-created: Recover removes it
		}
		c := newContainer(m)
		r.containers[m.ID] = c
		if ex, err := r.readExit(m); err == nil {
			st := toExitStatus(ex)
			c.exit = &st
			close(c.exited)
			continue
		}
		r.watchAdopted(c)
	}
	return nil
}

// Recover implements runtime.Runtime. New already re-adopted what the
// previous agent left (same PIDs, nothing restarted); Recover also removes
// half-created leftovers (a bundle without metadata, a sandbox dir without
// sandbox.json, a runc container the runtime has no record of), marks
// containers runc reports running as started, and returns what exists.
func (r *Runtime) Recover(ctx context.Context) (runtime.Recovered, error) {
	var errs []error
	// Half-created sandboxes.
	sbs, _ := os.ReadDir(filepath.Join(r.opts.RunDir, "sandboxes"))
	for _, e := range sbs {
		r.mu.Lock()
		_, known := r.sandboxes[e.Name()]
		r.mu.Unlock()
		if !known {
			r.log.Warn("removing half-created sandbox", "sandbox", e.Name())
			errs = append(errs, r.cleanSandboxDir(r.sandboxDir(e.Name())))
		}
	}
	// Half-created containers: bundle dirs without metadata.
	cs, _ := os.ReadDir(filepath.Join(r.opts.RunDir, "containers"))
	for _, e := range cs {
		if _, err := r.get(e.Name()); err == nil {
			continue
		}
		r.log.Warn("removing half-created container", "container", e.Name())
		errs = append(errs, r.cleanupContainer(ctx, r.leftoverMeta(e.Name())))
	}
	// Containers runc knows and the runtime does not.
	states, err := r.cli.list(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, s := range states {
		c, err := r.get(s.ID)
		if err != nil {
			r.log.Warn("removing unknown runc container", "container", s.ID)
			errs = append(errs, r.cleanupContainer(ctx, r.leftoverMeta(s.ID)))
			continue
		}
		c.mu.Lock()
		if s.Status == "running" && c.meta.StartedAt.IsZero() {
			c.meta.StartedAt = time.Now().UTC()
			m := c.meta
			c.mu.Unlock()
			errs = append(errs, writeJSON(filepath.Join(m.Bundle, metaFile), m))
			continue
		}
		c.mu.Unlock()
	}
	sandboxes, _ := r.ListSandboxes(ctx)
	containers, _ := r.ListContainers(ctx)
	return runtime.Recovered{Sandboxes: sandboxes, Containers: containers}, errors.Join(errs...)
}

// leftoverMeta rebuilds what cleanup needs for a container without
// metadata, from its config.json when there is one.
func (r *Runtime) leftoverMeta(id string) containerMeta {
	m := containerMeta{ID: id, Bundle: r.bundleDir(id)}
	var s specs.Spec
	if err := readJSON(filepath.Join(m.Bundle, "config.json"), &s); err == nil && s.Linux != nil &&
		strings.HasPrefix(s.Linux.CgroupsPath, r.opts.CgroupParent+"/") {
		m.CgroupsPath = s.Linux.CgroupsPath
	}
	if m.CgroupsPath == "" {
		m.CgroupsPath = filepath.Join(r.opts.CgroupParent, "_", id) // nothing there: harmless
	}
	return m
}
