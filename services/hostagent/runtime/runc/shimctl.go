package runc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/shim"
)

type shimInfo struct {
	shimPid   int
	shimStart uint64
	initPid   int
}

// spawnShim starts the shim of container m and waits until `runc create`
// (`runc run --detach` if start) has returned. The shim runs in its own
// session so it survives the agent.
func (r *Runtime) spawnShim(ctx context.Context, m containerMeta, start bool) (*exec.Cmd, shimInfo, error) {
	cfg := shim.Config{
		ID: m.ID, Bundle: m.Bundle, Runc: r.opts.RuncPath, RuncRoot: r.cli.root,
		LogPath: m.LogPath, LogMaxBytes: r.opts.LogMaxBytes, LogMaxFiles: r.opts.LogMaxFiles,
		TTY: m.TTY, Start: start,
	}
	runcExe := r.runcExe.file()
	if runcExe != nil {
		cfg.RuncFD = shim.SyncFD + 1
	}
	if r.slots != nil {
		cpu, err := r.slots.acquire(ctx)
		if err != nil {
			return nil, shimInfo{}, err
		}
		defer r.slots.release(cpu)
		cfg.PinRunc, cfg.RuncCPU = true, cpu
	}
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, shimInfo{}, err
	}
	defer syncR.Close()
	shimLog := filepath.Join(m.Bundle, shim.ShimLog)
	logf, err := os.OpenFile(shimLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		syncW.Close()
		return nil, shimInfo{}, err
	}
	cmd := exec.Command(r.opts.ShimPath, append(slices.Clone(r.opts.ShimArgs), cfg.Args()...)...)
	cmd.Env = slices.Concat(os.Environ(), r.opts.ChildEnv, r.opts.ShimEnv)
	cmd.Dir = m.Bundle
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{syncW} // fd 3 = shim.SyncFD
	if runcExe != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, runcExe) // fd 4 = cfg.RuncFD
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	syncW.Close()
	logf.Close()
	if err != nil {
		return nil, shimInfo{}, fmt.Errorf("start shim: %w", err)
	}
	info := shimInfo{shimPid: cmd.Process.Pid}
	info.shimStart, _ = procStartTime(info.shimPid)

	stop := context.AfterFunc(ctx, func() { syncR.SetReadDeadline(time.Now()) })
	defer stop()
	line, rerr := bufio.NewReader(syncR).ReadBytes('\n')
	var ready shim.Ready
	if rerr == nil {
		rerr = json.Unmarshal(line, &ready)
	}
	switch {
	case rerr == nil && ready.Error == "" && ready.Pid > 0:
		info.initPid = ready.Pid
		return cmd, info, nil
	case rerr == nil && ready.RuncFailed:
		cmd.Wait()
		op := "create"
		if start {
			op = "run"
		}
		return nil, info, fmt.Errorf("%w: runc %s: %s", runtime.ErrStartFailed, op, shim.RuncError(filepath.Join(m.Bundle, shim.RuncLog), ready.Error))
	case rerr == nil && ready.Error != "":
		cmd.Wait()
		return nil, info, fmt.Errorf("%w: %s", runtime.ErrStartFailed, ready.Error)
	}
	// The shim is stuck or dead: kill its process group (the shim, runc
	// create and whatever runc left there).
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if ctx.Err() != nil {
		return nil, info, ctx.Err()
	}
	return nil, info, fmt.Errorf("shim failed: %v: %s", rerr, tail(shimLog, 512))
}

// tail returns the last n bytes of a file, trimmed.
func tail(path string, n int64) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if int64(len(data)) > n {
		data = data[int64(len(data))-n:]
	}
	return strings.TrimSpace(string(data))
}

// watchChild records the exit of a shim this process started. It waits
// on a pidfd in the netpoller, like watchAdopted, and only then reaps the
// shim: a blocking wait would hold one OS thread per container.
func (r *Runtime) watchChild(c *container, cmd *exec.Cmd) {
	c.mu.Lock()
	pid, start := c.meta.ShimPid, c.meta.ShimStart
	c.mu.Unlock()
	go func() {
		if f := openPidfd(pid, start); f != nil {
			_ = waitPidfd(f) // only an error if f were closed: then Wait blocks as before
			f.Close()
		}
		cmd.Wait()
		r.shimGone(c)
	}()
}

// watchAdopted watches a shim started by an earlier agent through a pidfd
// (polled by the Go netpoller, so no thread is blocked per container).
func (r *Runtime) watchAdopted(c *container) {
	c.mu.Lock()
	pid, start := c.meta.ShimPid, c.meta.ShimStart
	c.mu.Unlock()
	f := openPidfd(pid, start)
	if f == nil {
		r.shimGone(c)
		return
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	c.mu.Lock()
	c.unwatch = sync.OnceFunc(func() { close(stop) })
	c.mu.Unlock()
	go func() {
		select {
		case <-stop:
		case <-r.done:
		case <-finished:
		}
		f.Close()
	}()
	go func() {
		err := waitPidfd(f)
		close(finished)
		if err == nil {
			r.shimGone(c)
		}
	}()
}

// openPidfd opens a pidfd for pid if it is still the process that started
// at start (clock ticks); nil if it is gone.
func openPidfd(pid int, start uint64) *os.File {
	if pid <= 0 {
		return nil
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil
	}
	// Checked after opening: the pidfd pins this exact process.
	if st, err := procStartTime(pid); err != nil || st != start {
		unix.Close(fd)
		return nil
	}
	return os.NewFile(uintptr(fd), "pidfd")
}

// waitPidfd blocks until the process exits (nil) or f is closed (error).
func waitPidfd(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	exited := func(fd uintptr) bool {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		return err == nil && n > 0
	}
	err = rc.Read(func(fd uintptr) bool { return exited(fd) })
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrClosed) {
		return err
	}
	// Not pollable through the netpoller: poll it directly.
	for {
		var done, gone bool
		cerr := rc.Control(func(fd uintptr) {
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 200)
			done = err == nil && n > 0
		})
		gone = cerr != nil
		if done {
			return nil
		}
		if gone {
			return cerr
		}
	}
}

// readExit reads the exit file of container m and whether the kernel
// OOM-killed a process in its cgroup (which lives until RemoveContainer).
func (r *Runtime) readExit(m containerMeta) (shim.Exit, error) {
	e, err := shim.ReadExit(m.Bundle)
	if err == nil && !e.OOMKilled && m.CgroupsPath != "" {
		if n, ok := cgroups.OOMKills(r.hs, m.CgroupsPath); ok && n > 0 {
			e.OOMKilled = true
		}
	}
	return e, err
}

// shimGone records the exit of c's shim: the exit file, or "lost".
func (r *Runtime) shimGone(c *container) {
	e, err := r.readExit(c.meta)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exit != nil || c.lost {
		return
	}
	if err == nil {
		st := toExitStatus(e)
		c.exit = &st
	} else {
		c.lost = true
		r.log.Warn("container shim gone without an exit status", "container", c.meta.ID, "err", err)
	}
	close(c.exited)
}
