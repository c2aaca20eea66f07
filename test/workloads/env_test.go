package workloads_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/controllers"
	"github.com/openpacific/pacific/services/hostagent/sim"
	"github.com/openpacific/pacific/services/scheduler"
)

// Shortened host lifecycle: a lost host is Unknown after 1s without a
// lease renewal and its pods are evicted 2s later.
const (
	monitorGrace    = time.Second
	evictionTimeout = 2 * time.Second
)

type env struct {
	t     *testing.T
	ctx   context.Context
	c     *client.Client
	fleet *sim.Fleet
}

// start runs an API server, the controllers, a scheduler and n simulated
// hosts h1..hn.
func start(t *testing.T, n int) *env {
	t.Helper()
	c := apiservertest.StartReplica(t).Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	fleet, err := sim.New(sim.Config{Client: c, Logger: discardLogger(), RenewInterval: 100 * time.Millisecond, LeaseDuration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var hosts []sim.HostConfig
	for i := 1; i <= n; i++ {
		hosts = append(hosts, sim.HostConfig{Name: fmt.Sprintf("h%d", i)})
	}
	if err := fleet.AddHosts(ctx, hosts); err != nil {
		t.Fatal(err)
	}
	sched, err := scheduler.New(scheduler.Config{Client: c, Logger: discardLogger(), Identity: "test", LeaseDuration: 2 * time.Second, BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctrl := controllers.New(controllers.Config{Client: c, Logger: discardLogger(), HostMonitorGrace: monitorGrace, PodEvictionTimeout: evictionTimeout})
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
	if _, err := client.For[*corev1.Namespace](c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "demo"}}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, c: c, fleet: fleet}
}

func (e *env) eventually(what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	last := ""
	for time.Now().Before(deadline) && e.ctx.Err() == nil {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		select {
		case <-e.ctx.Done():
		case <-time.After(25 * time.Millisecond):
		}
	}
	e.t.Fatalf("%s: not reached in time (last: %s)", what, last)
}

// web is the acceptance Deployment with required anti-affinity across
// hosts and the given rolling update bounds.
func web(replicas int32, surge, unavailable any) *corev1.Deployment {
	labels := map[string]string{"app": "web"}
	return &corev1.Deployment{
		Metadata: &corev1.ObjectMeta{Name: "web", Namespace: "demo"},
		Spec: &corev1.DeploymentSpec{
			Replicas: proto.Int32(replicas),
			Selector: &corev1.LabelSelector{MatchLabels: labels},
			Strategy: &corev1.DeploymentStrategy{RollingUpdate: &corev1.RollingUpdateDeployment{MaxSurge: value(surge), MaxUnavailable: value(unavailable)}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &corev1.ObjectMeta{Labels: labels},
				Spec: &corev1.PodSpec{
					Containers: []*corev1.Container{{
						Name: "main", Image: "127.0.0.1:5000/busybox:1", Command: []string{"sh", "-c", "sleep 3600"},
						Resources: &corev1.ResourceRequirements{Requests: map[string]string{"cpu": "100m", "memory": "64Mi"}},
					}},
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
						TopologyKey: "pacific.dev/hostname", LabelSelector: &corev1.LabelSelector{MatchLabels: labels},
					}}}},
				},
			},
		},
	}
}

func value(v any) *structpb.Value {
	switch v := v.(type) {
	case int:
		return structpb.NewNumberValue(float64(v))
	case string:
		return structpb.NewStringValue(v)
	}
	return nil
}

func (e *env) create(d *corev1.Deployment) {
	e.t.Helper()
	if _, err := client.For[*corev1.Deployment](e.c).Create(e.ctx, d); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deployment(name string) *corev1.Deployment {
	e.t.Helper()
	d, err := client.For[*corev1.Deployment](e.c).Get(e.ctx, "demo", name)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) waitComplete(name string) {
	e.t.Helper()
	e.eventually("deployment "+name+" rolled out", func() (bool, string) {
		d := e.deployment(name)
		return apis.DeploymentComplete(d), fmt.Sprint(d.GetStatus())
	})
}

// pods returns the app's pods that are not being deleted, by name.
func (e *env) pods(app string) map[string]*corev1.Pod {
	e.t.Helper()
	list, _, err := client.For[*corev1.Pod](e.c).ListAll(e.ctx, client.ListOptions{Namespace: "demo", LabelSelector: "app=" + app})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]*corev1.Pod{}
	for _, p := range list {
		if apis.PodActive(p) {
			out[p.GetMetadata().GetName()] = p
		}
	}
	return out
}

// readyWatch follows the app's pods through a Watch from now on and
// fails the test the moment fewer than min are Ready.
type readyWatch struct {
	pods    map[string]*corev1.Pod
	minSeen int
	errs    chan error
	stop    func()
}

func (e *env) watchReady(app string, want int) *readyWatch {
	e.t.Helper()
	w, err := client.For[*corev1.Pod](e.c).Watch(e.ctx, client.WatchOptions{Namespace: "demo", LabelSelector: "app=" + app, Bookmarks: true})
	if err != nil {
		e.t.Fatal(err)
	}
	rw := &readyWatch{pods: map[string]*corev1.Pod{}, errs: make(chan error, 1), stop: w.Stop}
	initial := true
	go func() {
		for ev := range w.Events() {
			switch ev.Type {
			case corev1.EventType_EVENT_TYPE_BOOKMARK:
				initial = false
				continue
			case corev1.EventType_EVENT_TYPE_DELETED:
				delete(rw.pods, ev.Object.GetMetadata().GetName())
			default:
				rw.pods[ev.Object.GetMetadata().GetName()] = ev.Object
			}
			if initial {
				continue
			}
			ready := 0
			for _, p := range rw.pods {
				if ok, _ := apis.PodReady(p); ok && apis.PodActive(p) {
					ready++
				}
			}
			if ready < want {
				select {
				case rw.errs <- fmt.Errorf("only %d Ready pods after %s %s (want at least %d)", ready, ev.Type, ev.Object.GetMetadata().GetName(), want):
				default:
				}
			}
		}
	}()
	return rw
}

func (rw *readyWatch) check(t *testing.T) {
	t.Helper()
	select {
	case err := <-rw.errs:
		t.Fatal(err)
	default:
	}
}

// discardLogger drops the logs of the services a test runs.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
