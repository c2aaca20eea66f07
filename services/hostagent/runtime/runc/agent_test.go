package runc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// agentConfig is what the fake agent process gets.
type agentConfig struct {
	Opts   Options
	Rootfs string
}

// fakeAgent runs in a child process: it starts a pod and exits without
// cleaning up, like an agent that crashes or is upgraded. It prints the
// container's PID.
func fakeAgent(cfgJSON string) int {
	var cfg agentConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg.Opts.Logger = testLogger()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := New(ctx, cfg.Opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := rt.CreateSandbox(ctx, runtime.SandboxSpec{ID: "pod"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	spec := runtime.ContainerSpec{ID: "app", SandboxID: "pod", Name: "app", Rootfs: cfg.Rootfs,
		Args: []string{"sh", "-c", `echo started; trap 'echo bye; exit 9' TERM; while :; do sleep 1 & wait $!; done`}}
	st, err := rt.CreateContainer(ctx, spec)
	if err == nil {
		err = rt.StartContainer(ctx, "app")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(st.Pid)
	return 0
}

// TestRecoverAfterAgentExit: the agent process that started a container
// exits; the container keeps running under its shim, and a new agent
// re-adopts it (same PID), stops it and gets its exit code and logs.
func TestRecoverAfterAgentExit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	cfg, _ := json.Marshal(agentConfig{Opts: Options{
		StateDir: e.opts.StateDir, RuncPath: e.opts.RuncPath, ShimPath: e.opts.ShimPath,
		ShimArgs: e.opts.ShimArgs, ShimEnv: e.opts.ShimEnv, CgroupParent: e.opts.CgroupParent,
	}, Rootfs: e.rootfs})
	exe, _ := os.Executable()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), "PACIFIC_TEST_AGENT="+string(cfg))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("agent: %v: %s", err, err.(*exec.ExitError).Stderr)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("agent printed %q", out)
	}
	// The agent is gone; the container still runs.
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		t.Fatalf("container died with its agent: %v", err)
	}

	rec := e.restart(ctx)
	if len(rec.Containers) != 1 || rec.Containers[0].Pid != pid || rec.Containers[0].State != runtime.StateRunning {
		t.Fatalf("recovered %+v, want app running with pid %d", rec.Containers, pid)
	}
	poll(t, "app started", 10*time.Second, func() bool {
		return strings.Contains(strings.Join(e.logs(logOpts("app")), "\n"), "started")
	})
	st, err := e.rt.StopContainer(ctx, "app", 10*time.Second)
	if err != nil || st.ExitCode != 9 {
		t.Fatalf("stop: %+v %v", st, err)
	}
	if got := strings.Join(e.logs(logOpts("app")), ","); got != "stdout started,stdout bye" {
		t.Fatalf("log %q", got)
	}
}
