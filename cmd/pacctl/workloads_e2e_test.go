package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/controllers"
	"github.com/openpacific/pacific/services/hostagent/sim"
	"github.com/openpacific/pacific/services/scheduler"
)

// startCluster runs an API server, the controllers, a scheduler and three
// simulated hosts sim-1..sim-3, as pacific dev --sim-hosts 3 does.
func startCluster(t *testing.T) (addr string, c *client.Client) {
	t.Helper()
	addr = apiservertest.Start(t)
	c, err := client.New(client.Options{Servers: []string{addr}, TLS: testutil.ClientTLS(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	fleet, err := sim.New(sim.Config{Client: c, Logger: discardLogger(), RenewInterval: 100 * time.Millisecond, LeaseDuration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.AddHosts(ctx, []sim.HostConfig{{Name: "sim-1"}, {Name: "sim-2"}, {Name: "sim-3"}}); err != nil {
		t.Fatal(err)
	}
	sched, err := scheduler.New(scheduler.Config{Client: c, Logger: discardLogger(), Identity: "test", LeaseDuration: 2 * time.Second, BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctrl := controllers.New(controllers.Config{Client: c, Logger: discardLogger(), HostMonitorGrace: time.Second, PodEvictionTimeout: 2 * time.Second})
	runs := []func(context.Context) error{fleet.Run, sched.Run, ctrl.Run}
	done := make(chan struct{}, len(runs))
	for _, run := range runs {
		go func() {
			defer func() { done <- struct{}{} }()
			_ = run(ctx)
		}()
	}
	t.Cleanup(func() {
		cancel()
		for range runs {
			<-done
		}
	})
	return addr, c
}

type podList struct {
	Items []struct {
		Metadata struct{ Name string }
		Spec     struct{ NodeName string }
		Status   struct{ Phase string }
	}
}

func getPods(t *testing.T, srv string) podList {
	t.Helper()
	r := mustRun(t, "", srv, "get", "pods", "-n", "demo", "-l", "app=web", "-o", "json")
	var pl podList
	if err := json.Unmarshal([]byte(r.stdout), &pl); err != nil {
		t.Fatalf("get pods -o json: %v\n%s", err, r.stdout)
	}
	return pl
}

// hostSpec checks whether the host's YAML has a line (protojson leaves
// false out, so "x: true" absent means false).
func hostSpec(t *testing.T, srv, host, line string, want bool) {
	t.Helper()
	r := mustRun(t, "kind: Host", srv, "get", "host", host, "-o", "yaml")
	if strings.Contains(r.stdout, line) != want {
		t.Fatalf("host %s: %q present = %v, want %v:\n%s", host, line, !want, want, r.stdout)
	}
}

// The acceptance flow, as a new user would run it.
func TestDeploymentRolloutScaleUndoDrain(t *testing.T) {
	addr, _ := startCluster(t)
	srv := "--server=" + addr
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, "namespace/demo created", srv, "apply", "-f", filepath.Join("..", "..", "examples", "namespace.yaml"))
	mustRun(t, "deployment/web created", srv, "apply", "-f", filepath.Join("..", "..", "examples", "deployment.yaml"))
	r := mustRun(t, `deployment "web" successfully rolled out`, srv, "rollout", "status", "deployment/web", "-n", "demo", "--timeout", "60s")
	t.Logf("rollout status:\n%s", r.stdout)

	r = mustRun(t, "web", srv, "get", "deployments", "-n", "demo")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "NAME READY UP-TO-DATE AVAILABLE AGE" {
		t.Fatalf("header %q", got)
	}
	if f := strings.Fields(lines[1]); f[1] != "3/3" || f[2] != "3" || f[3] != "3" {
		t.Fatalf("row %q", lines[1])
	}
	pl := getPods(t, srv)
	if len(pl.Items) != 3 {
		t.Fatalf("%d pods", len(pl.Items))
	}
	for _, p := range pl.Items {
		if p.Spec.NodeName == "" || p.Status.Phase != "Running" {
			t.Fatalf("pod %s: node %q phase %q", p.Metadata.Name, p.Spec.NodeName, p.Status.Phase)
		}
	}
	// describe shows where the scheduler put a pod.
	first := pl.Items[0]
	describeShows(t, srv, regexp.MustCompile(`Normal\s+Scheduled\s+.*\s+scheduler\s+Successfully assigned demo/`+first.Metadata.Name+` to `+first.Spec.NodeName+`\n`),
		"describe", "pod", first.Metadata.Name, "-n", "demo")

	mustRun(t, "deployment.core.pacific.dev/web scaled", srv, "scale", "deployment/web", "-n", "demo", "--replicas", "4")
	mustRun(t, "successfully rolled out", srv, "rollout", "status", "deploy/web", "-n", "demo", "--timeout", "60s")
	if n := len(getPods(t, srv).Items); n != 4 {
		t.Fatalf("%d pods after scale to 4", n)
	}

	// A new image, then undo.
	v2 := writeFile(t, "v2.yaml", strings.Replace(string(example), "busybox:1", "busybox:2", 1))
	mustRun(t, "deployment/web configured", srv, "apply", "-f", v2)
	mustRun(t, "successfully rolled out", srv, "rollout", "status", "deployment/web", "-n", "demo", "--timeout", "60s")
	r = mustRun(t, "REVISION", srv, "rollout", "history", "deployment/web", "-n", "demo")
	if !strings.Contains(r.stdout, "1 ") || !strings.Contains(r.stdout, "2 ") {
		t.Fatalf("history:\n%s", r.stdout)
	}
	mustRun(t, "busybox:2", srv, "rollout", "history", "deployment/web", "-n", "demo", "--revision", "2")
	mustRun(t, "rolled back to revision 1", srv, "rollout", "undo", "deployment/web", "-n", "demo")
	mustRun(t, "successfully rolled out", srv, "rollout", "status", "deployment/web", "-n", "demo", "--timeout", "60s")
	mustRun(t, "busybox:1", srv, "get", "deployment", "web", "-n", "demo", "-o", "yaml")
	mustFail(t, "no such revision", srv, "rollout", "undo", "deployment/web", "-n", "demo", "--to-revision", "9")

	// Pause: status says so and does not wait forever with --timeout.
	mustRun(t, "paused", srv, "rollout", "pause", "deployment/web", "-n", "demo")
	mustFail(t, "timed out", srv, "rollout", "status", "deployment/web", "-n", "demo", "--timeout", "300ms")
	mustRun(t, "resumed", srv, "rollout", "resume", "deployment/web", "-n", "demo")
	mustRun(t, "restarted", srv, "rollout", "restart", "deployment/web", "-n", "demo")
	mustRun(t, "successfully rolled out", srv, "rollout", "status", "deployment/web", "-n", "demo", "--timeout", "60s")

	// Drain the host of one pod: it moves, the host is cordoned.
	victim := getPods(t, srv).Items[0].Spec.NodeName
	r = mustRun(t, "host/"+victim+" drained", srv, "host", "drain", victim, "--timeout", "60s")
	if !strings.Contains(r.stdout, "cordoned") || !strings.Contains(r.stdout, "waiting: deployment web would have 2 Ready pods") || !strings.Contains(r.stdout, " evicted") {
		t.Fatalf("drain output:\n%s", r.stdout)
	}
	for _, p := range getPods(t, srv).Items {
		if p.Spec.NodeName == victim {
			t.Fatalf("pod %s still on drained host %s", p.Metadata.Name, victim)
		}
	}
	hostSpec(t, srv, victim, "unschedulable: true", true)
	mustRun(t, "host/"+victim+" uncordoned", srv, "host", "uncordon", victim)
	mustRun(t, "already schedulable", srv, "host", "uncordon", victim)
	mustRun(t, "host/"+victim+" cordoned", srv, "host", "cordon", victim)
	mustRun(t, "host/"+victim+" uncordoned", srv, "host", "uncordon", victim)
}

func TestDrainAndMaintenanceRefuseUnownedPods(t *testing.T) {
	addr, _ := startCluster(t)
	srv := "--server=" + addr
	mustRun(t, "namespace/demo created", srv, "apply", "-f", filepath.Join("..", "..", "examples", "namespace.yaml"))
	loose := writeFile(t, "loose.yaml", `apiVersion: core.pacific.dev/v1
kind: Pod
metadata: {name: loose, namespace: demo}
spec:
  nodeName: sim-2
  containers: [{name: main, image: busybox:1}]
`)
	mustRun(t, "pod/loose created", srv, "apply", "-f", loose)
	r := mustFail(t, "demo/loose", srv, "host", "drain", "sim-2")
	if !strings.Contains(r.stderr, "Deployments") || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("refusal does not explain:\n%s", r.stderr)
	}
	hostSpec(t, srv, "sim-2", "unschedulable: true", false)

	r = mustFail(t, "timed out", srv, "host", "maintenance", "enter", "sim-2", "--timeout", "2s")
	if !strings.Contains(r.stdout, "DrainBlocked") || !strings.Contains(r.stdout, "demo/loose") {
		t.Fatalf("maintenance progress does not show the blocking pod:\n%s", r.stdout)
	}
	mustRun(t, `pod "loose" deleted`, srv, "delete", "pod", "loose", "-n", "demo")
	mustRun(t, "InMaintenance", srv, "host", "maintenance", "enter", "sim-2", "--timeout", "30s")
	mustRun(t, "left maintenance", srv, "host", "maintenance", "exit", "sim-2")
	hostSpec(t, srv, "sim-2", "maintenance: true", false)
	hostSpec(t, srv, "sim-2", "unschedulable: true", false)
}

func TestRolloutStatusFailsOnProgressDeadline(t *testing.T) {
	addr, _ := startCluster(t)
	srv := "--server=" + addr
	mustRun(t, "namespace/demo created", srv, "apply", "-f", filepath.Join("..", "..", "examples", "namespace.yaml"))
	// No host has 64 CPUs: the pod stays Pending and the rollout stalls.
	stuck := writeFile(t, "stuck.yaml", `apiVersion: core.pacific.dev/v1
kind: Deployment
metadata: {name: stuck, namespace: demo}
spec:
  replicas: 1
  progressDeadlineSeconds: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      containers: [{name: main, image: busybox:1, resources: {requests: {cpu: "64"}}}]
`)
	mustRun(t, "deployment/stuck created", srv, "apply", "-f", stuck)
	r := mustFail(t, "exceeded its progress deadline", srv, "rollout", "status", "deployment/stuck", "-n", "demo", "--timeout", "60s")
	if !strings.Contains(r.stdout, "Waiting for deployment") {
		t.Fatalf("no progress lines before the failure:\n%s", r)
	}
	// describe shows why the pod waits: an Event from the scheduler.
	describeShows(t, srv, regexp.MustCompile(`Warning\s+FailedScheduling\s+.*\s+scheduler\s+0/3 hosts available: 3 insufficient cpu\n`),
		"describe", "pods", "-n", "demo", "-l", "app=stuck")
	mustFail(t, "only deployments have rollouts", srv, "rollout", "status", "pod/x", "-n", "demo")
	mustFail(t, "--replicas is required", srv, "scale", "deployment/stuck", "-n", "demo")
	mustFail(t, "must not be negative", srv, "scale", "deployment/stuck", "-n", "demo", "--replicas", "-1")
	mustFail(t, fmt.Sprintf("%q not found", "nope"), srv, "rollout", "undo", "deployment/nope", "-n", "demo")
	_ = corev1.EventType_EVENT_TYPE_ADDED
}

// describeShows polls pacctl args until its output matches want: Events
// are written in the background.
func describeShows(t *testing.T, srv string, want *regexp.Regexp, args ...string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, "pacctl "+strings.Join(args, " ")+" shows "+want.String(), func() (bool, string) {
		r := pacctl(t, "", append([]string{srv}, args...)...)
		return r.code == 0 && want.MatchString(r.stdout), r.String()
	})
}

// discardLogger drops the logs of the services a test runs.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
