package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	shimrepo "github.com/openpacific/pacific/internal/repo"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc"
)

// buildPacific builds cmd/pacific from the repository into dir, and with
// smallShim the C cmd/pacific-shim next to it (as hack/dev.sh installs
// them; the agent then runs its containers' shims from it), and returns
// the path of pacific.
func buildPacific(ctx context.Context, repo, dir string, smallShim bool) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go not found in PATH: %w", err)
	}
	bin := filepath.Join(dir, "pacific")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/pacific")
	cmd.Dir = repo
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pacific: %w: %s", err, strings.TrimSpace(msg.String()))
	}
	if smallShim {
		if err := shimrepo.BuildShim(ctx, repo, filepath.Join(dir, runc.ShimBinary)); err != nil {
			return "", err
		}
	}
	return bin, nil
}

// agent is the `pacific hostagent` process.
type agent struct {
	cmd     *exec.Cmd
	dataDir string
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, once done
}

// startAgent runs `pacific hostagent` against the API server, in its own
// process group (so a Ctrl-C on the terminal reaches only this process,
// which then cleans up in order).
func startAgent(bin, server, tlsDir, dataDir, runc, logLevel, logPath string) (*agent, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "hostagent",
		"--server", server, "--host-name", hostName, "--tls-dir", tlsDir, "--data-dir", dataDir,
		"--listen", "127.0.0.1:0", "--runc", runc, "--log-level", logLevel)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s hostagent: %w", bin, err)
	}
	a := &agent{cmd: cmd, dataDir: dataDir, logPath: logPath, done: make(chan struct{})}
	go func() {
		a.err = cmd.Wait()
		close(a.done)
	}()
	return a, nil
}

func (a *agent) pid() int { return a.cmd.Process.Pid }

// exited reports whether the process has ended.
func (a *agent) exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// logTail is the end of the agent's log, for error messages.
func (a *agent) logTail() string {
	b, _ := os.ReadFile(a.logPath)
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return strings.TrimSpace(string(b))
}

// waitHost waits until the agent has registered its Host.
func (a *agent) waitHost(ctx context.Context, c *client.Client, timeout time.Duration) error {
	hosts := client.For[*corev1.Host](c)
	deadline := time.Now().Add(timeout)
	for {
		if _, err := hosts.Get(ctx, "", hostName); err == nil {
			return nil
		} else if !client.IsNotFound(err) {
			return fmt.Errorf("get host %s: %w", hostName, err)
		}
		if a.exited() {
			return fmt.Errorf("host agent exited (%v): %s", a.err, a.logTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("host %s not registered within %s: %s", hostName, timeout, a.logTail())
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop sends SIGINT (graceful stop; containers would keep running, so
// delete the pods first) and waits; after timeout it sends SIGKILL.
func (a *agent) stop(timeout time.Duration, log *slog.Logger) {
	if a.exited() {
		return
	}
	if err := a.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		log.Warn("clean-up: signal host agent", "pid", a.pid(), "err", err)
	}
	select {
	case <-a.done:
		return
	case <-time.After(timeout):
	}
	log.Warn("clean-up: host agent did not stop after SIGINT; killing it", "pid", a.pid(), "after", timeout)
	_ = a.cmd.Process.Kill()
	<-a.done
}
