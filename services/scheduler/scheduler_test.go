package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/hostagent/sim"
	"github.com/openpacific/pacific/services/scheduler"
)

const zone = "topology.pacific.dev/zone"

type env struct {
	t     *testing.T
	ctx   context.Context
	c     *client.Client
	fleet *sim.Fleet
	pods  *client.Typed[*corev1.Pod]
	hosts *client.Typed[*corev1.Host]
}

// start runs an API server and a fleet of simulated hosts.
func start(t *testing.T, hosts []sim.HostConfig) *env {
	t.Helper()
	return startOn(t, apiservertest.StartReplica(t).Client(t), hosts)
}

// startOn runs the fleet against the API server c talks to, as c.
func startOn(t *testing.T, c *client.Client, hosts []sim.HostConfig) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	fleet, err := sim.New(sim.Config{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.AddHosts(ctx, hosts); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = fleet.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	if _, err := client.For[*corev1.Namespace](c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "demo"}}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, c: c, fleet: fleet, pods: client.For[*corev1.Pod](c), hosts: client.For[*corev1.Host](c)}
}

// runScheduler starts a replica; the returned func stops it and waits.
func (e *env) runScheduler(identity string, lease time.Duration) (*scheduler.Scheduler, func()) {
	e.t.Helper()
	s, err := scheduler.New(scheduler.Config{Client: e.c, Identity: identity, LeaseDuration: lease, BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	return s, e.run(s)
}

// run runs s; the returned func stops it and waits.
func (e *env) run(s *scheduler.Scheduler) func() {
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Run(ctx); err != nil {
			e.t.Errorf("scheduler: %v", err)
		}
	}()
	stop := func() { cancel(); <-done }
	e.t.Cleanup(stop)
	return stop
}

func (e *env) createPod(name string, labels map[string]string, cpu, mem string, mutate ...func(*corev1.PodSpec)) {
	e.t.Helper()
	p := &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: name, Namespace: "demo", Labels: labels},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "main", Image: "busybox:1",
			Resources: &corev1.ResourceRequirements{Requests: map[string]string{"cpu": cpu, "memory": mem}}}}},
	}
	for _, m := range mutate {
		m(p.Spec)
	}
	if _, err := e.pods.Create(e.ctx, p); err != nil {
		e.t.Fatal(err)
	}
}

// eventually polls until cond holds, failing with the last message.
func (e *env) eventually(what string, cond func() (bool, string)) {
	e.t.Helper()
	testutil.Eventually(e.t, 30*time.Second, what, cond)
}

func (e *env) podsBound(n int) map[string]*corev1.Pod {
	e.t.Helper()
	out := map[string]*corev1.Pod{}
	e.eventually(fmt.Sprintf("%d pods bound", n), func() (bool, string) {
		list, _, err := e.pods.ListAll(e.ctx, client.ListOptions{Namespace: "demo"})
		if err != nil {
			return false, err.Error()
		}
		bound := 0
		for _, p := range list {
			out[p.GetMetadata().GetName()] = p
			if p.GetSpec().GetNodeName() != "" {
				bound++
			}
		}
		return bound >= n, fmt.Sprintf("%d bound", bound)
	})
	return out
}

func TestPlacementWithSimHosts(t *testing.T) {
	var hosts []sim.HostConfig
	for i := range 6 {
		hosts = append(hosts, sim.HostConfig{Name: fmt.Sprintf("h%d", i), Labels: map[string]string{zone: fmt.Sprintf("z%d", i%3)}, CPUMillis: 2000, MemoryBytes: 4 << 30})
	}
	e := start(t, hosts)
	e.runScheduler("s1", 2*time.Second)
	web := map[string]string{"app": "web"}
	anti := func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
			TopologyKey: "pacific.dev/hostname", LabelSelector: &corev1.LabelSelector{MatchLabels: web},
		}}}}
	}
	spreadZones := func(s *corev1.PodSpec) {
		s.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: zone, WhenUnsatisfiable: "DoNotSchedule",
			LabelSelector: &corev1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}}}
	}
	for i := range 6 {
		e.createPod(fmt.Sprintf("web-%d", i), web, "100m", "64Mi", anti)
	}
	for i := range 9 {
		e.createPod(fmt.Sprintf("api-%d", i), map[string]string{"app": "api"}, "100m", "64Mi", spreadZones)
	}
	pods := e.podsBound(15)
	webHosts := map[string]bool{}
	apiZones := map[string]int{}
	for name, p := range pods {
		host := p.GetSpec().GetNodeName()
		if strings.HasPrefix(name, "web-") {
			if webHosts[host] {
				t.Errorf("anti-affinity violated: two web pods on %s", host)
			}
			webHosts[host] = true
		} else {
			apiZones[hostZone(host)]++
		}
		if p.GetMetadata().GetAnnotations()[scheduler.PlacementAnnotation] == "" {
			t.Errorf("%s: no placement explanation", name)
		}
	}
	for z, n := range apiZones {
		if n != 3 {
			t.Errorf("zone %s has %d api pods, want 3 (spread %v)", z, n, apiZones)
		}
	}
	// A seventh web pod has nowhere to go; a pod too big for any host
	// neither. Both say why, and stay Pending.
	e.createPod("web-6", web, "100m", "64Mi", anti)
	e.createPod("huge", nil, "3", "64Mi")
	for name, want := range map[string]string{
		"web-6": "0/6 hosts available: 6 conflicting with pod anti-affinity",
		"huge":  "0/6 hosts available: 6 insufficient cpu",
	} {
		e.eventually(name+" explained", func() (bool, string) {
			p, err := e.pods.Get(e.ctx, "demo", name)
			if err != nil {
				return false, err.Error()
			}
			cond := condition(p, "PodScheduled")
			return p.GetStatus().GetSchedulingExplanation() == want && cond.GetStatus() == "False" && cond.GetReason() == "Unschedulable" &&
				p.GetSpec().GetNodeName() == "", fmt.Sprintf("%q %v", p.GetStatus().GetSchedulingExplanation(), cond)
		})
	}
	// Once a host is freed, the waiting web pod is placed there.
	victim := pods["web-0"].GetSpec().GetNodeName()
	if err := e.pods.Delete(e.ctx, "demo", "web-0"); err != nil {
		t.Fatal(err)
	}
	e.eventually("web-6 placed where web-0 was", func() (bool, string) {
		p, err := e.pods.Get(e.ctx, "demo", "web-6")
		if err != nil {
			return false, err.Error()
		}
		return p.GetSpec().GetNodeName() == victim && condition(p, "PodScheduled").GetStatus() == "True", p.GetSpec().GetNodeName()
	})
	// Sim hosts run what is bound to them.
	e.eventually("web-6 Running", func() (bool, string) {
		p, err := e.pods.Get(e.ctx, "demo", "web-6")
		return err == nil && p.GetStatus().GetPhase() == "Running", fmt.Sprint(err)
	})
	// Maintenance and cordon keep new pods away.
	for i, mutate := range []func(*corev1.Host){func(h *corev1.Host) { h.Spec.Maintenance = true }, func(h *corev1.Host) { h.Spec.Unschedulable = true }} {
		h, err := e.hosts.Get(e.ctx, "", fmt.Sprintf("h%d", i))
		if err != nil {
			t.Fatal(err)
		}
		mutate(h)
		if _, err := e.hosts.Update(e.ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	e.createPod("big", nil, "1900m", "64Mi")
	e.eventually("big explained", func() (bool, string) {
		p, err := e.pods.Get(e.ctx, "demo", "big")
		if err != nil {
			return false, err.Error()
		}
		x := p.GetStatus().GetSchedulingExplanation()
		return strings.Contains(x, "1 in maintenance") && strings.Contains(x, "1 cordoned") && strings.Contains(x, "4 insufficient cpu"), x
	})
}

func hostZone(host string) string {
	var i int
	fmt.Sscanf(host, "h%d", &i)
	return fmt.Sprintf("z%d", i%3)
}

func condition(p *corev1.Pod, typ string) *corev1.Condition {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

func TestLeaderFailover(t *testing.T) {
	e := start(t, []sim.HostConfig{{Name: "h0"}, {Name: "h1"}})
	s1, stop1 := e.runScheduler("s1", time.Second)
	e.eventually("s1 leads", func() (bool, string) { return s1.IsLeader(), "" })
	s2, _ := e.runScheduler("s2", time.Second)
	e.createPod("before", nil, "100m", "64Mi")
	e.podsBound(1)
	if s2.IsLeader() {
		t.Fatal("two leaders")
	}
	stop1()
	e.eventually("s2 takes over", func() (bool, string) { return s2.IsLeader(), "" })
	e.createPod("after", nil, "100m", "64Mi")
	e.podsBound(2)
	lease, err := client.For[*corev1.Lease](e.c).Get(e.ctx, scheduler.DefaultLeaseNamespace, scheduler.DefaultLeaseName)
	if err != nil {
		t.Fatal(err)
	}
	if lease.GetSpec().GetHolderIdentity() != "s2" || lease.GetSpec().GetLeaseTransitions() < 1 {
		t.Fatalf("lease: %v", lease.GetSpec())
	}
}

// Two schedulers that both believe they lead (different Leases: a split
// brain) race to bind the same pods: conflicts are retried, every pod ends
// bound exactly once, none is lost.
func TestRacingSchedulersNeverDoubleBind(t *testing.T) {
	var hosts []sim.HostConfig
	for i := range 4 {
		hosts = append(hosts, sim.HostConfig{Name: fmt.Sprintf("h%d", i), CPUMillis: 64000, MemoryBytes: 64 << 30})
	}
	e := start(t, hosts)
	var replicas []*scheduler.Scheduler
	for _, id := range []string{"left", "right"} {
		s, err := scheduler.New(scheduler.Config{Client: e.c, Identity: id, LeaseName: "split-" + id, LeaseDuration: time.Second,
			BackoffInitial: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(e.ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		e.eventually(id+" leads", func() (bool, string) { return s.IsLeader(), "" })
		replicas = append(replicas, s)
	}
	// Both watch every pod: the second one's informer must be synced
	// before pods arrive for the race to be real; a probe pod shows it.
	e.createPod("probe", nil, "1m", "1Mi")
	e.podsBound(1)
	// Watch every binding: a pod must change nodeName at most once.
	w, err := e.pods.Watch(e.ctx, client.WatchOptions{Namespace: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	const n = 60
	for i := range n {
		e.createPod(fmt.Sprintf("p%d", i), nil, "10m", "1Mi")
	}
	hostOf := map[string]string{}
	deadline := time.After(30 * time.Second)
	for len(hostOf) < n+1 {
		select {
		case ev := <-w.Events():
			if ev.Object == nil || ev.Object.GetSpec().GetNodeName() == "" {
				continue
			}
			name, host := ev.Object.GetMetadata().GetName(), ev.Object.GetSpec().GetNodeName()
			if prev, ok := hostOf[name]; ok && prev != host {
				t.Fatalf("%s bound to %s, then to %s", name, prev, host)
			}
			hostOf[name] = host
		case <-deadline:
			t.Fatalf("only %d of %d pods bound", len(hostOf), n+1)
		}
	}
	// The replicas count a binding when its Update returns, which may be
	// after the watch delivered it.
	e.eventually("every binding counted once", func() (bool, string) {
		l, r := replicas[0].Stats(), replicas[1].Stats()
		return l.Bound+r.Bound == n+1, fmt.Sprintf("bound %d+%d, want %d", l.Bound, r.Bound, n+1)
	})
	if l, r := replicas[0].Stats(), replicas[1].Stats(); l.Conflicts+r.Conflicts == 0 {
		t.Fatal("no binding conflicted: the race this test is about did not happen")
	}
}

// A pod no host fits is explained once and then left alone until the
// cluster changes: no hot loop of attempts or status writes.
func TestUnschedulablePodIsNotRetriedInALoop(t *testing.T) {
	e := start(t, []sim.HostConfig{{Name: "h0", CPUMillis: 1000}})
	s, _ := e.runScheduler("s1", 2*time.Second)
	e.createPod("huge", nil, "2", "64Mi")
	var rv int64
	e.eventually("huge explained", func() (bool, string) {
		p, err := e.pods.Get(e.ctx, "demo", "huge")
		if err != nil {
			return false, err.Error()
		}
		rv = p.GetMetadata().GetResourceVersion()
		return p.GetStatus().GetSchedulingExplanation() == "0/1 hosts available: 1 insufficient cpu", p.GetStatus().GetSchedulingExplanation()
	})
	attempts := s.Stats().Unschedulable
	// Ten initial backoffs pass with nothing changing (checking that
	// something does not happen needs a span of time).
	testutil.Consistently(t, time.Second, "retried without a cluster change", func() (bool, string) {
		got := s.Stats().Unschedulable
		return got == attempts, fmt.Sprintf("%d attempts, then %d", attempts, got)
	})
	if p, err := e.pods.Get(e.ctx, "demo", "huge"); err != nil || p.GetMetadata().GetResourceVersion() != rv {
		t.Fatalf("status rewritten without a change (err %v)", err)
	}
	// A bigger host arrives: the pod is retried and placed.
	if err := e.fleet.AddHost(e.ctx, sim.HostConfig{Name: "h1", CPUMillis: 4000}); err != nil {
		t.Fatal(err)
	}
	e.eventually("huge placed on h1", func() (bool, string) {
		p, err := e.pods.Get(e.ctx, "demo", "huge")
		return err == nil && p.GetSpec().GetNodeName() == "h1", fmt.Sprint(err)
	})
}

// The scheduler, as system:scheduler (RBAC applies), records a
// FailedScheduling Event per failed attempt, folded into one object whose
// count follows the attempts, and a Scheduled Event naming the host.
func TestSchedulerRecordsEvents(t *testing.T) {
	api := apiservertest.StartReplica(t)
	e := startOn(t, api.Client(t), []sim.HostConfig{{Name: "h0", CPUMillis: 1000}})
	s, err := scheduler.New(scheduler.Config{Client: api.ClientAs(t, grpcserver.UserScheduler), Identity: "s1", LeaseDuration: 2 * time.Second,
		BackoffInitial: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond, EventInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.run(s)
	e.createPod("huge", nil, "2", "64Mi")
	const why = "0/1 hosts available: 1 insufficient cpu"
	events := client.For[*corev1.Event](e.c)
	eventsOf := func(reason string) ([]*corev1.Event, error) {
		list, _, err := events.ListAll(e.ctx, client.ListOptions{Namespace: "demo", FieldSelector: "involvedObject.name=huge,reason=" + reason})
		return list, err
	}
	// Each change of the host retries the pod, with the same explanation.
	for round := 1; round <= 4; round++ {
		before := s.Stats().Unschedulable
		if round > 1 {
			h, err := e.hosts.Get(e.ctx, "", "h0")
			if err != nil {
				t.Fatal(err)
			}
			h.Metadata.Labels["round"] = fmt.Sprint(round)
			if _, err := e.hosts.Update(e.ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		e.eventually(fmt.Sprintf("attempt %d", round), func() (bool, string) {
			n := s.Stats().Unschedulable
			return n > before, fmt.Sprintf("%d attempts", n)
		})
	}
	e.eventually("one FailedScheduling Event counting every attempt", func() (bool, string) {
		list, err := eventsOf(scheduler.ReasonFailedScheduling)
		if err != nil || len(list) != 1 {
			return false, fmt.Sprintf("%d Events, err %v", len(list), err)
		}
		ev, attempts := list[0], s.Stats().Unschedulable
		return ev.GetCount() == int32(attempts) && attempts >= 4, fmt.Sprintf("count %d, %d attempts", ev.GetCount(), attempts)
	})
	list, err := eventsOf(scheduler.ReasonFailedScheduling)
	if err != nil {
		t.Fatal(err)
	}
	if ev := list[0]; ev.GetType() != "Warning" || ev.GetMessage() != why || ev.GetSource().GetComponent() != "scheduler" || ev.GetInvolvedObject().GetKind() != "Pod" {
		t.Fatalf("FailedScheduling event: %v", ev)
	}

	if err := e.fleet.AddHost(e.ctx, sim.HostConfig{Name: "h1", CPUMillis: 4000}); err != nil {
		t.Fatal(err)
	}
	e.eventually("a Scheduled Event naming h1", func() (bool, string) {
		list, err := eventsOf(scheduler.ReasonScheduled)
		if err != nil || len(list) != 1 {
			return false, fmt.Sprintf("%d Events, err %v", len(list), err)
		}
		ev := list[0]
		return ev.GetType() == "Normal" && ev.GetMessage() == "Successfully assigned demo/huge to h1" && ev.GetSource().GetComponent() == "scheduler", ev.String()
	})
}
