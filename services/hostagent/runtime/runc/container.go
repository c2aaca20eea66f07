package runc

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/shim"
)

// container is one container run. meta.ID, Bundle, LogPath and CgroupsPath
// never change after creation.
type container struct {
	// opMu serialises lifecycle operations (start, stop, remove).
	opMu sync.Mutex

	mu      sync.Mutex
	meta    containerMeta
	exit    *runtime.ExitStatus
	lost    bool          // the shim died without recording an exit
	exited  chan struct{} // closed once exit or lost is set
	unwatch func()        // stops watching an adopted shim
}

func newContainer(m containerMeta) *container {
	return &container{meta: m, exited: make(chan struct{})}
}

func (c *container) status() runtime.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.meta
	st := runtime.ContainerStatus{
		ID: m.ID, SandboxID: m.SandboxID, Name: m.Name, Attempt: m.Attempt,
		Pid: m.Pid, CreatedAt: m.CreatedAt, StartedAt: m.StartedAt,
		LogPath: m.LogPath, Labels: maps.Clone(m.Labels),
	}
	switch {
	case c.exit != nil:
		st.State = runtime.StateExited
		e := *c.exit
		st.Exit = &e
	case c.lost:
		st.State = runtime.StateUnknown
	case !m.StartedAt.IsZero():
		st.State = runtime.StateRunning
	default:
		st.State = runtime.StateCreated
	}
	return st
}

// exitStatus returns the exit once known (or an Unknown one for a lost
// container); ok is false while the container runs.
func (c *container) exitStatus() (runtime.ExitStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.exit != nil:
		return *c.exit, true
	case c.lost:
		return runtime.ExitStatus{
			ExitCode: 255, Reason: runtime.ReasonUnknown,
			Message: "the container's shim exited without recording its exit status",
		}, true
	}
	return runtime.ExitStatus{}, false
}

func toExitStatus(e shim.Exit) runtime.ExitStatus {
	s := runtime.ExitStatus{
		ExitCode: e.ExitCode, Signal: syscall.Signal(e.Signal),
		OOMKilled: e.OOMKilled, FinishedAt: e.FinishedAt,
	}
	switch {
	case e.OOMKilled:
		s.Reason = runtime.ReasonOOMKilled
	case e.ExitCode == 0:
		s.Reason = runtime.ReasonCompleted
	default:
		s.Reason = runtime.ReasonError
	}
	if s.Signal != 0 {
		s.Message = "killed by " + unix.SignalName(s.Signal)
	}
	return s
}

func (r *Runtime) get(id string) (*container, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	return c, nil
}

// ContainerStatus implements runtime.Runtime.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	c, err := r.get(id)
	if err != nil {
		return runtime.ContainerStatus{}, err
	}
	return c.status(), nil
}

// ListContainers implements runtime.Runtime.
func (r *Runtime) ListContainers(ctx context.Context) ([]runtime.ContainerStatus, error) {
	r.mu.Lock()
	cs := slices.Collect(maps.Values(r.containers))
	r.mu.Unlock()
	out := make([]runtime.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		if st := c.status(); st.Pid != 0 { // skip containers still being created
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b runtime.ContainerStatus) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
