package runc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
)

// sandbox is guarded by Runtime.mu; a zero meta.CreatedAt marks a sandbox
// being created.
type sandbox struct {
	meta sandboxMeta
	// ready is the last namespacesPinned check (runtime.Sandbox.Ready).
	ready bool
}

func sandboxStatus(m sandboxMeta, ready bool) runtime.Sandbox {
	return runtime.Sandbox{
		ID:         m.ID,
		Hostname:   m.Hostname,
		Labels:     maps.Clone(m.Labels),
		Namespaces: m.Namespaces,
		CreatedAt:  m.CreatedAt,
		Ready:      ready,
	}
}

// namespacesPinned reports whether all of a sandbox's namespaces are still
// mounted (they are not after a reboot).
func namespacesPinned(ns runtime.Namespaces) bool {
	return isPinned(ns.Network) && isPinned(ns.IPC) && isPinned(ns.UTS)
}

// CreateSandbox implements runtime.Runtime.
func (r *Runtime) CreateSandbox(ctx context.Context, spec runtime.SandboxSpec) (runtime.Sandbox, error) {
	if err := validateID("sandbox", spec.ID); err != nil {
		return runtime.Sandbox{}, err
	}
	hostname := spec.Hostname
	if hostname == "" {
		hostname = spec.ID
	}
	if len(hostname) > 63 {
		hostname = strings.TrimRight(hostname[:63], "-.")
	}
	r.mu.Lock()
	if _, ok := r.sandboxes[spec.ID]; ok {
		r.mu.Unlock()
		return runtime.Sandbox{}, fmt.Errorf("sandbox %s: %w", spec.ID, runtime.ErrAlreadyExists)
	}
	// Reserve the ID while the namespaces are created.
	sb := &sandbox{meta: sandboxMeta{ID: spec.ID}}
	r.sandboxes[spec.ID] = sb
	r.mu.Unlock()
	ok := false
	defer func() {
		if !ok {
			r.mu.Lock()
			delete(r.sandboxes, spec.ID)
			r.mu.Unlock()
		}
	}()

	dir := r.sandboxDir(spec.ID)
	if err := r.cleanSandboxDir(dir); err != nil {
		return runtime.Sandbox{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return runtime.Sandbox{}, fmt.Errorf("sandbox dir: %w", err)
	}
	ns, err := pinNamespaces(dir, hostname)
	if err != nil {
		os.RemoveAll(dir)
		return runtime.Sandbox{}, fmt.Errorf("sandbox %s: %w", spec.ID, err)
	}
	meta := sandboxMeta{
		ID: spec.ID, Hostname: hostname, Labels: maps.Clone(spec.Labels),
		Namespaces: ns, CreatedAt: time.Now().UTC(),
	}
	if err := writeJSON(filepath.Join(dir, sandboxFile), meta); err != nil {
		r.cleanSandboxDir(dir)
		return runtime.Sandbox{}, err
	}
	r.mu.Lock()
	sb.meta, sb.ready = meta, true
	r.mu.Unlock()
	ok = true
	r.log.Info("sandbox created", "sandbox", spec.ID, "netns", ns.Network)
	return sandboxStatus(meta, true), nil
}

// cleanSandboxDir unpins whatever is left in a sandbox dir and removes it.
func (r *Runtime) cleanSandboxDir(dir string) error {
	var errs []error
	for _, kind := range nsKinds {
		if err := unpin(filepath.Join(dir, kind)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove sandbox dir: %w", err)
	}
	return nil
}

// RemoveSandbox implements runtime.Runtime.
func (r *Runtime) RemoveSandbox(ctx context.Context, id string) error {
	if err := validateID("sandbox", id); err != nil {
		return err
	}
	r.mu.Lock()
	var ids []string
	for cid, c := range r.containers {
		if c.meta.SandboxID == id {
			ids = append(ids, cid)
		}
	}
	r.mu.Unlock()
	var errs []error
	for _, cid := range ids {
		if err := r.RemoveContainer(ctx, cid); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	if err := r.cleanSandboxDir(r.sandboxDir(id)); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	if err := cgroups.Remove(ctx, r.hs, r.sandboxCgroup(id)); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	if err := os.RemoveAll(filepath.Join(r.opts.StateDir, "logs", id)); err != nil {
		return fmt.Errorf("remove sandbox %s logs: %w", id, err)
	}
	r.mu.Lock()
	delete(r.sandboxes, id)
	r.mu.Unlock()
	r.log.Info("sandbox removed", "sandbox", id)
	return nil
}

// Sandbox implements runtime.Runtime.
func (r *Runtime) Sandbox(ctx context.Context, id string) (runtime.Sandbox, error) {
	sb, m, err := r.sandboxMeta(id)
	if err != nil {
		return runtime.Sandbox{}, err
	}
	ready := namespacesPinned(m.Namespaces)
	r.mu.Lock()
	if r.sandboxes[id] == sb {
		sb.ready = ready
	}
	r.mu.Unlock()
	return sandboxStatus(m, ready), nil
}

// sandboxMeta returns a created sandbox and its metadata, without checking
// its namespaces (Sandbox does).
func (r *Runtime) sandboxMeta(id string) (*sandbox, sandboxMeta, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[id]
	if !ok || sb.meta.CreatedAt.IsZero() {
		return nil, sandboxMeta{}, fmt.Errorf("sandbox %s: %w", id, runtime.ErrNotFound)
	}
	return sb, sb.meta, nil
}

// ListSandboxes implements runtime.Runtime.
func (r *Runtime) ListSandboxes(ctx context.Context) ([]runtime.Sandbox, error) {
	r.mu.Lock()
	out := make([]runtime.Sandbox, 0, len(r.sandboxes))
	for _, sb := range r.sandboxes {
		if !sb.meta.CreatedAt.IsZero() {
			out = append(out, sandboxStatus(sb.meta, sb.ready))
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b runtime.Sandbox) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
