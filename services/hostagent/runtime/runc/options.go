package runc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Options configure a Runtime.
type Options struct {
	// StateDir holds everything the runtime keeps (see the package doc).
	// Required; must be on a local filesystem.
	StateDir string
	// RunDir holds the volatile state: runc's root, the sandboxes' pinned
	// namespaces and the containers' bundles, files that mean nothing
	// after a reboot, as containers don't survive one; best on a tmpfs
	// (package rundir, decision 0035). Default: StateDir. Logs stay in
	// StateDir.
	RunDir string
	// RuncPath is the runc binary (default: "runc" from PATH).
	RuncPath string
	// ShimPath and ShimArgs start a shim: the runtime runs
	// ShimPath ShimArgs... <shim flags>, and that process must call
	// shim.Main(<shim flags>). Default: DefaultShim.
	ShimPath string
	ShimArgs []string
	// ShimEnv is added to the shim's environment.
	ShimEnv []string
	// ChildEnv is added to the environment of every shim and runc process
	// the runtime starts (the shims pass it on to their runc). Default
	// DefaultChildEnv; an empty non-nil slice adds nothing.
	ChildEnv []string
	// CgroupParent is the parent cgroup of all sandboxes (default "/pacific").
	CgroupParent string
	// LogMaxBytes and LogMaxFiles bound each container's log (default
	// 10 MiB × 3 files).
	LogMaxBytes int64
	LogMaxFiles int
	// DefaultPidsLimit applies to containers whose spec has none (default
	// 4096; negative: unlimited).
	DefaultPidsLimit int64
	// NoSeccomp disables the default seccomp profile (for a runc built
	// without seccomp support). Default false.
	NoSeccomp bool
	// UnpinnedStarts turns off start slots (decision 0034): by default,
	// when more than one CPU is allowed and runc resets the container's
	// affinity (1.2.7, 1.3.1, 1.4.0 on), at most StartsPerCPU container
	// starts run per CPU at a time, each with runc's own process pinned to
	// its CPU.
	UnpinnedStarts bool
	// StartsPerCPU is how many start slots each CPU has (default
	// DefaultStartsPerCPU).
	StartsPerCPU int
	Logger       *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.StateDir == "" {
		return errors.New("runc runtime: StateDir is required")
	}
	abs, err := filepath.Abs(o.StateDir)
	if err != nil {
		return err
	}
	o.StateDir = abs
	if o.RunDir == "" {
		o.RunDir = o.StateDir
	}
	if o.RunDir, err = filepath.Abs(o.RunDir); err != nil {
		return err
	}
	if o.RuncPath == "" {
		o.RuncPath = "runc"
	}
	if o.ShimPath == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.ShimPath, o.ShimArgs = DefaultShim(exe)
	}
	if o.ChildEnv == nil {
		o.ChildEnv = DefaultChildEnv()
	}
	if o.CgroupParent == "" {
		o.CgroupParent = "/pacific"
	}
	o.CgroupParent = filepath.Clean("/" + o.CgroupParent)
	if o.LogMaxBytes <= 0 {
		o.LogMaxBytes = 10 << 20
	}
	if o.LogMaxFiles <= 0 {
		o.LogMaxFiles = 3
	}
	if o.DefaultPidsLimit == 0 {
		o.DefaultPidsLimit = 4096
	}
	switch {
	case o.StartsPerCPU < 0:
		return fmt.Errorf("runc runtime: StartsPerCPU %d is negative", o.StartsPerCPU)
	case o.StartsPerCPU == 0:
		o.StartsPerCPU = DefaultStartsPerCPU
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// DefaultChildEnv runs the Go runtimes of runc and the shims on one OS
// thread for Go code: each is a short-lived or mostly idle process whose
// work is sequential, and with one P per core they spin looking for work
// on a busy host. Measured with 20 pods started at once on 2 cores: ~20 ms
// less CPU per start (decision 0029). It never reaches the containers:
// their environment comes from the OCI spec.
func DefaultChildEnv() []string { return []string{"GOMAXPROCS=1"} }

// ShimBinary is the file name of the C shim executable (cmd/pacific-shim,
// built by hack/build-shim.sh), installed next to the pacific binary.
const ShimBinary = "pacific-shim"

// DefaultShim returns how containers' shims are started for the program
// exe: ShimBinary in exe's directory when it is an executable file there
// (it costs a fraction of the CPU to start and of the memory to keep),
// else exe itself with the argument "shim".
func DefaultShim(exe string) (path string, args []string) {
	small := filepath.Join(filepath.Dir(exe), ShimBinary)
	if st, err := os.Stat(small); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return small, nil
	}
	return exe, []string{"shim"}
}
