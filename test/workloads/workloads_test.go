package workloads_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	"github.com/openpacific/pacific/sdk/drain"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/rollout"
)

// hostsOf returns the hosts the pods run on, and fails on two pods on one
// host (the Deployment's anti-affinity forbids it).
func hostsOf(t *testing.T, pods map[string]*corev1.Pod) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, p := range pods {
		h := p.GetSpec().GetNodeName()
		if other, dup := out[h]; dup && h != "" {
			t.Fatalf("pods %s and %s both on host %s despite anti-affinity", other, name, h)
		}
		out[h] = name
	}
	return out
}

func readyOn(pods map[string]*corev1.Pod) (ready int, hosts []string) {
	for _, p := range pods {
		if ok, _ := apis.PodReady(p); ok && p.GetSpec().GetNodeName() != "" {
			ready++
			hosts = append(hosts, p.GetSpec().GetNodeName())
		}
	}
	slices.Sort(hosts)
	return ready, hosts
}

// Drain one host of a Deployment of 3 with anti-affinity and the default
// bounds (maxUnavailable 25% of 3 = 0): the pod moves, and a Watch sees 3
// Ready pods the whole time (the replacement starts first).
func TestDrainMovesPodsWithinMaxUnavailable(t *testing.T) {
	e := start(t, 4)
	e.create(web(3, nil, nil))
	e.waitComplete("web")
	pods := e.pods("web")
	byHost := hostsOf(t, pods)
	victim := ""
	for h := range byHost {
		victim = h
	}
	rw := e.watchReady("web", 3)
	defer rw.stop()
	var lines []string
	ctx, cancel := context.WithTimeout(e.ctx, 45*time.Second)
	defer cancel()
	if err := drain.Drain(ctx, e.c, victim, drain.Options{Progress: func(l string) { lines = append(lines, l) }, Interval: 100 * time.Millisecond}); err != nil {
		t.Fatalf("drain %s: %v\n%s", victim, err, strings.Join(lines, "\n"))
	}
	rw.check(t)
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "waiting") }) || lines[len(lines)-1] != "host/"+victim+" drained" {
		t.Fatalf("progress lines do not show the wait for a replacement:\n%s", strings.Join(lines, "\n"))
	}
	e.eventually("3 Ready pods off "+victim, func() (bool, string) {
		ready, hosts := readyOn(e.pods("web"))
		return ready == 3 && !slices.Contains(hosts, victim), fmt.Sprint(hosts)
	})
	hostsOf(t, e.pods("web"))
	rw.check(t)
	h, err := client.For[*corev1.Host](e.c).Get(e.ctx, "", victim)
	if err != nil || !h.GetSpec().GetUnschedulable() {
		t.Fatalf("drained host not cordoned: %v %v", h.GetSpec(), err)
	}
}

// Maintenance mode drains through the host lifecycle controller, with
// maxUnavailable 1 (no surge needed), and reports InMaintenance.
func TestMaintenanceModeDrains(t *testing.T) {
	e := start(t, 3)
	e.create(web(3, 0, 1))
	e.waitComplete("web")
	// A pod without an owner blocks maintenance until it is deleted.
	loose := &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: "loose", Namespace: "demo"},
		Spec:     &corev1.PodSpec{NodeName: "h1", Containers: []*corev1.Container{{Name: "main", Image: "busybox:1"}}},
	}
	if _, err := client.For[*corev1.Pod](e.c).Create(e.ctx, loose); err != nil {
		t.Fatal(err)
	}
	rw := e.watchReady("web", 2)
	defer rw.stop()
	if _, err := drain.SetMaintenance(e.ctx, e.c, "h1", true); err != nil {
		t.Fatal(err)
	}
	condition := func() *corev1.Condition {
		h, err := client.For[*corev1.Host](e.c).Get(e.ctx, "", "h1")
		if err != nil {
			t.Fatal(err)
		}
		return apis.FindCondition(h.GetStatus().GetConditions(), "Maintenance")
	}
	e.eventually("maintenance blocked by the unowned pod", func() (bool, string) {
		c := condition()
		return c.GetReason() == "DrainBlocked" && strings.Contains(c.GetMessage(), "demo/loose"), fmt.Sprint(c)
	})
	if err := client.For[*corev1.Pod](e.c).Delete(e.ctx, "demo", "loose"); err != nil {
		t.Fatal(err)
	}
	e.eventually("in maintenance", func() (bool, string) {
		c := condition()
		return c.GetStatus() == "True" && c.GetReason() == "InMaintenance", fmt.Sprint(c)
	})
	rw.check(t)
	// Two hosts are left for three pods with anti-affinity: one stays
	// Pending; leaving maintenance lets it run again.
	e.eventually("2 Ready pods off h1", func() (bool, string) {
		ready, hosts := readyOn(e.pods("web"))
		return ready == 2 && !slices.Contains(hosts, "h1"), fmt.Sprint(hosts)
	})
	if _, err := drain.SetMaintenance(e.ctx, e.c, "h1", false); err != nil {
		t.Fatal(err)
	}
	e.eventually("3 Ready pods after maintenance", func() (bool, string) {
		ready, hosts := readyOn(e.pods("web"))
		return ready == 3, fmt.Sprint(hosts)
	})
	e.eventually("maintenance condition removed", func() (bool, string) {
		c := condition()
		return c == nil, fmt.Sprint(c)
	})
	rw.check(t)
}

// Kill a host's agent: Ready=Unknown after the grace, eviction after the
// timeout, a replacement elsewhere; bring it back: it runs none of the
// evicted pods.
func TestLostHostPodsAreReplacedAndNotDuplicated(t *testing.T) {
	e := start(t, 4)
	e.create(web(3, nil, nil))
	e.waitComplete("web")
	before := e.pods("web")
	byHost := hostsOf(t, before)
	lost := ""
	for h := range byHost {
		lost = h
	}
	evicted := before[byHost[lost]]
	if err := e.fleet.Stop(lost); err != nil {
		t.Fatal(err)
	}
	e.eventually(lost+" Ready=Unknown", func() (bool, string) {
		h, err := client.For[*corev1.Host](e.c).Get(e.ctx, "", lost)
		if err != nil {
			return false, err.Error()
		}
		c := apis.FindCondition(h.GetStatus().GetConditions(), apis.HostReady)
		return c.GetStatus() == "Unknown" && c.GetReason() == apis.ReasonHostLeaseExpired, fmt.Sprint(c)
	})
	unknownAt := time.Now()
	e.eventually("the lost host's pod marked not Ready", func() (bool, string) {
		p, err := client.For[*corev1.Pod](e.c).Get(e.ctx, "demo", evicted.GetMetadata().GetName())
		if err != nil {
			return false, err.Error()
		}
		ready, c := apis.PodReady(p)
		return !ready && c.GetReason() == "HostNotReady", fmt.Sprint(c)
	})
	// Evicted: deleted, and Terminating until the lost host's agent has
	// stopped it (the host agent's finalizer), as on a lost Kubernetes node.
	e.eventually("pod evicted from "+lost, func() (bool, string) {
		p, err := client.For[*corev1.Pod](e.c).Get(e.ctx, "demo", evicted.GetMetadata().GetName())
		if err != nil {
			return false, err.Error()
		}
		return p.GetMetadata().GetDeletionTimestamp() != nil, fmt.Sprint(p.GetMetadata().GetFinalizers())
	})
	if waited := time.Since(unknownAt); waited < evictionTimeout/2 {
		t.Fatalf("pod evicted %s after the host became Unknown; the eviction timeout is %s", waited, evictionTimeout)
	}
	e.eventually("replacement Ready elsewhere", func() (bool, string) {
		ready, hosts := readyOn(e.pods("web"))
		return ready == 3 && !slices.Contains(hosts, lost), fmt.Sprint(hosts)
	})
	events, _, err := client.For[*corev1.Event](e.c).ListAll(e.ctx, client.ListOptions{Namespace: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(ev *corev1.Event) bool {
		return ev.GetReason() == apis.ReasonEvicted && ev.GetInvolvedObject().GetName() == evicted.GetMetadata().GetName() && strings.Contains(ev.GetMessage(), lost)
	}) {
		t.Fatal("no Evicted event names the lost host")
	}

	if err := e.fleet.Start(e.ctx, lost); err != nil {
		t.Fatal(err)
	}
	e.eventually(lost+" Ready again", func() (bool, string) {
		h, err := client.For[*corev1.Host](e.c).Get(e.ctx, "", lost)
		if err != nil {
			return false, err.Error()
		}
		c := apis.FindCondition(h.GetStatus().GetConditions(), apis.HostReady)
		return c.GetStatus() == "True", fmt.Sprint(c)
	})
	if slices.Contains(e.fleet.RunningPods(lost), evicted.GetMetadata().GetUid()) {
		t.Fatalf("host %s runs the evicted pod again", lost)
	}
	e.eventually("the evicted pod released by the returning host", func() (bool, string) {
		_, err := client.For[*corev1.Pod](e.c).Get(e.ctx, "demo", evicted.GetMetadata().GetName())
		return client.IsNotFound(err), fmt.Sprint(err)
	})
	running := 0
	for _, h := range e.fleet.Names() {
		running += len(e.fleet.RunningPods(h))
	}
	if running != 3 {
		t.Fatalf("%d pods run across the fleet, want exactly 3", running)
	}
}

// A new image with surge 1 rolls out completely (rollout.Status says so);
// undo returns to the previous template.
func TestRolloutAndUndoOnSimHosts(t *testing.T) {
	e := start(t, 4)
	e.create(web(3, 1, 0))
	e.waitComplete("web")
	d := e.deployment("web")
	d.Spec.Template.Spec.Containers[0].Image = "127.0.0.1:5000/busybox:2"
	if _, err := client.For[*corev1.Deployment](e.c).Update(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	rw := e.watchReady("web", 3)
	defer rw.stop()
	e.eventually("rollout of busybox:2 complete", func() (bool, string) {
		msg, done, err := rollout.Status(e.deployment("web"))
		if err != nil {
			t.Fatal(err)
		}
		return done, msg
	})
	images := func() map[string]int {
		out := map[string]int{}
		for _, p := range e.pods("web") {
			out[p.GetSpec().GetContainers()[0].GetImage()]++
		}
		return out
	}
	e.eventually("only busybox:2", func() (bool, string) {
		m := images()
		return m["127.0.0.1:5000/busybox:2"] == 3 && len(m) == 1, fmt.Sprint(m)
	})
	rw.check(t)

	rev, err := rollout.Undo(e.ctx, e.c, "demo", "web", 0)
	if err != nil || rev != 1 {
		t.Fatalf("undo = %d, %v; want revision 1", rev, err)
	}
	e.eventually("undo complete", func() (bool, string) {
		msg, done, err := rollout.Status(e.deployment("web"))
		if err != nil {
			t.Fatal(err)
		}
		return done, msg
	})
	e.eventually("only busybox:1 after undo", func() (bool, string) {
		m := images()
		return m["127.0.0.1:5000/busybox:1"] == 3 && len(m) == 1, fmt.Sprint(m)
	})
	rw.check(t)
	hist, err := rollout.History(e.ctx, e.c, e.deployment("web"))
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Number != 2 || hist[1].Number != 3 {
		t.Fatalf("history after undo: %v", hist)
	}
	if _, err := rollout.Undo(e.ctx, e.c, "demo", "web", 7); err == nil || !strings.Contains(err.Error(), "no such revision") {
		t.Fatalf("undo to a missing revision: %v", err)
	}
}

// Draining a host with a pod that has no owner is refused, listing it,
// and changes nothing; --force deletes it.
func TestDrainRefusesUnownedPods(t *testing.T) {
	e := start(t, 2)
	loose := &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: "loose", Namespace: "demo"},
		Spec:     &corev1.PodSpec{NodeName: "h2", Containers: []*corev1.Container{{Name: "main", Image: "busybox:1"}}},
	}
	if _, err := client.For[*corev1.Pod](e.c).Create(e.ctx, loose); err != nil {
		t.Fatal(err)
	}
	err := drain.Drain(e.ctx, e.c, "h2", drain.Options{})
	var unowned *drain.UnownedPodsError
	if !errors.As(err, &unowned) || !slices.Equal(unowned.Pods, []string{"demo/loose"}) || !strings.Contains(err.Error(), "Deployments") {
		t.Fatalf("drain with an unowned pod: %v", err)
	}
	if h, _ := client.For[*corev1.Host](e.c).Get(e.ctx, "", "h2"); h.GetSpec().GetUnschedulable() {
		t.Fatal("a refused drain cordoned the host")
	}
	if err := drain.Drain(e.ctx, e.c, "h2", drain.Options{Force: true, Interval: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.For[*corev1.Pod](e.c).Get(e.ctx, "demo", "loose"); !client.IsNotFound(err) {
		t.Fatalf("forced drain left the pod: %v", err)
	}
}

// With anti-affinity and no spare host, a drain cannot finish without
// taking a pod away: it waits, says why, and keeps every pod Ready.
// Uncordoning withdraws the eviction and the surplus replacement goes.
func TestDrainWaitsWhenNoHostFits(t *testing.T) {
	e := start(t, 3)
	e.create(web(3, nil, nil))
	e.waitComplete("web")
	victim := e.pods("web")
	var host string
	for _, p := range victim {
		host = p.GetSpec().GetNodeName()
	}
	rw := e.watchReady("web", 3)
	defer rw.stop()
	var lines []string
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Second)
	defer cancel()
	err := drain.Drain(ctx, e.c, host, drain.Options{Progress: func(l string) { lines = append(lines, l) }, Interval: 100 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("drain with no room: %v", err)
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "cannot be scheduled") }) {
		t.Fatalf("progress does not say the replacement cannot be placed:\n%s", strings.Join(lines, "\n"))
	}
	rw.check(t)
	if _, err := drain.SetUnschedulable(e.ctx, e.c, host, false); err != nil {
		t.Fatal(err)
	}
	e.eventually("back to 3 pods, all Ready", func() (bool, string) {
		pods := e.pods("web")
		ready, hosts := readyOn(pods)
		return len(pods) == 3 && ready == 3, fmt.Sprint(hosts)
	})
	rw.check(t)
}
