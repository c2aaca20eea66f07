package runc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// TestRunDir: the volatile state (runc's root, sandboxes, bundles) goes
// to RunDir, logs stay in StateDir; a new runtime over the same dirs
// re-adopts the container.
func TestRunDir(t *testing.T) {
	t.Parallel()
	runDir := filepath.Join(t.TempDir(), "run")
	e := newEnv(t, func(o *Options) { o.RunDir = runDir })
	ctx := e.ctx()

	if _, err := e.rt.CreateSandbox(ctx, runtime.SandboxSpec{ID: "pod"}); err != nil {
		t.Fatal(err)
	}
	spec := e.spec("app", "sleep", "60")
	spec.SandboxID = "pod"
	st := e.run(spec)
	for _, p := range []string{
		filepath.Join(runDir, "containers", "app", "config.json"),
		filepath.Join(runDir, "sandboxes", "pod", "net"),
		filepath.Join(runDir, "runc", "app"),
		filepath.Join(e.opts.StateDir, "logs", "pod", "app", "0.log"),
	} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%v", err)
		}
	}
	for _, d := range []string{"containers", "sandboxes", "runc"} {
		if _, err := os.Stat(filepath.Join(e.opts.StateDir, d)); err == nil {
			t.Errorf("%s made in the state dir", d)
		}
	}

	rec := e.restart(ctx)
	if len(rec.Containers) != 1 || rec.Containers[0].Pid != st.Pid || rec.Containers[0].State != runtime.StateRunning {
		t.Fatalf("recovered %+v, want app running with pid %d", rec.Containers, st.Pid)
	}
}

// TestRunDirKeepsOldLayout: bundles a runtime from before RunDir left in
// StateDir keep the volatile state there, so their containers are found.
func TestRunDirKeepsOldLayout(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(filepath.Join(stateDir, "containers", "old"), 0o700); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(t.TempDir(), "run")
	e := newEnv(t, func(o *Options) { o.StateDir, o.RunDir = stateDir, runDir })
	if e.rt.opts.RunDir != stateDir {
		t.Fatalf("run dir %s, want the state dir %s", e.rt.opts.RunDir, stateDir)
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Fatalf("run dir made for an old layout: %v", err)
	}
}
