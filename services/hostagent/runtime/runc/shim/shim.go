package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/services/hostagent/runtime/logs"
)

// drainTimeout bounds how long the shim copies output after the init
// process exited (a process that escaped the pid namespace could keep the
// pipes open forever).
const drainTimeout = 2 * time.Second

// Main runs a shim with the arguments Config.Args produced and returns the
// process exit code. The sync pipe must be fd 3.
func Main(args []string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseArgs(args)
	if err != nil {
		log.Error("shim: bad arguments", "err", err)
		return 2
	}
	log = log.With("container", cfg.ID)
	// The sync pipe must not leak into runc and the container; nor must
	// runc's executable (exec opens it before closing such fds).
	unix.CloseOnExec(SyncFD)
	syncPipe := os.NewFile(SyncFD, "sync")
	if cfg.RuncFD > 0 {
		if _, err := unix.FcntlInt(uintptr(cfg.RuncFD), unix.F_GETFD, 0); err != nil {
			log.Error("shim: bad arguments: --runc-fd", "fd", cfg.RuncFD, "err", err)
			return 2
		}
		unix.CloseOnExec(cfg.RuncFD)
	}
	if err := run(cfg, syncPipe, log); err != nil {
		log.Error("shim failed", "err", err)
		return 1
	}
	return 0
}

func run(cfg Config, syncPipe *os.File, log *slog.Logger) error {
	report := func(r Ready) {
		if syncPipe == nil {
			return
		}
		data, _ := json.Marshal(r)
		if _, err := syncPipe.Write(append(data, '\n')); err != nil {
			log.Warn("agent gone before sync", "err", err)
		}
		syncPipe.Close()
		syncPipe = nil
	}
	defer report(Ready{Error: "shim exited before the container was created"})

	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		report(Ready{Error: "set subreaper: " + err.Error()})
		return fmt.Errorf("set subreaper: %w", err)
	}
	// Signals meant for the agent's session do not stop the shim. (Notify,
	// not Ignore: ignored dispositions would be inherited by the container.)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			log.Info("ignoring signal", "signal", s)
		}
	}()

	w, err := logs.OpenWriter(cfg.LogPath, logs.WriterOptions{
		MaxBytes: cfg.LogMaxBytes, MaxFiles: cfg.LogMaxFiles, StripCR: cfg.TTY,
	})
	if err != nil {
		report(Ready{Error: err.Error()})
		return err
	}
	defer w.Close()

	var copiers sync.WaitGroup
	pid, err := create(cfg, w, &copiers, log)
	var runcErr *runcFailure
	switch {
	case errors.As(err, &runcErr):
		report(Ready{Error: runcErr.err.Error(), RuncFailed: true})
		return err
	case err != nil:
		report(Ready{Error: err.Error()})
		return err
	}
	report(Ready{Pid: pid})

	exit := reap(pid, log)
	drained := make(chan struct{})
	go func() { copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		log.Warn("container output still open after exit; closing the log")
	}
	w.Close()
	if err := writeExit(cfg.Bundle, exit); err != nil {
		return err
	}
	log.Info("container exited", "pid", pid, "code", exit.ExitCode, "signal", exit.Signal, "oom", exit.OOMKilled)
	return nil
}

// create runs `runc create` (`runc run --detach` with cfg.Start) and starts
// copying the container's output into w. It returns the init PID.
func create(cfg Config, w *logs.Writer, copiers *sync.WaitGroup, log *slog.Logger) (int, error) {
	pidFile := filepath.Join(cfg.Bundle, PidFile)
	runcLog := filepath.Join(cfg.Bundle, RuncLog)
	op := []string{"create"}
	if cfg.Start {
		op = []string{"run", "--detach"}
	}
	args := append([]string{"--root", cfg.RuncRoot, "--log", runcLog, "--log-format", "json"}, op...)
	args = append(args, "--bundle", cfg.Bundle, "--pid-file", pidFile)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	cmd := exec.Command(cfg.Runc)
	if cfg.RuncFD > 0 {
		cmd = exec.Command(fmt.Sprintf("/proc/self/fd/%d", cfg.RuncFD))
		cmd.Args[0] = cfg.Runc
		// The shim outlives runc; the agent keeps the copy.
		defer unix.Close(cfg.RuncFD)
	}
	cmd.Stdin = devnull
	var closeAfter []*os.File
	var console chan consoleResult
	if cfg.TTY {
		dir, err := os.MkdirTemp("", "pacific-shim-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		sock := filepath.Join(dir, "console.sock")
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			return 0, fmt.Errorf("console socket: %w", err)
		}
		defer ln.Close()
		console = make(chan consoleResult, 1)
		go func() { console <- receiveConsole(ln) }()
		args = append(args, "--console-socket", sock)
		// runc's own stdout/stderr: only its error messages.
		out, err := os.OpenFile(filepath.Join(cfg.Bundle, "runc.stderr"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
		if err != nil {
			return 0, err
		}
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
	} else {
		outR, outW, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		cmd.Stdout, cmd.Stderr = outW, errW
		closeAfter = append(closeAfter, outW, errW)
		copiers.Add(2)
		go func() { defer copiers.Done(); copyLog(w, logs.Stdout, outR, log) }()
		go func() { defer copiers.Done(); copyLog(w, logs.Stderr, errR, log) }()
	}
	cmd.Args = append(cmd.Args, args...)
	cmd.Args = append(cmd.Args, cfg.ID)
	runErr := startRunc(cmd, cfg)
	if runErr == nil {
		runErr = cmd.Wait()
	}
	for _, f := range closeAfter {
		f.Close()
	}
	if runErr != nil {
		return 0, &runcFailure{op: op[0], err: runErr}
	}
	if console != nil {
		select {
		case res := <-console:
			if res.err != nil {
				return 0, res.err
			}
			copiers.Add(1)
			go func() { defer copiers.Done(); copyLog(w, logs.Stdout, ptyReader{res.master}, log) }()
		case <-time.After(10 * time.Second):
			return 0, errors.New("runc never sent the console")
		}
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("bad pid file %q", data)
	}
	return pid, nil
}

// runcFailure is runc exiting unsuccessfully.
type runcFailure struct {
	op  string
	err error
}

func (e *runcFailure) Error() string { return "runc " + e.op + ": " + e.err.Error() }

func copyLog(w *logs.Writer, s logs.Stream, r io.ReadCloser, log *slog.Logger) {
	defer r.Close()
	if err := w.CopyStream(s, r); err != nil {
		log.Warn("copy container output", "stream", s, "err", err)
		io.Copy(io.Discard, r) // keep the pipe flowing
	}
}

// ptyReader turns the EIO a pty master returns once the slave is closed
// into EOF.
type ptyReader struct{ f *os.File }

func (p ptyReader) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}

func (p ptyReader) Close() error { return p.f.Close() }

type consoleResult struct {
	master *os.File
	err    error
}

// receiveConsole accepts runc's connection and receives the pty master.
func receiveConsole(ln *net.UnixListener) consoleResult {
	ln.SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.AcceptUnix()
	if err != nil {
		return consoleResult{err: fmt.Errorf("accept console: %w", err)}
	}
	defer conn.Close()
	f, err := RecvFd(conn)
	if err != nil {
		return consoleResult{err: err}
	}
	return consoleResult{master: f}
}

// RecvFd receives one file descriptor sent with SCM_RIGHTS over conn.
func RecvFd(conn *net.UnixConn) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("receive fd: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive fd: bad control message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive fd: bad rights (%v)", err)
	}
	unix.CloseOnExec(fds[0])
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// reap waits for the init process (re-parented to this subreaper) and reaps
// any other orphan on the way.
func reap(pid int, log *slog.Logger) Exit {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			// Not our child after all (should not happen): poll for it.
			log.Warn("wait4 failed; polling the init process", "err", err)
			waitGone(pid)
			return Exit{Pid: pid, ExitCode: 255, FinishedAt: time.Now().UTC()}
		}
		if wpid != pid {
			continue
		}
		e := Exit{Pid: pid, FinishedAt: time.Now().UTC()}
		switch {
		case ws.Exited():
			e.ExitCode = ws.ExitStatus()
		case ws.Signaled():
			e.Signal = int(ws.Signal())
			e.ExitCode = 128 + e.Signal
		}
		return e
	}
}

func waitGone(pid int) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			return
		}
	}
}

// RuncError extracts the last error runc logged in JSON format to logFile,
// falling back to how runc exited.
func RuncError(logFile, exited string) string {
	data, rerr := os.ReadFile(logFile)
	if rerr != nil {
		return exited
	}
	msg := ""
	for _, line := range strings.Split(string(data), "\n") {
		var l struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && (l.Level == "error" || l.Level == "fatal") && l.Msg != "" {
			msg = l.Msg
		}
	}
	if msg == "" {
		return exited
	}
	return msg
}

// startRunc starts runc; with cfg.PinRunc from an OS thread that may only
// run on cfg.RuncCPU, so that runc inherits that affinity (decision 0034).
// The thread gets its own mask back. Pinning is best effort, like the C
// shim's.
func startRunc(cmd *exec.Cmd, cfg Config) error {
	if !cfg.PinRunc {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return cmd.Start()
	}
	one.Set(cfg.RuncCPU)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		return cmd.Start()
	}
	defer unix.SchedSetaffinity(0, &old)
	return cmd.Start()
}
