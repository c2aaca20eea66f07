package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/controllers"
)

// env is a real API server with every controller running.
type env struct {
	t   *testing.T
	ctx context.Context
	c   *client.Client
}

func start(t *testing.T, cfg controllers.Config) *env {
	t.Helper()
	c := apiservertest.StartReplica(t).ClientAs(t, grpcserver.UserControllers)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cfg.Client = c
	m := controllers.New(cfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	e := &env{t: t, ctx: ctx, c: c}
	if _, err := client.For[*corev1.Namespace](c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "demo"}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// eventually polls cond until it holds or the deadline passes.
func (e *env) eventually(what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("%s: %v (last: %s)", what, e.ctx.Err(), last)
		case <-time.After(20 * time.Millisecond):
		}
	}
	e.t.Fatalf("%s: not reached in time (last: %s)", what, last)
}

func (e *env) pods(selector string) []*corev1.Pod {
	e.t.Helper()
	pods, _, err := client.For[*corev1.Pod](e.c).ListAll(e.ctx, client.ListOptions{Namespace: "demo", LabelSelector: selector})
	if err != nil {
		e.t.Fatal(err)
	}
	return pods
}

// readyPods stands in for the scheduler and the host agents, which these
// controller tests do not run (test/e2e and the sim-host tests do): it
// marks every pod Running and Ready unless its image contains "broken".
// It writes only pod status, as an agent would.
func (e *env) readyPods() {
	pods := client.For[*corev1.Pod](e.c)
	w, err := pods.Watch(e.ctx, client.WatchOptions{Namespace: "demo"})
	if err != nil {
		e.t.Fatal(err)
	}
	go func() {
		defer w.Stop()
		for ev := range w.Events() {
			p := ev.Object
			if ev.Type == corev1.EventType_EVENT_TYPE_DELETED || ev.Type == corev1.EventType_EVENT_TYPE_BOOKMARK || p.GetStatus().GetPhase() == apis.PodRunning {
				continue
			}
			if p.GetMetadata().GetDeletionTimestamp() != nil || strings.Contains(p.GetSpec().GetContainers()[0].GetImage(), "broken") {
				continue
			}
			next := proto.Clone(p).(*corev1.Pod)
			now := timestamppb.Now()
			next.Status = &corev1.PodStatus{Phase: apis.PodRunning, Conditions: []*corev1.Condition{{Type: "Ready", Status: "True", LastTransitionTime: now}}}
			_, _ = pods.UpdateStatus(e.ctx, next) // a conflict means a newer event follows
		}
	}()
}

func deploymentOf(name string, replicas int32, image string) *corev1.Deployment {
	return &corev1.Deployment{
		Metadata: &corev1.ObjectMeta{Name: name, Namespace: "demo"},
		Spec: &corev1.DeploymentSpec{
			Replicas: proto.Int32(replicas),
			Selector: &corev1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &corev1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "main", Image: image}}},
			},
		},
	}
}
