package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/logs"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
)

// KillContainer implements runtime.Runtime.
func (r *Runtime) KillContainer(ctx context.Context, id string, sig syscall.Signal) error {
	c, err := r.get(id)
	if err != nil {
		return err
	}
	if st, done := c.exitStatus(); done && st.Reason != runtime.ReasonUnknown {
		return fmt.Errorf("kill container %s: %w", id, runtime.ErrNotRunning)
	}
	if _, err := r.cli.run(ctx, "kill", id, strconv.Itoa(int(sig))); err != nil {
		return fmt.Errorf("kill container %s: %w", id, err)
	}
	return nil
}

// StopContainer implements runtime.Runtime.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) (runtime.ExitStatus, error) {
	c, err := r.get(id)
	if err != nil {
		return runtime.ExitStatus{}, err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	return r.stop(ctx, c, grace)
}

func (r *Runtime) stop(ctx context.Context, c *container, grace time.Duration) (runtime.ExitStatus, error) {
	id := c.meta.ID
	c.mu.Lock()
	lost := c.lost
	c.mu.Unlock()
	if lost {
		return r.stopLost(ctx, c)
	}
	if st, done := c.exitStatus(); done {
		return st, nil
	}
	ignorable := func(err error) bool {
		return err == nil || errors.Is(err, runtime.ErrNotRunning) || errors.Is(err, runtime.ErrNotFound)
	}
	c.mu.Lock()
	started := !c.meta.StartedAt.IsZero()
	c.mu.Unlock()
	// A created container has not run its process yet: nothing to be
	// graceful about.
	if grace > 0 && started {
		if err := r.KillContainer(ctx, id, syscall.SIGTERM); !ignorable(err) {
			return runtime.ExitStatus{}, err
		}
		t := time.NewTimer(grace)
		select {
		case <-c.exited:
			t.Stop()
			st, _ := c.exitStatus()
			return st, nil
		case <-ctx.Done():
			t.Stop()
			return runtime.ExitStatus{}, fmt.Errorf("stop container %s: %w", id, ctx.Err())
		case <-t.C:
		}
		r.log.Info("grace period over; killing", "container", id, "grace", grace)
	}
	if err := r.KillContainer(ctx, id, syscall.SIGKILL); !ignorable(err) {
		return runtime.ExitStatus{}, err
	}
	select {
	case <-c.exited:
		st, _ := c.exitStatus()
		return st, nil
	case <-ctx.Done():
		return runtime.ExitStatus{}, fmt.Errorf("stop container %s: %w", id, ctx.Err())
	}
}

// stopLost kills a container whose shim is gone and polls runc until the
// container is stopped.
func (r *Runtime) stopLost(ctx context.Context, c *container) (runtime.ExitStatus, error) {
	id := c.meta.ID
	st, _ := c.exitStatus()
	if _, err := r.cli.run(ctx, "kill", id, "KILL"); err != nil &&
		!errors.Is(err, runtime.ErrNotRunning) && !errors.Is(err, runtime.ErrNotFound) {
		return st, fmt.Errorf("stop container %s: %w", id, err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s, err := r.cli.state(ctx, id)
		if errors.Is(err, runtime.ErrNotFound) || (err == nil && s.Status == "stopped") {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("stop container %s: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}

// WaitContainer implements runtime.Runtime.
func (r *Runtime) WaitContainer(ctx context.Context, id string) (runtime.ExitStatus, error) {
	c, err := r.get(id)
	if err != nil {
		return runtime.ExitStatus{}, err
	}
	select {
	case <-c.exited:
		st, _ := c.exitStatus()
		return st, nil
	case <-ctx.Done():
		return runtime.ExitStatus{}, fmt.Errorf("wait container %s: %w", id, ctx.Err())
	}
}

// RemoveContainer implements runtime.Runtime.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	c, err := r.get(id)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	// Kill it first (bounded: runc delete --force below kills anyway).
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = r.stop(sctx, c, 0)
	cancel()
	if err != nil && ctx.Err() != nil {
		return err
	}
	if err := r.cleanupContainer(ctx, c.meta); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	if c.meta.SandboxID == "" {
		// No sandbox will collect the logs of a standalone container.
		for i := 0; i < r.opts.LogMaxFiles; i++ {
			os.Remove(logs.RotatedPath(c.meta.LogPath, i))
		}
		os.Remove(filepath.Dir(c.meta.LogPath))
	}
	c.mu.Lock()
	if c.unwatch != nil {
		c.unwatch()
	}
	c.mu.Unlock()
	r.mu.Lock()
	delete(r.containers, id)
	r.mu.Unlock()
	r.log.Info("container removed", "container", id)
	return nil
}

// cleanupContainer deletes the runc container (killing it if needed), its
// cgroups and its bundle dir. Its logs stay.
func (r *Runtime) cleanupContainer(ctx context.Context, m containerMeta) error {
	if _, err := r.cli.run(ctx, "delete", "--force", m.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return err
	}
	if err := cgroups.Remove(ctx, r.hs, m.CgroupsPath); err != nil {
		return err
	}
	if err := os.RemoveAll(m.Bundle); err != nil {
		return fmt.Errorf("remove bundle: %w", err)
	}
	return nil
}
