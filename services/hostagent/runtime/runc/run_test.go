package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func TestRunToCompletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := time.Now()
	e.run(e.spec("ok", "sh", "-c", "echo hello; echo oops >&2"))
	s3 := e.spec("three", "sh", "-c", "echo bye; exit 3")
	s3.ReadonlyRootfs = true
	e.run(s3)

	st := e.wait("ok")
	if st.ExitCode != 0 || st.Reason != runtime.ReasonCompleted || st.OOMKilled {
		t.Fatalf("ok: exit %+v", st)
	}
	if st.FinishedAt.Before(start) {
		t.Fatalf("FinishedAt %v before start %v", st.FinishedAt, start)
	}
	st = e.wait("three")
	if st.ExitCode != 3 || st.Reason != runtime.ReasonError {
		t.Fatalf("three: exit %+v", st)
	}
	cs, err := e.rt.ContainerStatus(e.ctx(), "three")
	if err != nil || cs.State != runtime.StateExited || cs.Exit == nil || cs.Exit.ExitCode != 3 {
		t.Fatalf("status = %+v, %v", cs, err)
	}

	got := e.logs(runtime.LogOptions{ContainerID: "ok", Tail: -1})
	if !slices.Equal(got, []string{"stdout hello", "stderr oops"}) && !slices.Equal(got, []string{"stderr oops", "stdout hello"}) {
		t.Fatalf("logs = %q", got)
	}
	// The file itself is in CRI format with RFC3339Nano timestamps.
	data, err := os.ReadFile(cs.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z stdout F bye$`).Match(data) {
		t.Fatalf("log file not in CRI format: %q", data)
	}
	if want := filepath.Join(e.opts.StateDir, "logs", "_", "three", "0.log"); cs.LogPath != want {
		t.Fatalf("log path %s, want %s", cs.LogPath, want)
	}
}

func TestBadCommandFailsCleanly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	_, err := e.rt.CreateContainer(ctx, e.spec("bad", "/no/such/binary"))
	if err == nil {
		err = e.rt.StartContainer(ctx, "bad")
	}
	if !errors.Is(err, runtime.ErrStartFailed) {
		t.Fatalf("err = %v, want ErrStartFailed", err)
	}
	if !strings.Contains(err.Error(), "no/such/binary") {
		t.Fatalf("error does not name the command: %v", err)
	}
	t.Logf("bad command: %v", err)
	if err := e.rt.RemoveContainer(ctx, "bad"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.rt.bundleDir("bad")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bundle left behind: %v", err)
	}
	if states, err := e.rt.cli.list(ctx); err != nil || len(states) != 0 {
		t.Fatalf("runc still has %v (%v)", states, err)
	}
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	s := e.spec("dup", "sleep", "60")
	if _, err := e.rt.CreateContainer(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.CreateContainer(ctx, s); !errors.Is(err, runtime.ErrAlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	s = e.spec("orphan", "true")
	s.SandboxID = "nopod"
	if _, err := e.rt.CreateContainer(ctx, s); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("missing sandbox: %v", err)
	}
	s = e.spec("norootfs", "true")
	s.Rootfs = "/does/not/exist"
	if _, err := e.rt.CreateContainer(ctx, s); !errors.Is(err, runtime.ErrInvalidSpec) {
		t.Fatalf("missing rootfs: %v", err)
	}
	// A create whose context is already over leaves nothing behind.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.rt.CreateContainer(cctx, e.spec("late", "true")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled create: %v", err)
	}
	if _, err := os.Stat(e.rt.bundleDir("late")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bundle of cancelled create left: %v", err)
	}
	if _, err := e.rt.ContainerStatus(ctx, "late"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("cancelled create still listed: %v", err)
	}
	// Removing a created (never started) container does not wait for a grace period.
	t0 := time.Now()
	if _, err := e.rt.StopContainer(ctx, "dup", 10*time.Second); err != nil || time.Since(t0) > 5*time.Second {
		t.Fatalf("stop of created container: %v after %v", err, time.Since(t0))
	}
}

// With Start, CreateContainer runs the process at once (runc run --detach
// in the shim): runc itself reports it running before any StartContainer,
// output reaches the log, and a later StartContainer is a no-op.
func TestCreateWithStartRunsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	s := e.spec("now", "sh", "-c", "echo started; sleep 60")
	s.Start = true
	st, err := e.rt.CreateContainer(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.StateRunning || st.StartedAt.IsZero() || st.Pid <= 0 {
		t.Fatalf("status after create with Start = %+v, want running with a start time and a pid", st)
	}
	rs, err := e.rt.cli.state(ctx, "now")
	if err != nil || rs.Status != "running" || rs.Pid != st.Pid {
		t.Fatalf("runc state = %+v, %v; want running pid %d", rs, err, st.Pid)
	}
	if err := e.rt.StartContainer(ctx, "now"); err != nil {
		t.Fatalf("start of a started container: %v", err)
	}
	poll(t, "output in the log", 10*time.Second, func() bool {
		return slices.Contains(e.logs(logOpts("now")), "stdout started")
	})
	exit, err := e.rt.StopContainer(ctx, "now", 0)
	if err != nil || exit.Signal != syscall.SIGKILL {
		t.Fatalf("stop = %+v, %v; want killed", exit, err)
	}
	if err := e.rt.RemoveContainer(ctx, "now"); err != nil {
		t.Fatal(err)
	}

	// One that has already exited when StartContainer comes was started:
	// its exit is its own, not a failure to start.
	quick := e.spec("quick", "sh", "-c", "exit 2")
	quick.Start = true
	if _, err := e.rt.CreateContainer(ctx, quick); err != nil {
		t.Fatal(err)
	}
	if exit := e.wait("quick"); exit.ExitCode != 2 {
		t.Fatalf("quick exited %+v, want code 2", exit)
	}
	if err := e.rt.StartContainer(ctx, "quick"); err != nil {
		t.Fatalf("start of a started container that has exited: %v", err)
	}
	if err := e.rt.RemoveContainer(ctx, "quick"); err != nil {
		t.Fatal(err)
	}

	// A command that cannot start fails the create itself, leaving nothing.
	bad := e.spec("bad", "/no/such/binary")
	bad.Start = true
	_, err = e.rt.CreateContainer(ctx, bad)
	if !errors.Is(err, runtime.ErrStartFailed) || !strings.Contains(err.Error(), "no/such/binary") {
		t.Fatalf("create with Start of a missing command: %v, want ErrStartFailed naming it", err)
	}
	if _, err := e.rt.ContainerStatus(ctx, "bad"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("failed container still known: %v", err)
	}
	if _, err := os.Stat(e.rt.bundleDir("bad")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bundle left behind: %v", err)
	}
	if states, err := e.rt.cli.list(ctx); err != nil || len(states) != 0 {
		t.Fatalf("runc still has %v (%v)", states, err)
	}
}

// A terminal container started in one step gets its pty through the
// console socket as with create + start.
func TestCreateWithStartTTY(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	s := e.spec("tty", "sh", "-c", "tty; sleep 60")
	s.TTY, s.Start = true, true
	if _, err := e.rt.CreateContainer(ctx, s); err != nil {
		t.Fatal(err)
	}
	poll(t, "the pty's name in the log", 10*time.Second, func() bool {
		return slices.ContainsFunc(e.logs(logOpts("tty")), func(l string) bool { return strings.HasPrefix(l, "stdout /dev/pts/") })
	})
	if err := e.rt.RemoveContainer(ctx, "tty"); err != nil {
		t.Fatal(err)
	}
}

// A container that exits while runc is still running (here: a wrapper
// that lingers after `runc run -d` returns) leaves the shim a zombie whose
// SIGCHLD arrived during the create, together with the end of its output.
// The shim must still see the exit.
func TestExitBeforeRuncReturnsIsSeen(t *testing.T) {
	t.Parallel()
	runcPath, _ := requireHost(t)
	wrapper := filepath.Join(t.TempDir(), "runc")
	script := fmt.Sprintf("#!/bin/sh\n%s \"$@\"\nrc=$?\nsleep 0.3\nexit $rc\n", runcPath)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *Options) { o.RuncPath = wrapper })
	for i := range 3 {
		id := fmt.Sprintf("gone-%d", i)
		s := e.spec(id, "sh", "-c", "echo bye; exit 3")
		s.Start = true
		if _, err := e.rt.CreateContainer(e.ctx(), s); err != nil {
			t.Fatal(err)
		}
		if exit := e.wait(id); exit.ExitCode != 3 {
			t.Fatalf("%s exited %+v, want code 3", id, exit)
		}
		if err := e.rt.RemoveContainer(e.ctx(), id); err != nil {
			t.Fatal(err)
		}
	}
}
