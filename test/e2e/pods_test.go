package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/mountinfo"
	"github.com/openpacific/pacific/internal/testutil"
)

type podView struct {
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase      string `json:"phase"`
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
		ContainerStatuses []struct {
			Ready        bool  `json:"ready"`
			RestartCount int32 `json:"restartCount"`
			State        struct {
				Running    *struct{} `json:"running"`
				Terminated *struct {
					ExitCode int32  `json:"exitCode"`
					Reason   string `json:"reason"`
				} `json:"terminated"`
			} `json:"state"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

func (p podView) condition(t string) string {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func TestDevRunsPods(t *testing.T) {
	runc, _ := testutil.RequireContainerHost(t)
	bins := build(t)
	dataDir := t.TempDir()
	listen, registry := testutil.UnusedLoopbackAddr(t), testutil.UnusedLoopbackAddr(t)
	dev := startDev(t, bins, dataDir, listen, "--registry", registry, "--host-name", "e2e-host", "--runc", runc)
	cfg := "--config=" + dev.config
	run := func(stdin string, args ...string) result {
		return pacctl(t, bins, nil, stdin, append([]string{cfg}, args...)...)
	}
	if r := run("", "apply", "-f", "../../examples/namespace.yaml"); r.code != 0 {
		t.Fatalf("namespace: %q", r.stderr)
	}
	// The readiness probe reads a file the test creates with exec; the
	// liveness probe fails once /tmp/die exists. Generous probe timeouts:
	// on a loaded machine a slow exec must not count as a failure.
	manifest := fmt.Sprintf(`apiVersion: core.pacific.dev/v1
kind: Pod
metadata: {name: web, namespace: demo}
spec:
  nodeName: e2e-host
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: %s/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {memory: 64Mi}}
    readinessProbe: {exec: {command: ["cat", "/tmp/ready"]}, periodSeconds: 1, timeoutSeconds: 20}
    livenessProbe: {exec: {command: ["sh", "-c", "test ! -e /tmp/die"]}, periodSeconds: 1, timeoutSeconds: 20, failureThreshold: 1}
`, registry)
	if r := run(manifest, "apply", "-f", "-"); r.code != 0 {
		t.Fatalf("apply pod: %q", r.stderr)
	}
	get := func() podView {
		r := run("", "get", "pod", "web", "-n", "demo", "-o", "json")
		var p podView
		if r.code == 0 {
			json.Unmarshal([]byte(r.stdout), &p)
		}
		return p
	}
	var pod podView
	poll(t, 60*time.Second, func() (bool, string) {
		pod = get()
		return pod.Status.Phase == "Running", fmt.Sprintf("%+v", pod.Status)
	})
	if pod.condition("Ready") != "False" {
		t.Fatalf("Ready before the readiness file exists: %+v", pod.Status)
	}
	// The container runs under the small shim installed next to pacific.
	if n := processesOf(t, bins.shim); n != 1 {
		t.Fatalf("%d processes of %s, want the one shim of the pod's container", n, bins.shim)
	}

	// logs shows the container's output.
	poll(t, 30*time.Second, func() (bool, string) {
		r := run("", "logs", "web", "-n", "demo", "--tail", "5")
		return r.code == 0 && strings.Contains(r.stdout, "tick"), r.stdout + r.stderr
	})
	// exec runs a command; its exit code comes back.
	r := run("", "exec", "web", "-n", "demo", "--", "sh", "-c", "touch /tmp/ready; exit 4")
	if r.code != 4 {
		t.Fatalf("exec exit code %d (stderr %q)", r.code, r.stderr)
	}
	// readiness flips; pacctl wait sees it like kubectl wait.
	if r := run("", "wait", "pod/web", "-n", "demo", "--for=condition=Ready", "--timeout=60s"); r.code != 0 || !strings.Contains(r.stdout, "pod/web condition met") {
		t.Fatalf("wait: code=%d stdout=%q stderr=%q", r.code, r.stdout, r.stderr)
	}
	// liveness failure restarts the container.
	if r := run("", "exec", "web", "-n", "demo", "--", "touch", "/tmp/die"); r.code != 0 {
		t.Fatalf("exec touch: %d %q", r.code, r.stderr)
	}
	poll(t, 60*time.Second, func() (bool, string) {
		pod = get()
		return len(pod.Status.ContainerStatuses) == 1 && pod.Status.ContainerStatuses[0].RestartCount >= 1, fmt.Sprintf("%+v", pod.Status)
	})
	// exec into a pod that is not running anywhere is refused.
	if r := run("", "exec", "nope", "-n", "demo", "--", "true"); r.code == 0 {
		t.Fatal("exec into a missing pod succeeded")
	}
	// delete cleans up.
	if r := run("", "delete", "pod", "web", "-n", "demo"); r.code != 0 {
		t.Fatalf("delete: %q", r.stderr)
	}
	poll(t, 60*time.Second, func() (bool, string) {
		r := run("", "get", "pod", "web", "-n", "demo")
		return r.code != 0 && strings.Contains(r.stderr, "not found"), r.stdout
	})
	runDir := filepath.Join(dataDir, "run")
	for _, d := range []string{"runtime/sandboxes", "runtime/containers", "runtime/runc", "agent/pods"} {
		entries, err := os.ReadDir(filepath.Join(runDir, d))
		if err != nil || len(entries) != 0 {
			t.Fatalf("%s left after delete: %d (%v)", d, len(entries), err)
		}
	}
	// While dev runs, only the runtime's run dir (a tmpfs) stays mounted;
	// once it stops with no pod left, nothing.
	if got := mountsUnder(t, dataDir); len(got) != 1 || got[0] != runDir {
		t.Fatalf("mounts under %s after delete: %q, want only the run dir %s", dataDir, got, runDir)
	}
	dev.stop(t)
	if got := mountsUnder(t, dataDir); len(got) != 0 {
		t.Fatalf("mounts under %s after dev stopped: %q", dataDir, got)
	}
}

func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	mounts, err := mountinfo.Read()
	if err != nil {
		t.Fatal(err)
	}
	return mountinfo.Under(mounts, dir)
}

// processesOf counts the running processes whose executable is exe.
func processesOf(t *testing.T, exe string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && target == exe {
			n++
		}
	}
	return n
}
