package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"
)

var insufficientCPU = regexp.MustCompile(`0/(\d+) hosts available: (\d+) insufficient cpu`)

const simPod = `apiVersion: core.pacific.dev/v1
kind: Pod
metadata: {name: web, namespace: demo}
spec:
  nodeName: sim-2
  containers:
  - name: main
    image: 127.0.0.1:5000/busybox:1
    resources: {requests: {cpu: 100m, memory: 64Mi}}
`

func TestDevSimHosts(t *testing.T) {
	bins := build(t)
	out, err := exec.Command(bins.pacific, "dev", "--data-dir", t.TempDir(), "--listen", testutil.UnusedLoopbackAddr(t), "--sim-host-memory", "lots").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--sim-host-memory") {
		t.Fatalf("bad --sim-host-memory accepted: %v\n%s", err, out)
	}

	dev := startDev(t, bins, t.TempDir(), testutil.UnusedLoopbackAddr(t), "--sim-hosts", "3", "--sim-host-cpu", "2")
	cfg := "--config=" + dev.config
	var r result
	// The simulated hosts register themselves shortly after start.
	poll(t, 30*time.Second, func() (bool, string) {
		r = pacctl(t, bins, nil, "", cfg, "get", "hosts", "-l", "pacific.dev/simulated=true", "-o", "wide")
		return r.code == 0 && strings.Count(r.stdout, "sim-") == 3, r.stdout + r.stderr
	})
	r = pacctl(t, bins, nil, demoNamespace+"---\n"+simPod, cfg, "apply", "-f", "-")
	if r.code != 0 {
		t.Fatalf("apply: code=%d stderr=%q", r.code, r.stderr)
	}
	poll(t, 30*time.Second, func() (bool, string) {
		r = pacctl(t, bins, nil, "", cfg, "get", "pod", "web", "-n", "demo")
		return r.code == 0 && strings.Contains(r.stdout, "Running"), r.stdout + r.stderr
	})

	// Without nodeName the scheduler places pods; one no host fits stays
	// Pending with the reason in describe.
	r = pacctl(t, bins, nil, strings.ReplaceAll(strings.Replace(simPod, "  nodeName: sim-2\n", "  nodeSelector: {pacific.dev/simulated: \"true\"}\n", 1), "name: web", "name: placed")+
		"---\n"+strings.ReplaceAll(strings.ReplaceAll(strings.Replace(simPod, "  nodeName: sim-2\n", "", 1), "name: web", "name: huge"), "cpu: 100m", "cpu: \"64\""), cfg, "apply", "-f", "-")
	if r.code != 0 {
		t.Fatalf("apply: code=%d stderr=%q", r.code, r.stderr)
	}
	poll(t, 30*time.Second, func() (bool, string) {
		r = pacctl(t, bins, nil, "", cfg, "get", "pod", "placed", "-n", "demo", "-o", "wide")
		return r.code == 0 && strings.Contains(r.stdout, "Running") && strings.Contains(r.stdout, "sim-"), r.stdout + r.stderr
	})
	poll(t, 30*time.Second, func() (bool, string) {
		r = pacctl(t, bins, nil, "", cfg, "describe", "pod", "huge", "-n", "demo")
		// Every host is too small: the three sim hosts, plus the local
		// one when this machine can run containers.
		m := insufficientCPU.FindStringSubmatch(r.stdout)
		return r.code == 0 && m != nil && m[1] == m[2] && (m[1] == "3" || m[1] == "4"), r.stdout + r.stderr
	})
	dev.stop(t)
}
