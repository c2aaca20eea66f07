package runtime

import (
	"context"
	"io"
	"syscall"
	"time"
)

// SandboxSpec describes a pod sandbox: the network, IPC and UTS namespaces
// shared by the pod's containers.
type SandboxSpec struct {
	// ID identifies the sandbox (e.g. the pod UID). [A-Za-z0-9_.-], ≤ 64.
	ID string
	// Hostname set in the sandbox's UTS namespace (defaults to ID).
	Hostname string
	// Labels are stored and returned as is.
	Labels map[string]string
}

// Sandbox is a created pod sandbox.
type Sandbox struct {
	ID       string
	Hostname string
	Labels   map[string]string
	// Namespaces holds the paths of the pinned namespaces; NetNS is what a
	// CNI plugin is given.
	Namespaces Namespaces
	CreatedAt  time.Time
	// Ready is false when the sandbox's namespaces are gone (e.g. the host
	// rebooted): the caller should remove and recreate it. Sandbox checks
	// the namespaces; ListSandboxes reports the last check (a list must
	// not cost a stat per sandbox on every call).
	Ready bool
}

// Namespaces are paths of existing namespaces a container joins. Empty
// means a new private namespace of that kind.
type Namespaces struct {
	Network string
	IPC     string
	UTS     string
}

// DefaultCapabilities is the capability set a container gets (Docker's
// default set), in the bounding, effective and permitted sets. There are no
// ambient or inheritable capabilities: a non-root user (or an exec'd file
// without file capabilities) ends up with none.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// User is the identity the container process runs as.
type User struct {
	UID            uint32
	GID            uint32
	AdditionalGIDs []uint32
}

// Resources are the cgroup limits of a container.
type Resources struct {
	// CPULimitMillis caps CPU time (CFS quota over a 100 ms period); 0 = none.
	CPULimitMillis int64
	// CPURequestMillis sets the relative weight (cpu.shares =
	// millis*1024/1000, min 2); 0 = CPULimitMillis, or the default weight.
	CPURequestMillis int64
	// MemoryLimitBytes caps memory (and memory+swap); 0 = none.
	MemoryLimitBytes int64
	// PidsLimit caps the number of tasks; 0 = the runtime's default,
	// negative = unlimited.
	PidsLimit int64
}

// Mount is a bind mount into the container (emptyDir and other volumes
// prepared on the host).
type Mount struct {
	Source      string // absolute host path
	Destination string // absolute path in the container
	ReadOnly    bool
}

// ContainerSpec describes one run (attempt) of a container. A restart is a
// new ContainerSpec with a new ID and Attempt+1.
type ContainerSpec struct {
	// ID is unique per run. [A-Za-z0-9_.-], ≤ 64.
	ID string
	// SandboxID is the pod sandbox; its namespaces are joined unless
	// Namespaces says otherwise. May be empty for a standalone container.
	SandboxID string
	// Name is the container's name in the pod; logs are kept per
	// (SandboxID, Name, Attempt).
	Name    string
	Attempt int
	// Rootfs is the absolute path of the prepared root filesystem.
	Rootfs         string
	ReadonlyRootfs bool
	Args           []string
	Env            []string // KEY=VALUE; PATH gets a default if absent
	Cwd            string   // default "/"
	User           User
	// DropCapabilities removes capabilities ("CAP_NET_RAW", or "ALL") from
	// the default set; AddCapabilities then adds back ones from the default
	// set (e.g. CAP_NET_BIND_SERVICE after dropping ALL).
	DropCapabilities []string
	AddCapabilities  []string
	TTY              bool
	Hostname         string // only used with a private UTS namespace
	Resources        Resources
	Mounts           []Mount
	Namespaces       Namespaces
	// OOMScoreAdj, when set, is written to the process' oom_score_adj.
	OOMScoreAdj *int
	Labels      map[string]string
	// Start makes CreateContainer start the process too, in one step
	// (StartContainer is then a no-op); a failure to start is then
	// CreateContainer's error, wrapping ErrStartFailed. Runtimes that
	// cannot do both at once may ignore it: callers still call
	// StartContainer.
	Start bool
}

// ContainerState is the lifecycle state of a container.
type ContainerState string

const (
	StateCreated ContainerState = "created"
	StateRunning ContainerState = "running"
	StateExited  ContainerState = "exited"
	// StateUnknown: the runtime lost track of the container (e.g. its
	// supervisor died); it should be stopped and removed.
	StateUnknown ContainerState = "unknown"
)

// Termination reasons, as Kubernetes reports them.
const (
	ReasonCompleted  = "Completed"
	ReasonError      = "Error"
	ReasonOOMKilled  = "OOMKilled"
	ReasonStartError = "StartError"
	ReasonUnknown    = "Unknown"
)

// ExitStatus tells how a container's main process ended.
type ExitStatus struct {
	// ExitCode is the exit code, or 128+signal when killed by a signal.
	ExitCode int
	// Signal is set when the process was killed by a signal.
	Signal    syscall.Signal
	OOMKilled bool
	// Reason is one of the Reason* constants.
	Reason     string
	Message    string
	FinishedAt time.Time
}

// ContainerStatus is a snapshot of a container.
type ContainerStatus struct {
	ID        string
	SandboxID string
	Name      string
	Attempt   int
	State     ContainerState
	// Pid is the host PID of the container's main process (0 if none).
	Pid       int
	CreatedAt time.Time
	StartedAt time.Time // zero until started
	// Exit is set once the container has exited.
	Exit    *ExitStatus
	LogPath string
	Labels  map[string]string
}

// WindowSize is a terminal size.
type WindowSize struct {
	Width, Height uint16
}

// ExecSpec describes a process to run inside a running container.
type ExecSpec struct {
	Args []string
	// Env is appended to the container's environment.
	Env  []string
	Cwd  string
	User *User // nil: the container's user
	TTY  bool
	// Stdin, when non-nil, is copied to the process; the process sees EOF
	// when it returns io.EOF. The copy goroutine may outlive the process if
	// Stdin blocks: close it after Wait.
	Stdin io.Reader
	// Stdout and Stderr receive the output (with TTY, everything goes to
	// Stdout). Nil discards.
	Stdout io.Writer
	Stderr io.Writer
	// Size is the initial terminal size (TTY only).
	Size *WindowSize
}

// ExecProcess is a running exec.
type ExecProcess interface {
	// Resize changes the terminal size (TTY only).
	Resize(WindowSize) error
	// Signal sends a signal to the exec'd process.
	Signal(syscall.Signal) error
	// Wait waits for the process to exit and its output to be copied, and
	// returns its exit code (128+signal when killed). Cancelling ctx kills
	// the process.
	Wait(ctx context.Context) (int, error)
}

// LogOptions select what ReadLogs returns.
type LogOptions struct {
	// ContainerID selects one container run. If empty, SandboxID+Name select
	// the latest run of that container (or the one before with Previous).
	ContainerID string
	SandboxID   string
	Name        string
	Previous    bool
	// Tail returns only the last N lines (N ≥ 0); negative returns all.
	Tail int
	// Since skips lines older than this time.
	Since time.Time
	// Follow keeps reading until the container exits or ctx is cancelled.
	Follow bool
}

// Recovered is what Recover found after an agent restart.
type Recovered struct {
	Sandboxes  []Sandbox
	Containers []ContainerStatus
}
