package shim

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Config is what the agent tells a shim on its command line.
type Config struct {
	ID          string // container ID
	Bundle      string // bundle dir (config.json); also holds the shim's files
	Runc        string // runc binary
	RuncRoot    string // runc --root
	LogPath     string // container log (CRI format)
	LogMaxBytes int64
	LogMaxFiles int
	TTY         bool
	// Start runs `runc run --detach` instead of `runc create`: the
	// process starts at once, saving the separate `runc start` (one runc
	// process less per container).
	Start bool
	// PinRunc runs runc's own process on CPU RuncCPU only (decision
	// 0034); runc gives the container's init the CPUs of its cgroup.
	PinRunc bool
	RuncCPU int
	// RuncFD, when above SyncFD, is an fd the shim inherits holding runc's
	// executable (the runtime's sealed in-memory copy, decision 0036): runc
	// is executed from it, not from Runc, which still names it in
	// messages. Neither runc nor the container inherit it.
	RuncFD int
}

// MaxCPU bounds --runc-cpu (glibc's CPU_SETSIZE, as the C shim's).
const MaxCPU = 1024

// Files in the bundle dir.
const (
	PidFile  = "init.pid"
	ExitFile = "exit.json"
	RuncLog  = "runc.log"
	ShimLog  = "shim.log"
)

// SyncFD is the fd of the sync pipe in the shim.
const SyncFD = 3

// Args renders c as command-line arguments for Main.
func (c Config) Args() []string {
	a := []string{
		"--id", c.ID, "--bundle", c.Bundle, "--runc", c.Runc, "--runc-root", c.RuncRoot,
		"--log-path", c.LogPath,
		"--log-max-bytes", strconv.FormatInt(c.LogMaxBytes, 10),
		"--log-max-files", strconv.Itoa(c.LogMaxFiles),
	}
	if c.TTY {
		a = append(a, "--tty")
	}
	if c.Start {
		a = append(a, "--start")
	}
	if c.PinRunc {
		a = append(a, "--runc-cpu", strconv.Itoa(c.RuncCPU))
	}
	if c.RuncFD > SyncFD {
		a = append(a, "--runc-fd", strconv.Itoa(c.RuncFD))
	}
	return a
}

func parseArgs(args []string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("shim", flag.ContinueOnError)
	fs.StringVar(&c.ID, "id", "", "container ID")
	fs.StringVar(&c.Bundle, "bundle", "", "bundle directory")
	fs.StringVar(&c.Runc, "runc", "runc", "runc binary")
	fs.StringVar(&c.RuncRoot, "runc-root", "", "runc state root")
	fs.StringVar(&c.LogPath, "log-path", "", "container log file")
	fs.Int64Var(&c.LogMaxBytes, "log-max-bytes", 0, "log file size before rotation")
	fs.IntVar(&c.LogMaxFiles, "log-max-files", 0, "log files kept")
	fs.BoolVar(&c.TTY, "tty", false, "container has a terminal")
	fs.BoolVar(&c.Start, "start", false, "start the process too (runc run --detach instead of runc create)")
	fs.Func("runc-cpu", "run runc's own process on this CPU only", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n >= MaxCPU {
			return fmt.Errorf("want a CPU number from 0 to %d", MaxCPU-1)
		}
		c.PinRunc, c.RuncCPU = true, n
		return nil
	})
	fs.Func("runc-fd", "execute runc from this inherited fd", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= SyncFD {
			return fmt.Errorf("want an fd number above %d", SyncFD)
		}
		c.RuncFD = n
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.ID == "" || c.Bundle == "" || c.RuncRoot == "" || c.LogPath == "" {
		return c, fmt.Errorf("shim: --id, --bundle, --runc-root and --log-path are required")
	}
	return c, nil
}

// Ready is the message a shim writes on the sync pipe once `runc create`
// (or `runc run --detach`) has returned.
type Ready struct {
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
	// RuncFailed says runc itself failed (Error is how it exited): the
	// reason is in the bundle's RuncLog (see RuncError).
	RuncFailed bool `json:"runcFailed,omitempty"`
}

// Exit is the exit status a shim records for its container. OOMKilled is
// not the shim's to say: the runtime reads it from the container's cgroup.
type Exit struct {
	Pid        int       `json:"pid"`
	ExitCode   int       `json:"exitCode"`
	Signal     int       `json:"signal,omitempty"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	FinishedAt time.Time `json:"finishedAt"`
}

// ReadExit reads the exit file of the container whose bundle is dir.
// It returns an error wrapping os.ErrNotExist while the container runs.
func ReadExit(bundle string) (Exit, error) {
	var e Exit
	data, err := os.ReadFile(filepath.Join(bundle, ExitFile))
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("parse exit file: %w", err)
	}
	return e, nil
}

func writeExit(bundle string, e Exit) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tmp := filepath.Join(bundle, ExitFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write exit file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write exit file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync exit file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write exit file: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(bundle, ExitFile)); err != nil {
		return fmt.Errorf("write exit file: %w", err)
	}
	return nil
}
