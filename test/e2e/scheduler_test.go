package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"
)

// startProcess runs one of the built binaries until the test ends.
func startProcess(t *testing.T, bin string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return cmd, out
}

// Two `pacific scheduler` replicas against a `pacific apiserver`: one
// leads; killed without warning, the other takes over in seconds and
// explains the next pod.
func TestSchedulerReplicasFailOver(t *testing.T) {
	bins := build(t)
	api := testutil.UnusedLoopbackAddr(t)
	// The production way: a CA and one certificate per component.
	tlsDir := t.TempDir()
	for _, args := range [][]string{
		{"ca", "init", "--dir", tlsDir},
		{"ca", "issue", "--dir", tlsDir, "--kind", "apiserver", "--name", "apiserver-0", "--host", "127.0.0.1"},
		{"ca", "issue", "--dir", tlsDir, "--kind", "service", "--name", "scheduler"},
	} {
		if out, err := exec.Command(bins.pacific, args...).CombinedOutput(); err != nil {
			t.Fatalf("pacific %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	adminConfig := filepath.Join(t.TempDir(), "admin.yaml")
	startProcess(t, bins.pacific, "apiserver", "--data-dir", t.TempDir(), "--listen", api, "--raft-addr", testutil.UnusedLoopbackAddr(t), "--bootstrap",
		"--tls-dir", tlsDir, "--admin-config", adminConfig)
	srv := "--config=" + adminConfig // holds the CA and a cluster-admin token
	// The API server is up once it takes the namespace.
	poll(t, 60*time.Second, func() (bool, string) {
		r := pacctl(t, bins, nil, demoNamespace, srv, "apply", "-f", "-")
		return r.code == 0, r.stderr
	})
	r := pacctl(t, bins, nil, "", srv, "auth", "token", "system:scheduler", "--ttl", "1h")
	if r.code != 0 {
		t.Fatalf("pacctl auth token: %s", r.stderr)
	}
	tokenFile := filepath.Join(t.TempDir(), "scheduler.token")
	if err := os.WriteFile(tokenFile, []byte(strings.TrimSpace(r.stdout)), 0o600); err != nil {
		t.Fatal(err)
	}
	scheds := map[string]*exec.Cmd{}
	for _, id := range []string{"sched-a", "sched-b"} {
		scheds[id], _ = startProcess(t, bins.pacific, "scheduler", "--server="+api, "--tls-dir", tlsDir, "--token-file", tokenFile,
			"--identity", id, "--lease-duration", "2s")
	}
	holder := func() string {
		r := pacctl(t, bins, nil, "", srv, "get", "lease", "pacific-scheduler", "-n", "pacific-system", "-o", "json")
		var l struct {
			Spec struct {
				HolderIdentity string `json:"holderIdentity"`
			} `json:"spec"`
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &l) != nil {
			return ""
		}
		return l.Spec.HolderIdentity
	}
	var leader string
	poll(t, 30*time.Second, func() (bool, string) { leader = holder(); return leader != "", "no leader" })

	explained := func(pod string) {
		t.Helper()
		poll(t, 30*time.Second, func() (bool, string) {
			r := pacctl(t, bins, nil, "", srv, "describe", "pod", pod, "-n", "demo")
			return r.code == 0 && strings.Contains(r.stdout, "0/0 hosts available: no hosts registered"), r.stdout + r.stderr
		})
	}
	pod := strings.Replace(strings.Replace(simPod, "  nodeName: sim-2\n", "", 1), "name: web", "name: first", 1)
	if r := pacctl(t, bins, nil, pod, srv, "apply", "-f", "-"); r.code != 0 {
		t.Fatalf("apply: %q", r.stderr)
	}
	explained("first")

	// SIGKILL: no release of the lease; the other must wait it out.
	if err := scheds[leader].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	poll(t, 30*time.Second, func() (bool, string) {
		h := holder()
		return h != "" && h != leader, "holder " + h
	})
	pod = strings.Replace(pod, "name: first", "name: second", 1)
	if r := pacctl(t, bins, nil, pod, srv, "apply", "-f", "-"); r.code != 0 {
		t.Fatalf("apply: %q", r.stderr)
	}
	explained("second")
}
