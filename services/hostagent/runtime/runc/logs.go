package runc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/logs"
)

// ReadLogs implements runtime.Runtime. Logs outlive their container until
// the sandbox is removed, so Previous works after a restart.
func (r *Runtime) ReadLogs(ctx context.Context, opts runtime.LogOptions, fn func(logs.Entry) error) error {
	var path string
	if opts.ContainerID != "" {
		c, err := r.get(opts.ContainerID)
		if err != nil {
			return err
		}
		path = c.meta.LogPath
	} else {
		if opts.Name == "" {
			return fmt.Errorf("%w: logs need a container ID or a container name", runtime.ErrInvalidSpec)
		}
		dir := r.logDir(opts.SandboxID, opts.Name)
		attempts, err := logAttempts(dir)
		if err != nil {
			return err
		}
		i := len(attempts) - 1
		if opts.Previous {
			i--
		}
		if i < 0 {
			what := "logs"
			if opts.Previous {
				what = "previous logs"
			}
			return fmt.Errorf("%s of %s/%s: %w", what, opts.SandboxID, opts.Name, runtime.ErrNotFound)
		}
		path = filepath.Join(dir, strconv.Itoa(attempts[i])+".log")
	}
	follow := opts.Follow && !opts.Previous
	return logs.Read(ctx, path, logs.ReadOptions{
		Tail: opts.Tail, Since: opts.Since, Follow: follow,
		Done: func() bool { return r.logWriterDone(path) },
	}, fn)
}

// logWriterDone reports whether no running container writes to path.
func (r *Runtime) logWriterDone(path string) bool {
	r.mu.Lock()
	var c *container
	for _, x := range r.containers {
		if x.meta.LogPath == path {
			c = x
			break
		}
	}
	r.mu.Unlock()
	if c == nil {
		return true
	}
	_, done := c.exitStatus()
	return done
}

// logAttempts lists the attempts that have a log in dir, ascending.
func logAttempts(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read logs: %w", err)
	}
	var out []int
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(name); err == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}
