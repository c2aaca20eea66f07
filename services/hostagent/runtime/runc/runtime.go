package runc

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
)

// Runtime runs containers with runc. Create it with New.
type Runtime struct {
	opts     Options
	cli      cli
	log      *slog.Logger
	hs       []cgroups.Hierarchy
	noFile   uint64
	cgroupNS bool
	version  string
	// slots, if set, pins each start's runc to a CPU of its own.
	slots *startSlots
	// runcExe, if set, is the sealed copy of runc the shims and the
	// runtime's own runc commands execute (decision 0036); nil: they
	// execute opts.RuncPath.
	runcExe *sealedRunc

	// done is closed by Close: it stops the watchers of adopted shims.
	done      chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	sandboxes  map[string]*sandbox
	containers map[string]*container
}

var _ runtime.Runtime = (*Runtime)(nil)

// New checks runc, prepares the state dir and the parent cgroup, and loads
// the sandboxes and containers a previous agent left (see Recover).
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("runc runtime needs root")
	}
	runcPath, err := exec.LookPath(opts.RuncPath)
	if err != nil {
		return nil, fmt.Errorf("runc runtime: %w", err)
	}
	if opts.RuncPath, err = filepath.Abs(runcPath); err != nil {
		return nil, err
	}
	r := &Runtime{
		opts:       opts,
		log:        opts.Logger.With("runtime", "runc"),
		done:       make(chan struct{}),
		sandboxes:  map[string]*sandbox{},
		containers: map[string]*container{},
	}
	if err := r.prepareRunDir(); err != nil {
		return nil, err
	}
	r.cli = cli{path: opts.RuncPath, root: filepath.Join(r.opts.RunDir, "runc"), env: opts.ChildEnv}
	version, err := r.cli.check(ctx, opts.NoSeccomp)
	if err != nil {
		return nil, err
	}
	r.version = version
	if exe, err := sealedCopy(ctx, opts.RuncPath); err != nil {
		r.log.Info("containers start from runc's path, not a sealed copy", "runc", opts.RuncPath, "reason", err)
	} else {
		r.runcExe = &sealedRunc{f: exe}
		r.cli.exe = r.runcExe
	}
	if !opts.UnpinnedStarts && resetsInitAffinity(version) {
		cpus, err := allowedCPUs()
		if err != nil {
			return nil, err
		}
		if len(cpus) > 1 {
			r.slots = newStartSlots(cpus, opts.StartsPerCPU)
		}
	}
	if err := os.MkdirAll(filepath.Join(opts.StateDir, "logs"), 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if r.hs, err = cgroups.Hierarchies(); err != nil {
		return nil, err
	}
	if len(r.hs) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy mounted")
	}
	r.cgroupNS = len(r.hs) == 1 && r.hs[0].V2
	if err := cgroups.EnsureParent(r.hs, opts.CgroupParent); err != nil {
		return nil, err
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return nil, fmt.Errorf("getrlimit: %w", err)
	}
	r.noFile = min(lim.Max, 1<<20)
	if err := r.load(); err != nil {
		return nil, err
	}
	r.log.Debug("runc runtime ready", "runc", opts.RuncPath, "version", version, "state", opts.StateDir, "run", r.opts.RunDir, "start_slots", r.slots != nil)
	return r, nil
}

// Name implements runtime.Runtime.
func (r *Runtime) Name() string { return "runc" }

// RuncVersion is the version of the runc binary in use.
func (r *Runtime) RuncVersion() string { return r.version }

// Close stops watching containers; they keep running (a new Runtime over
// the same state dir re-adopts them). The Runtime must not be used after.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() {
		close(r.done)
		r.runcExe.close()
	})
	return nil
}

func (r *Runtime) sandboxDir(id string) string {
	return filepath.Join(r.opts.RunDir, "sandboxes", id)
}

func (r *Runtime) bundleDir(id string) string {
	return filepath.Join(r.opts.RunDir, "containers", id)
}

// logDir is where the logs of one container name of a sandbox go.
func (r *Runtime) logDir(sandboxID, name string) string {
	if sandboxID == "" {
		sandboxID = "_"
	}
	return filepath.Join(r.opts.StateDir, "logs", sandboxID, name)
}

func (r *Runtime) sandboxCgroup(id string) string {
	return filepath.Join(r.opts.CgroupParent, id)
}
