package runc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
)

func TestOOMKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.spec("oom", "sh", "-c", "echo start; x=0123456789abcdef; while :; do x=$x$x; done")
	s.Resources.MemoryLimitBytes = 16 << 20
	e.run(s)
	st := e.wait("oom")
	if !st.OOMKilled || st.Reason != runtime.ReasonOOMKilled || st.ExitCode != 137 || st.Signal != syscall.SIGKILL {
		t.Fatalf("exit = %+v, want OOMKilled/137/SIGKILL", st)
	}
	// A container that stays under its limit is not reported OOMKilled.
	s = e.spec("fine", "sh", "-c", "x=0123456789abcdef; x=$x$x$x; exit 1")
	s.Resources.MemoryLimitBytes = 16 << 20
	e.run(s)
	if st := e.wait("fine"); st.OOMKilled || st.ExitCode != 1 || st.Reason != runtime.ReasonError {
		t.Fatalf("container under its limit: %+v", st)
	}
}

func TestCgroupLimitsWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	if _, err := e.rt.CreateSandbox(ctx, runtime.SandboxSpec{ID: "pod"}); err != nil {
		t.Fatal(err)
	}
	s := e.spec("lim", "sleep", "60")
	s.SandboxID = "pod"
	s.Resources = runtime.Resources{CPULimitMillis: 500, CPURequestMillis: 100, MemoryLimitBytes: 32 << 20, PidsLimit: 64}
	e.run(s)
	hs, err := cgroups.Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	cg := e.opts.CgroupParent + "/pod/lim"
	read := func(controller, file string) string {
		t.Helper()
		for _, h := range hs {
			if h.Has(controller) {
				data, err := os.ReadFile(filepath.Join(h.Mount, cg, file))
				if err != nil {
					t.Fatalf("read %s: %v", file, err)
				}
				return strings.TrimSpace(string(data))
			}
		}
		if len(hs) == 1 && hs[0].V2 {
			t.Skipf("cgroup v2 host: %s not checked", file)
		}
		t.Fatalf("no %s hierarchy", controller)
		return ""
	}
	for _, c := range []struct{ ctrl, file, want string }{
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpu", "cpu.shares", "102"},
		{"memory", "memory.limit_in_bytes", "33554432"},
		{"pids", "pids.max", "64"},
	} {
		if got := read(c.ctrl, c.file); got != c.want {
			t.Errorf("%s = %s, want %s", c.file, got, c.want)
		}
	}
	// The container's PID is in the cgroup.
	st, _ := e.rt.ContainerStatus(ctx, "lim")
	if procs := read("memory", "cgroup.procs"); !strings.Contains("\n"+procs+"\n", "\n"+strconv.Itoa(st.Pid)+"\n") {
		t.Errorf("pid %d not in cgroup.procs %q", st.Pid, procs)
	}
}

func TestGracefulStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	// Handles SIGTERM: exits 7 within the grace period.
	e.run(e.spec("polite", "sh", "-c", `trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 1 & wait $!; done`))
	// Ignores SIGTERM: killed when the grace period is over.
	e.run(e.spec("stubborn", "sh", "-c", `trap '' TERM; echo ready; while :; do sleep 1 & wait $!; done`))
	for _, id := range []string{"polite", "stubborn"} {
		poll(t, id+" ready", 10*time.Second, func() bool {
			return strings.Contains(strings.Join(e.logs(logOpts(id)), "\n"), "ready")
		})
	}
	t0 := time.Now()
	st, err := e.rt.StopContainer(ctx, "polite", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.ExitCode != 7 || time.Since(t0) > 5*time.Second {
		t.Fatalf("polite: %+v after %v", st, time.Since(t0))
	}
	if !strings.Contains(strings.Join(e.logs(logOpts("polite")), "\n"), "got-term") {
		t.Fatal("polite never saw SIGTERM")
	}
	grace := 300 * time.Millisecond
	t0 = time.Now()
	st, err = e.rt.StopContainer(ctx, "stubborn", grace)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); st.ExitCode != 137 || st.Signal != syscall.SIGKILL || took < grace {
		t.Fatalf("stubborn: %+v after %v (grace %v)", st, took, grace)
	}
	// Stopping again returns the same status.
	if again, err := e.rt.StopContainer(ctx, "stubborn", grace); err != nil || again.ExitCode != 137 {
		t.Fatalf("second stop: %+v %v", again, err)
	}
	if err := e.rt.KillContainer(ctx, "stubborn", syscall.SIGTERM); err == nil {
		t.Fatal("kill of a stopped container succeeded")
	}
}
