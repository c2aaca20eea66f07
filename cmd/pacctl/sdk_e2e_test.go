package main

// End-to-end tests of the SDK client (sdk/client) against a real API
// server. They live here because the sdk module cannot import the server.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

func newClient(t *testing.T, r *apiservertest.Replica) *client.Client {
	t.Helper()
	return r.Client(t)
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: name, Labels: labels}}
}

func TestSDKTypedClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newClient(t, apiservertest.StartReplica(t))
	nss := client.For[*corev1.Namespace](c)

	created, err := nss.Create(ctx, namespace("a", map[string]string{"team": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if created.GetMetadata().GetUid() == "" || created.GetMetadata().GetResourceVersion() == 0 || created.GetKind() != "Namespace" {
		t.Fatalf("created object lacks server fields: %v", created)
	}
	if _, err := nss.Create(ctx, namespace("a", nil)); !client.IsAlreadyExists(err) {
		t.Fatalf("second create: %v", err)
	}
	if _, err := nss.Get(ctx, "", "zzz"); !client.IsNotFound(err) || client.Message(err) != `namespaces "zzz" not found` {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := nss.Create(ctx, namespace("Bad_Name", nil)); !client.IsInvalid(err) || len(client.FieldViolations(err)) == 0 || client.FieldViolations(err)[0].Field != "metadata.name" {
		t.Fatalf("invalid name: %v (violations %v)", err, client.FieldViolations(err))
	}
	got, err := nss.Get(ctx, "", "a", client.Stale())
	if err != nil || got.GetMetadata().GetUid() != created.GetMetadata().GetUid() {
		t.Fatalf("stale get: %v, %v", got, err)
	}

	// Optimistic concurrency.
	got.Spec = &corev1.NamespaceSpec{Description: "v2"}
	updated, err := nss.Update(ctx, got)
	if err != nil || updated.GetMetadata().GetGeneration() != 2 {
		t.Fatalf("update: %v, %v", updated, err)
	}
	got.Spec.Description = "stale"
	if _, err := nss.Update(ctx, got); !client.IsConflict(err) {
		t.Fatalf("stale update: %v", err)
	}

	// Pages and selectors.
	for i := range 5 {
		if _, err := nss.Create(ctx, namespace(fmt.Sprintf("p%d", i), map[string]string{"page": "yes"})); err != nil {
			t.Fatal(err)
		}
	}
	page, err := nss.List(ctx, client.ListOptions{LabelSelector: "page=yes", Limit: 2})
	if err != nil || len(page.Items) != 2 || page.Continue == "" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	all, rev, err := nss.ListAll(ctx, client.ListOptions{LabelSelector: "page=yes", Limit: 2})
	if err != nil || len(all) != 5 || rev == 0 {
		t.Fatalf("ListAll: %d items, rev %d, %v", len(all), rev, err)
	}

	// Apply: unchanged, configured; the server's finalizer survives.
	_, res, err := nss.Apply(ctx, namespace("a", map[string]string{"team": "x"}))
	if err != nil || res != client.Configured { // the description goes
		t.Fatalf("apply 1: %v %v", res, err)
	}
	out, res, err := nss.Apply(ctx, namespace("a", map[string]string{"team": "x"}))
	if err != nil || res != client.Unchanged || len(out.GetMetadata().GetFinalizers()) == 0 {
		t.Fatalf("apply 2: %v %v %v", res, out, err)
	}
	// Dynamic sees the same objects.
	dyn := c.Dynamic(apis.GVK{APIVersion: "core.pacific.dev/v1", Kind: "Namespace"})
	obj, err := dyn.Get(ctx, "", "a")
	if err != nil || obj.(*corev1.Namespace).GetMetadata().GetLabels()["team"] != "x" {
		t.Fatalf("dynamic get: %v %v", obj, err)
	}
	if err := nss.Delete(ctx, "", "p0", client.Precondition(1)); !client.IsConflict(err) {
		t.Fatalf("delete with a stale precondition: %v", err)
	}
	if err := nss.Delete(ctx, "", "p0"); err != nil {
		t.Fatal(err)
	}
}

// TestSDKWatchResumesAcrossRestart stops the only API server replica while
// a watch is open and starts it again on the same address and data: the
// watcher reconnects by itself and delivers what happened meanwhile,
// once.
func TestSDKWatchResumesAcrossRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := apiservertest.StartCluster(t, 1, apiservertest.Options{Tweak: func(cfg *apiserver.Config) {
		cfg.ShutdownTimeout = 500 * time.Millisecond // do not wait for our watch to end
	}})[0]
	c := newClient(t, r)
	nss := client.For[*corev1.Namespace](c)
	if _, err := nss.Create(ctx, namespace("before", nil)); err != nil {
		t.Fatal(err)
	}
	list, err := nss.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := nss.Watch(ctx, client.WatchOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := nss.Create(ctx, namespace("one", nil)); err != nil {
		t.Fatal(err)
	}
	expect := func(name string) {
		t.Helper()
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("watch ended: %v", w.Err())
			}
			if ev.Type != corev1.EventType_EVENT_TYPE_ADDED || ev.Object.GetMetadata().GetName() != name {
				t.Fatalf("got %v %s, want ADDED %s", ev.Type, ev.Object.GetMetadata().GetName(), name)
			}
		case <-ctx.Done():
			t.Fatalf("no event for %s", name)
		}
	}
	expect("one")

	r.Stop()
	r2 := apiservertest.Run(t, r.Config)
	if err := r2.Store().WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := nss.Create(ctx, namespace("two", nil)); err != nil {
		t.Fatal(err)
	}
	expect("two")
	select {
	case ev := <-w.Events():
		t.Fatalf("unexpected event after resume: %v %s", ev.Type, ev.Object.GetMetadata().GetName())
	default:
	}
	if err := w.Err(); err != nil {
		t.Fatalf("watch failed: %v", err)
	}

}

// TestSDKWatchRelist watches from a revision that has left the server's
// event window: the watch ends with ErrRelist, and a relist + watch works.
func TestSDKWatchRelist(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := apiservertest.StartCluster(t, 1, apiservertest.Options{Tweak: func(cfg *apiserver.Config) {
		cfg.EventWindow = 4
	}})[0]
	nss := client.For[*corev1.Namespace](newClient(t, r))
	for i := range 10 {
		if _, err := nss.Create(ctx, namespace(fmt.Sprintf("n%d", i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	w, err := nss.Watch(ctx, client.WatchOptions{ResourceVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range w.Events() {
	}
	if !errors.Is(w.Err(), client.ErrRelist) || !client.IsRelist(w.Err()) {
		t.Fatalf("watch from a compacted revision ended with %v, want ErrRelist", w.Err())
	}
}
