package runc

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/logs"
)

// TestRecoverAfterRestart: a new Runtime over the same state (the agent
// after a restart) re-adopts the running container with the same PID,
// without restarting it, and still gets its exit status and logs.
func TestRecoverAfterRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	if _, err := e.rt.CreateSandbox(ctx, runtime.SandboxSpec{ID: "pod"}); err != nil {
		t.Fatal(err)
	}
	s := e.spec("app", "sh", "-c", `trap 'echo bye; exit 0' TERM; echo started; while :; do sleep 1 & wait $!; done`)
	s.SandboxID = "pod"
	before := e.run(s)
	done := e.spec("done", "sh", "-c", "exit 4")
	done.SandboxID = "pod"
	e.run(done)
	e.wait("done")
	poll(t, "app started", 10*time.Second, func() bool {
		return strings.Contains(strings.Join(e.logs(logOpts("app")), "\n"), "started")
	})

	// "Agent restart": drop the old runtime, open a new one.
	rec := e.restart(ctx)
	if len(rec.Sandboxes) != 1 || rec.Sandboxes[0].ID != "pod" || !rec.Sandboxes[0].Ready {
		t.Fatalf("recovered sandboxes %+v", rec.Sandboxes)
	}
	byID := map[string]runtime.ContainerStatus{}
	for _, c := range rec.Containers {
		byID[c.ID] = c
	}
	app, ok := byID["app"]
	if !ok || app.State != runtime.StateRunning || app.Pid != before.Pid {
		t.Fatalf("recovered app %+v, want running with pid %d", app, before.Pid)
	}
	if d := byID["done"]; d.State != runtime.StateExited || d.Exit == nil || d.Exit.ExitCode != 4 {
		t.Fatalf("recovered done %+v", d)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(before.Pid)); err != nil {
		t.Fatalf("container process gone: %v", err)
	}
	// Exec and logs work through the new runtime.
	if out, _, code, err := e.execOut("app", runtime.ExecSpec{Args: []string{"echo", "still-here"}}); err != nil || code != 0 || out != "still-here\n" {
		t.Fatalf("exec after recover: %q %d %v", out, code, err)
	}
	// Follow the log while stopping: it ends once the container exited.
	var mu sync.Mutex
	var followed []string
	followDone := make(chan error, 1)
	rt := e.rt
	go func() {
		followDone <- rt.ReadLogs(ctx, runtime.LogOptions{SandboxID: "pod", Name: "app", Tail: -1, Follow: true}, func(en logs.Entry) error {
			mu.Lock()
			followed = append(followed, string(en.Content))
			mu.Unlock()
			return nil
		})
	}()
	st, err := rt.StopContainer(ctx, "app", 10*time.Second)
	if err != nil || st.ExitCode != 0 || st.Reason != runtime.ReasonCompleted {
		t.Fatalf("stop after recover: %+v %v", st, err)
	}
	select {
	case err := <-followDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end after the container exited")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(followed, ",") != "started,bye" {
		t.Fatalf("followed %q", followed)
	}
}

// TestRecoverCleansHalfCreated: leftovers of a create that crashed
// half-way are removed by Recover.
func TestRecoverCleansHalfCreated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	if err := os.MkdirAll(e.rt.bundleDir("half"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.rt.sandboxDir("halfpod"), 0o700); err != nil {
		t.Fatal(err)
	}
	rt2, err := New(ctx, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.Close()
	if _, err := rt2.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{e.rt.bundleDir("half"), e.rt.sandboxDir("halfpod")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left: %v", p, err)
		}
	}
}

// TestShimKilled: a container whose shim dies is reported Unknown (not
// silently running or exited) and can still be stopped and removed.
func TestShimKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	st := e.run(e.spec("victim", "sleep", "60"))
	c, err := e.rt.get("victim")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(c.meta.ShimPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll(t, "state unknown", 10*time.Second, func() bool {
		s, _ := e.rt.ContainerStatus(ctx, "victim")
		return s.State == runtime.StateUnknown
	})
	if _, err := e.rt.StopContainer(ctx, "victim", 0); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.RemoveContainer(ctx, "victim"); err != nil {
		t.Fatal(err)
	}
	poll(t, "container process gone", 10*time.Second, func() bool {
		_, err := os.Stat("/proc/" + strconv.Itoa(st.Pid))
		return err != nil
	})
}
