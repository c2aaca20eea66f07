package runc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// Exec implements runtime.Runtime. The process runs until it exits, ctx is
// cancelled or Wait's ctx is cancelled (both kill it).
//
// It runs `runc exec` in the foreground; runc waits for the process and
// exits with its status. With a TTY, runc's stdio is the slave of a pty pair
// the runtime opens (runc then proxies it to the container's own console
// and propagates window size changes on SIGWINCH, which the kernel sends
// when Resize sets the size on the master).
func (r *Runtime) Exec(ctx context.Context, id string, spec runtime.ExecSpec) (runtime.ExecProcess, error) {
	c, err := r.get(id)
	if err != nil {
		return nil, err
	}
	if st := c.status(); st.State != runtime.StateRunning {
		return nil, fmt.Errorf("exec in container %s (%s): %w", id, st.State, runtime.ErrNotRunning)
	}
	if len(spec.Args) == 0 {
		return nil, fmt.Errorf("%w: exec needs a command", runtime.ErrInvalidSpec)
	}
	tmp, err := os.MkdirTemp(c.meta.Bundle, "exec-")
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	p := &execProcess{tmp: tmp, pidFile: filepath.Join(tmp, "pid"), waited: make(chan struct{})}
	args := []string{"exec", "--pid-file", p.pidFile}
	if spec.Cwd != "" {
		args = append(args, "--cwd", spec.Cwd)
	}
	for _, e := range spec.Env {
		args = append(args, "--env", e)
	}
	if u := spec.User; u != nil {
		args = append(args, "--user", fmt.Sprintf("%d:%d", u.UID, u.GID))
		for _, g := range u.AdditionalGIDs {
			args = append(args, "--additional-gids", strconv.FormatUint(uint64(g), 10))
		}
	}
	if spec.TTY {
		args = append(args, "--tty")
	}
	args = append(args, id)
	args = append(args, spec.Args...)
	p.cmd = r.cli.command(context.Background(), args...)
	if err := p.start(spec, r.cli.start); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	p.stopCtx = context.AfterFunc(ctx, p.kill)
	return p, nil
}

type execProcess struct {
	cmd     *exec.Cmd
	tmp     string
	pidFile string
	master  *os.File      // TTY only
	outDone chan struct{} // TTY output copied
	stopCtx func() bool

	once   sync.Once
	waited chan struct{}
	code   int
	err    error
}

// start starts p.cmd with start (the runtime's cli.start).
func (p *execProcess) start(spec runtime.ExecSpec, start func(*exec.Cmd) error) error {
	if !spec.TTY {
		p.cmd.Stdout, p.cmd.Stderr = spec.Stdout, spec.Stderr
		var stdin io.WriteCloser
		if spec.Stdin != nil {
			var err error
			if stdin, err = p.cmd.StdinPipe(); err != nil {
				return err
			}
		}
		p.cmd.WaitDelay = 5 * time.Second
		if err := start(p.cmd); err != nil {
			return err
		}
		if stdin != nil {
			go func() {
				io.Copy(stdin, spec.Stdin)
				stdin.Close()
			}()
		}
		return nil
	}
	master, slave, err := openPty()
	if err != nil {
		return err
	}
	defer slave.Close()
	size := runtime.WindowSize{Width: 80, Height: 24}
	if spec.Size != nil {
		size = *spec.Size
	}
	if err := setSize(master, size); err != nil {
		master.Close()
		return err
	}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = slave, slave, slave
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := start(p.cmd); err != nil {
		master.Close()
		return err
	}
	p.master = master
	p.outDone = make(chan struct{})
	out := spec.Stdout
	if out == nil {
		out = io.Discard
	}
	go func() {
		defer close(p.outDone)
		io.Copy(out, ptyReader{master})
	}()
	if spec.Stdin != nil {
		go func() {
			if _, err := io.Copy(master, spec.Stdin); err == nil {
				master.Write([]byte{4}) // EOF: ^D
			}
		}()
	}
	return nil
}

// Resize implements runtime.ExecProcess.
func (p *execProcess) Resize(ws runtime.WindowSize) error {
	if p.master == nil {
		return errors.New("exec has no terminal")
	}
	return setSize(p.master, ws)
}

// Signal implements runtime.ExecProcess.
func (p *execProcess) Signal(sig syscall.Signal) error {
	select {
	case <-p.waited:
		return errors.New("exec process already exited")
	default:
	}
	if pid := p.pid(); pid > 0 {
		return unix.Kill(pid, sig)
	}
	// Not started yet: runc forwards signals to the process.
	return p.cmd.Process.Signal(sig)
}

func (p *execProcess) pid() int {
	data, err := os.ReadFile(p.pidFile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

func (p *execProcess) kill() {
	select {
	case <-p.waited:
		return
	default:
	}
	if pid := p.pid(); pid > 0 {
		unix.Kill(pid, unix.SIGKILL)
	}
	p.cmd.Process.Kill()
}

// Wait implements runtime.ExecProcess.
func (p *execProcess) Wait(ctx context.Context) (int, error) {
	stop := context.AfterFunc(ctx, p.kill)
	defer stop()
	p.once.Do(func() {
		err := p.cmd.Wait()
		close(p.waited)
		p.stopCtx()
		if p.master != nil {
			select {
			case <-p.outDone:
			case <-time.After(2 * time.Second):
			}
			p.master.Close()
		}
		os.RemoveAll(p.tmp)
		p.code, p.err = exitCode(p.cmd, err)
	})
	if p.err == nil && ctx.Err() != nil {
		return p.code, ctx.Err()
	}
	return p.code, p.err
}

// exitCode turns runc exec's status into the process' exit code.
func exitCode(cmd *exec.Cmd, err error) (int, error) {
	ps := cmd.ProcessState
	if ps == nil {
		return -1, err
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ws.ExitStatus(), nil
	}
	var ee *exec.ExitError
	if err == nil || errors.As(err, &ee) || errors.Is(err, exec.ErrWaitDelay) {
		return ps.ExitCode(), nil
	}
	return -1, err
}

// openPty opens a new pseudo-terminal pair.
func openPty() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	rc, err := m.SyscallConn()
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	var n uint32
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr != nil {
			return
		}
		n, ierr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
	}); err != nil || ierr != nil {
		m.Close()
		return nil, nil, fmt.Errorf("pty: %w", errors.Join(err, ierr))
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	return m, s, nil
}

func setSize(f *os.File, ws runtime.WindowSize) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Height, Col: ws.Width})
	}); err != nil {
		return err
	}
	return ierr
}

// ptyReader turns the EIO of a pty master whose slave side is closed into
// EOF.
type ptyReader struct{ f *os.File }

func (p ptyReader) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}
