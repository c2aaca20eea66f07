package runc

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// CreateContainer implements runtime.Runtime.
func (r *Runtime) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (runtime.ContainerStatus, error) {
	if err := validateID("container", spec.ID); err != nil {
		return runtime.ContainerStatus{}, err
	}
	if spec.SandboxID != "" {
		if err := validateID("sandbox", spec.SandboxID); err != nil {
			return runtime.ContainerStatus{}, err
		}
	}
	if !filepath.IsAbs(spec.Rootfs) {
		return runtime.ContainerStatus{}, fmt.Errorf("%w: rootfs %q is not absolute", runtime.ErrInvalidSpec, spec.Rootfs)
	}
	// runc rejects a symlinked rootfs.
	rootfs, err := filepath.EvalSymlinks(spec.Rootfs)
	if err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("%w: rootfs: %w", runtime.ErrInvalidSpec, err)
	}
	if st, err := os.Stat(rootfs); err != nil || !st.IsDir() {
		return runtime.ContainerStatus{}, fmt.Errorf("%w: rootfs %q is not a directory", runtime.ErrInvalidSpec, spec.Rootfs)
	}
	if spec.Name == "" {
		spec.Name = spec.ID
	}
	if spec.SandboxID != "" {
		// The caller checked the sandbox is ready (Sandbox) before.
		_, sb, err := r.sandboxMeta(spec.SandboxID)
		if err != nil {
			return runtime.ContainerStatus{}, err
		}
		if spec.Namespaces.Network == "" {
			spec.Namespaces.Network = sb.Namespaces.Network
		}
		if spec.Namespaces.IPC == "" {
			spec.Namespaces.IPC = sb.Namespaces.IPC
		}
		if spec.Namespaces.UTS == "" {
			spec.Namespaces.UTS = sb.Namespaces.UTS
		}
	}
	sandboxPart := spec.SandboxID
	if sandboxPart == "" {
		sandboxPart = "_"
	}
	m := containerMeta{
		ID: spec.ID, SandboxID: spec.SandboxID, Name: spec.Name, Attempt: spec.Attempt,
		Bundle:      r.bundleDir(spec.ID),
		LogPath:     filepath.Join(r.logDir(spec.SandboxID, spec.Name), strconv.Itoa(spec.Attempt)+".log"),
		CgroupsPath: filepath.Join(r.opts.CgroupParent, sandboxPart, spec.ID),
		TTY:         spec.TTY,
		CreatedAt:   time.Now().UTC(),
		Labels:      maps.Clone(spec.Labels),
	}
	ociSpec, err := buildSpec(spec, specConfig{
		Rootfs: rootfs, CgroupsPath: m.CgroupsPath, PidsLimit: r.opts.DefaultPidsLimit,
		NoFile: r.noFile, Seccomp: !r.opts.NoSeccomp, CgroupNS: r.cgroupNS,
	})
	if err != nil {
		return runtime.ContainerStatus{}, err
	}

	c := newContainer(m)
	r.mu.Lock()
	if _, ok := r.containers[spec.ID]; ok {
		r.mu.Unlock()
		return runtime.ContainerStatus{}, fmt.Errorf("container %s: %w", spec.ID, runtime.ErrAlreadyExists)
	}
	r.containers[spec.ID] = c
	r.mu.Unlock()
	ok := false
	defer func() {
		if !ok {
			r.mu.Lock()
			delete(r.containers, spec.ID)
			r.mu.Unlock()
		}
	}()

	// A leftover of a create that crashed half-way.
	if _, err := os.Stat(m.Bundle); err == nil {
		if err := r.cleanupContainer(ctx, m); err != nil {
			return runtime.ContainerStatus{}, err
		}
	}
	if err := os.MkdirAll(m.Bundle, 0o700); err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("bundle: %w", err)
	}
	if err := writeJSON(filepath.Join(m.Bundle, "config.json"), ociSpec); err != nil {
		os.RemoveAll(m.Bundle)
		return runtime.ContainerStatus{}, err
	}
	cmd, info, err := r.spawnShim(ctx, m, spec.Start)
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if cerr := r.cleanupContainer(cctx, m); cerr != nil {
			r.log.Warn("cleanup after failed create", "container", spec.ID, "err", cerr)
		}
		return runtime.ContainerStatus{}, fmt.Errorf("create container %s: %w", spec.ID, err)
	}
	c.mu.Lock()
	c.meta.ShimPid, c.meta.ShimStart, c.meta.Pid = info.shimPid, info.shimStart, info.initPid
	if spec.Start {
		c.meta.StartedAt = time.Now().UTC()
	}
	m = c.meta
	c.mu.Unlock()
	r.watchChild(c, cmd)
	if err := writeJSON(filepath.Join(m.Bundle, metaFile), m); err != nil {
		// Without metadata a restarted agent could not adopt it: undo.
		if cerr := r.cleanupContainer(context.WithoutCancel(ctx), m); cerr != nil {
			r.log.Warn("cleanup after failed create", "container", spec.ID, "err", cerr)
		}
		return runtime.ContainerStatus{}, fmt.Errorf("create container %s: %w", spec.ID, err)
	}
	ok = true
	r.log.Info("container created", "container", spec.ID, "sandbox", spec.SandboxID, "pid", info.initPid, "started", spec.Start)
	return c.status(), nil
}

// StartContainer implements runtime.Runtime.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	c, err := r.get(id)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	// Started already (created with Start) is done, even if it has exited
	// since: that is its exit, not a failure to start.
	c.mu.Lock()
	started := !c.meta.StartedAt.IsZero()
	c.mu.Unlock()
	if started {
		return nil
	}
	if _, done := c.exitStatus(); done {
		return fmt.Errorf("start container %s: %w", id, runtime.ErrNotRunning)
	}
	if _, err := r.cli.run(ctx, "start", id); err != nil {
		return fmt.Errorf("start container %s: %w: %w", id, runtime.ErrStartFailed, err)
	}
	c.mu.Lock()
	c.meta.StartedAt = time.Now().UTC()
	m := c.meta
	c.mu.Unlock()
	if err := writeJSON(filepath.Join(m.Bundle, metaFile), m); err != nil {
		r.log.Error("persist container metadata", "container", id, "err", err)
	}
	return nil
}
