package runtime

import (
	"context"
	"syscall"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime/logs"
)

// Runtime runs pod sandboxes and their containers on this host. All methods
// are safe for concurrent use. IDs are chosen by the caller.
type Runtime interface {
	// Name is the runtime's name as reported in the Host ("runc", ...).
	Name() string

	// CreateSandbox creates the shared namespaces of a pod (loopback up).
	CreateSandbox(ctx context.Context, spec SandboxSpec) (Sandbox, error)
	// RemoveSandbox removes a sandbox: its containers (stopped with no
	// grace if still running), namespaces, cgroups and logs. Removing a
	// missing sandbox is not an error.
	RemoveSandbox(ctx context.Context, id string) error
	// Sandbox returns one sandbox.
	Sandbox(ctx context.Context, id string) (Sandbox, error)
	// ListSandboxes returns all sandboxes.
	ListSandboxes(ctx context.Context) ([]Sandbox, error)

	// CreateContainer prepares a container (process created, not started;
	// started too when spec.Start is set and the runtime supports it).
	// Errors wrapping ErrStartFailed mean the spec cannot run (e.g. the
	// command does not exist); nothing is left behind.
	CreateContainer(ctx context.Context, spec ContainerSpec) (ContainerStatus, error)
	// StartContainer starts a created container's process; starting a
	// started one is a no-op.
	StartContainer(ctx context.Context, id string) error
	// KillContainer sends a signal to the container's main process.
	KillContainer(ctx context.Context, id string, sig syscall.Signal) error
	// StopContainer sends SIGTERM, waits up to grace, then SIGKILL, and
	// returns the exit status. Stopping an exited container returns its
	// status.
	StopContainer(ctx context.Context, id string, grace time.Duration) (ExitStatus, error)
	// WaitContainer blocks until the container exits.
	WaitContainer(ctx context.Context, id string) (ExitStatus, error)
	// RemoveContainer kills (if needed) and deletes a container and its
	// cgroups; its logs stay until the sandbox is removed (a standalone
	// container's go with it). Removing a missing container is not an error.
	RemoveContainer(ctx context.Context, id string) error
	// ContainerStatus returns a snapshot of one container.
	ContainerStatus(ctx context.Context, id string) (ContainerStatus, error)
	// ListContainers returns all containers.
	ListContainers(ctx context.Context) ([]ContainerStatus, error)

	// Exec runs a process in a running container (ErrNotRunning otherwise).
	Exec(ctx context.Context, id string, spec ExecSpec) (ExecProcess, error)
	// ReadLogs calls fn for each selected log entry, in order.
	ReadLogs(ctx context.Context, opts LogOptions, fn func(logs.Entry) error) error

	// Recover re-adopts the sandboxes and containers left by a previous
	// agent process over the same state, without restarting them.
	Recover(ctx context.Context) (Recovered, error)
}
