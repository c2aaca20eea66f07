package controllers_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/controllers"
)

func (e *env) deployment(name string) *corev1.Deployment {
	e.t.Helper()
	d, err := client.For[*corev1.Deployment](e.c).Get(e.ctx, "demo", name)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// update applies change to the latest Deployment, retrying conflicts with
// the controller's own writes.
func (e *env) update(name string, change func(*corev1.Deployment)) {
	e.t.Helper()
	for range 10 {
		d := e.deployment(name)
		change(d)
		_, err := client.For[*corev1.Deployment](e.c).Update(e.ctx, d)
		if client.IsConflict(err) {
			continue
		}
		if err != nil {
			e.t.Fatal(err)
		}
		return
	}
	e.t.Fatal("update: too many conflicts")
}

func (e *env) waitComplete(name string) *corev1.Deployment {
	e.t.Helper()
	var d *corev1.Deployment
	e.eventually("deployment "+name+" complete", func() (bool, string) {
		d = e.deployment(name)
		p := apis.FindCondition(d.GetStatus().GetConditions(), apis.DeploymentProgressing)
		return apis.DeploymentComplete(d) && p.GetReason() == apis.ReasonNewReplicaSetAvailable, fmt.Sprintf("%v", d.GetStatus())
	})
	return d
}

func (e *env) replicaSets(app string) []*corev1.ReplicaSet {
	e.t.Helper()
	list, _, err := client.For[*corev1.ReplicaSet](e.c).ListAll(e.ctx, client.ListOptions{Namespace: "demo", LabelSelector: "app=" + app})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func activePods(pods []*corev1.Pod) (active, ready int, images map[string]int) {
	images = map[string]int{}
	for _, p := range pods {
		if !apis.PodActive(p) {
			continue
		}
		active++
		images[p.GetSpec().GetContainers()[0].GetImage()]++
		if ok, _ := apis.PodReady(p); ok {
			ready++
		}
	}
	return active, ready, images
}

func TestDeploymentRolloutUndoScalePause(t *testing.T) {
	e := start(t, controllers.Config{})
	e.readyPods()
	d := deploymentOf("web", 3, "busybox:1")
	d.Spec.Strategy = &corev1.DeploymentStrategy{RollingUpdate: &corev1.RollingUpdateDeployment{MaxSurge: structpb.NewNumberValue(1), MaxUnavailable: structpb.NewNumberValue(0)}}
	if _, err := client.For[*corev1.Deployment](e.c).Create(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	got := e.waitComplete("web")
	if got.GetMetadata().GetAnnotations()[apis.RevisionAnnotation] != "1" || got.GetStatus().GetReadyReplicas() != 3 {
		t.Fatalf("after create: annotations %v status %v", got.GetMetadata().GetAnnotations(), got.GetStatus())
	}
	if a := apis.FindCondition(got.GetStatus().GetConditions(), apis.DeploymentAvailable); a.GetStatus() != "True" {
		t.Fatalf("Available = %v", a)
	}

	// Roll out a new image with surge 1, unavailable 0 and watch every pod
	// change: never more than 4 pods, never fewer than 3 ready.
	w, err := client.For[*corev1.Pod](e.c).Watch(e.ctx, client.WatchOptions{Namespace: "demo", LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	e.update("web", func(d *corev1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "busybox:2" })
	pods := map[string]*corev1.Pod{}
	for ev := range w.Events() {
		switch ev.Type {
		case corev1.EventType_EVENT_TYPE_BOOKMARK:
			continue
		case corev1.EventType_EVENT_TYPE_DELETED:
			delete(pods, ev.Object.GetMetadata().GetName())
		default:
			pods[ev.Object.GetMetadata().GetName()] = ev.Object
		}
		list := make([]*corev1.Pod, 0, len(pods))
		for _, p := range pods {
			list = append(list, p)
		}
		active, ready, images := activePods(list)
		if active > 4 {
			t.Fatalf("%d active pods exceed replicas+maxSurge=4: %v", active, images)
		}
		if ready < 3 && len(pods) >= 3 && images["busybox:1"]+images["busybox:2"] >= 3 {
			// Counted only once the initial list has arrived.
			t.Fatalf("%d ready pods, below replicas-maxUnavailable=3: %v", ready, images)
		}
		if images["busybox:2"] == 3 && images["busybox:1"] == 0 && ready == 3 {
			break
		}
	}
	got = e.waitComplete("web")
	if got.GetMetadata().GetAnnotations()[apis.RevisionAnnotation] != "2" {
		t.Fatalf("revision after rollout = %q, want 2", got.GetMetadata().GetAnnotations()[apis.RevisionAnnotation])
	}
	if rss := e.replicaSets("web"); len(rss) != 2 {
		t.Fatalf("%d replica sets, want 2 (history)", len(rss))
	}

	// Undo: the template of revision 1 comes back; its ReplicaSet is reused
	// as revision 3.
	var rev1 *corev1.ReplicaSet
	for _, rs := range e.replicaSets("web") {
		if rs.GetMetadata().GetAnnotations()[apis.RevisionAnnotation] == "1" {
			rev1 = rs
		}
	}
	if rev1 == nil {
		t.Fatal("no replica set of revision 1")
	}
	e.update("web", func(d *corev1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = rev1.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage()
	})
	got = e.waitComplete("web")
	if rev := got.GetMetadata().GetAnnotations()[apis.RevisionAnnotation]; rev != "3" {
		t.Fatalf("revision after undo = %q, want 3", rev)
	}
	e.eventually("only busybox:1 pods after undo", func() (bool, string) {
		_, _, images := activePods(e.pods("app=web"))
		return images["busybox:1"] == 3 && len(images) == 1, fmt.Sprint(images)
	})
	if rss := e.replicaSets("web"); len(rss) != 2 {
		t.Fatalf("%d replica sets after undo, want 2 (revision 1 reused)", len(rss))
	}

	// Scale.
	e.update("web", func(d *corev1.Deployment) { d.Spec.Replicas = proto.Int32(5) })
	e.waitComplete("web")
	e.eventually("5 pods", func() (bool, string) {
		active, ready, _ := activePods(e.pods("app=web"))
		return active == 5 && ready == 5, fmt.Sprintf("%d active, %d ready", active, ready)
	})

	// Pause: a template change starts no rollout until resumed.
	e.update("web", func(d *corev1.Deployment) { d.Spec.Paused = true })
	e.update("web", func(d *corev1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "busybox:3" })
	e.eventually("paused condition", func() (bool, string) {
		d := e.deployment("web")
		p := apis.FindCondition(d.GetStatus().GetConditions(), apis.DeploymentProgressing)
		return p.GetReason() == apis.ReasonDeploymentPaused && d.GetStatus().GetObservedGeneration() == d.GetMetadata().GetGeneration(), fmt.Sprint(p)
	})
	if _, _, images := activePods(e.pods("app=web")); images["busybox:3"] != 0 {
		t.Fatalf("paused deployment rolled out: %v", images)
	}
	e.update("web", func(d *corev1.Deployment) { d.Spec.Paused = false })
	e.waitComplete("web")
	e.eventually("busybox:3 rolled out after resume", func() (bool, string) {
		_, _, images := activePods(e.pods("app=web"))
		return images["busybox:3"] == 5 && len(images) == 1, fmt.Sprint(images)
	})
}

func TestDeploymentProgressDeadlineAndHistoryLimit(t *testing.T) {
	e := start(t, controllers.Config{})
	e.readyPods()
	d := deploymentOf("api", 2, "busybox:1")
	d.Spec.RevisionHistoryLimit = proto.Int32(1)
	d.Spec.ProgressDeadlineSeconds = proto.Int32(1)
	if _, err := client.For[*corev1.Deployment](e.c).Create(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.waitComplete("api")
	for _, img := range []string{"busybox:2", "busybox:3"} {
		e.update("api", func(d *corev1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = img })
		e.waitComplete("api")
	}
	e.eventually("history trimmed to 1 old replica set", func() (bool, string) {
		rss := e.replicaSets("api")
		return len(rss) == 2, fmt.Sprintf("%d replica sets", len(rss))
	})

	e.update("api", func(d *corev1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "broken:1" })
	e.eventually("progress deadline exceeded", func() (bool, string) {
		p := apis.FindCondition(e.deployment("api").GetStatus().GetConditions(), apis.DeploymentProgressing)
		return p.GetStatus() == "False" && p.GetReason() == apis.ReasonProgressDeadlineExceeded, fmt.Sprint(p)
	})
	// The old pods keep serving: maxUnavailable 25% of 2 rounds down to 0.
	_, ready, images := activePods(e.pods("app=api"))
	if ready != 2 || images["busybox:3"] != 2 {
		t.Fatalf("a stuck rollout took serving pods away: %d ready, %v", ready, images)
	}
}
