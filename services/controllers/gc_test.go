package controllers_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/controllers"
)

func (e *env) createDeployment(name string, replicas int32) {
	e.t.Helper()
	if _, err := client.For[*corev1.Deployment](e.c).Create(e.ctx, deploymentOf(name, replicas, "busybox:1")); err != nil {
		e.t.Fatal(err)
	}
	e.waitComplete(name)
}

func TestGarbageCollectionBackground(t *testing.T) {
	e := start(t, controllers.Config{})
	e.readyPods()
	e.createDeployment("bg", 2)
	if err := client.For[*corev1.Deployment](e.c).Delete(e.ctx, "demo", "bg"); err != nil {
		t.Fatal(err)
	}
	e.eventually("replica sets and pods collected", func() (bool, string) {
		rss, pods := e.replicaSets("bg"), e.pods("app=bg")
		return len(rss) == 0 && len(pods) == 0, fmt.Sprintf("%d replica sets, %d pods", len(rss), len(pods))
	})
}

func TestGarbageCollectionForeground(t *testing.T) {
	e := start(t, controllers.Config{})
	e.readyPods()
	e.createDeployment("fg", 2)
	// A finalizer on one pod stands in for a host agent still stopping it:
	// the Deployment must stay until that pod is really gone.
	pods := e.pods("app=fg")
	held := pods[0]
	held.Metadata.Finalizers = append(held.Metadata.Finalizers, "test.pacific.dev/hold")
	if _, err := client.For[*corev1.Pod](e.c).Update(e.ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := client.For[*corev1.Deployment](e.c).Delete(e.ctx, "demo", "fg", client.Propagation(corev1.PropagationPolicy_PROPAGATION_POLICY_FOREGROUND)); err != nil {
		t.Fatal(err)
	}
	e.eventually("the held pod is terminating and the other gone", func() (bool, string) {
		pods := e.pods("app=fg")
		return len(pods) == 1 && pods[0].GetMetadata().GetDeletionTimestamp() != nil, fmt.Sprintf("%d pods", len(pods))
	})
	d, err := client.For[*corev1.Deployment](e.c).Get(e.ctx, "demo", "fg")
	if err != nil {
		t.Fatalf("the deployment went before its blocking pod: %v", err)
	}
	if !slices.Contains(d.GetMetadata().GetFinalizers(), apis.ForegroundDeletionFinalizer) {
		t.Fatalf("finalizers = %v", d.GetMetadata().GetFinalizers())
	}
	p, err := client.For[*corev1.Pod](e.c).Get(e.ctx, "demo", held.GetMetadata().GetName())
	if err != nil {
		t.Fatal(err)
	}
	p.Metadata.Finalizers = slices.DeleteFunc(p.Metadata.Finalizers, func(f string) bool { return f == "test.pacific.dev/hold" })
	if _, err := client.For[*corev1.Pod](e.c).Update(e.ctx, p); err != nil {
		t.Fatal(err)
	}
	e.eventually("deployment gone after its pods", func() (bool, string) {
		_, err := client.For[*corev1.Deployment](e.c).Get(e.ctx, "demo", "fg")
		return client.IsNotFound(err), fmt.Sprint(err)
	})
	if rss := e.replicaSets("fg"); len(rss) != 0 {
		t.Fatalf("%d replica sets left", len(rss))
	}
}

func TestGarbageCollectionOrphan(t *testing.T) {
	e := start(t, controllers.Config{})
	e.readyPods()
	e.createDeployment("or", 2)
	if err := client.For[*corev1.Deployment](e.c).Delete(e.ctx, "demo", "or", client.Propagation(corev1.PropagationPolicy_PROPAGATION_POLICY_ORPHAN)); err != nil {
		t.Fatal(err)
	}
	e.eventually("deployment gone", func() (bool, string) {
		_, err := client.For[*corev1.Deployment](e.c).Get(e.ctx, "demo", "or")
		return client.IsNotFound(err), fmt.Sprint(err)
	})
	rss := e.replicaSets("or")
	if len(rss) != 1 || len(rss[0].GetMetadata().GetOwnerReferences()) != 0 {
		t.Fatalf("replica sets after orphaning: %v", rss)
	}
	if pods := e.pods("app=or"); len(pods) != 2 {
		t.Fatalf("%d pods after orphaning, want 2 kept", len(pods))
	}
}
