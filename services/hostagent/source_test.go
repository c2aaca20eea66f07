package hostagent

import (
	"testing"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func cachePod(uid string, rv int64, node string) *corev1.Pod {
	return &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Namespace: "demo", Name: "web", Uid: uid, ResourceVersion: rv},
		Spec:     &corev1.PodSpec{NodeName: node},
	}
}

// The agent's pod cache takes its own writes at once, never goes back to
// an older version, never brings back a pod the watch deleted, and the
// watch's echo of its own last write (only that) triggers no reconcile.
func TestPodCacheAndEchoes(t *testing.T) {
	a := &Agent{
		cfg: Config{HostName: "h1"}, kicks: newKicker(), seen: map[controller.Request]*corev1.Pod{}, echoes: map[controller.Request]int64{},
		writing: map[controller.Request]int{}, held: map[controller.Request][]int64{},
	}
	key := controller.Request{Namespace: "demo", Name: "web"}
	wrote := func(p *corev1.Pod) { // an own write, answered before its echo
		a.beginWrite(keyOf(p))
		a.endWrite(keyOf(p), p)
	}
	ev := func(typ corev1.EventType, p *corev1.Pod) client.Event[*corev1.Pod] {
		return client.Event[*corev1.Pod]{Type: typ, Object: p}
	}
	rvOf := func() int64 {
		t.Helper()
		p, ok := a.cachedPod(key)
		if !ok {
			return 0
		}
		return p.GetMetadata().GetResourceVersion()
	}

	if own := a.remember(ev(corev1.EventType_EVENT_TYPE_ADDED, cachePod("u1", 10, "h1"))); own || rvOf() != 10 {
		t.Fatalf("added: own=%v rv=%d", own, rvOf())
	}
	wrote(cachePod("u1", 12, "h1")) // e.g. the finalizer
	if rvOf() != 12 {
		t.Fatalf("own write not cached: rv=%d", rvOf())
	}
	// Someone else's change between: reconciled, and the cache keeps 12
	// until the watch catches up.
	if own := a.remember(ev(corev1.EventType_EVENT_TYPE_MODIFIED, cachePod("u1", 11, "h1"))); own || rvOf() != 12 {
		t.Fatalf("older event: own=%v rv=%d", own, rvOf())
	}
	if own := a.remember(ev(corev1.EventType_EVENT_TYPE_MODIFIED, cachePod("u1", 12, "h1"))); !own {
		t.Fatal("echo of the agent's own write was not recognised")
	}
	if own := a.remember(ev(corev1.EventType_EVENT_TYPE_MODIFIED, cachePod("u1", 12, "h1"))); own {
		t.Fatal("an echo counted twice")
	}
	if own := a.remember(ev(corev1.EventType_EVENT_TYPE_MODIFIED, cachePod("u1", 15, "h1"))); own || rvOf() != 15 {
		t.Fatalf("newer event: own=%v rv=%d", own, rvOf())
	}
	// Under load the echo comes before the write's answer: held, then
	// dropped as the echo; anything else held is reconciled.
	kicked := func() bool {
		a.kicks.mu.Lock()
		defer a.kicks.mu.Unlock()
		k := a.kicks.pending[key]
		delete(a.kicks.pending, key)
		return k
	}
	a.beginWrite(key)
	if own := a.remember(ev(corev1.EventType_EVENT_TYPE_MODIFIED, cachePod("u1", 17, "h1"))); !own {
		t.Fatal("a change during an own write was not held")
	}
	a.endWrite(key, cachePod("u1", 17, "h1"))
	if kicked() || rvOf() != 17 {
		t.Fatalf("the early echo of an own write was reconciled (rv %d)", rvOf())
	}
	if own := a.remember(ev(corev1.EventType_EVENT_TYPE_MODIFIED, cachePod("u1", 18, "h1"))); own {
		t.Fatal("a change after the write counted as its echo")
	}
	a.beginWrite(key)
	a.remember(ev(corev1.EventType_EVENT_TYPE_MODIFIED, cachePod("u1", 19, "h1"))) // someone else's
	a.endWrite(key, cachePod("u1", 20, "h1"))
	if !kicked() {
		t.Fatal("someone else's change during an own write was not reconciled")
	}
	a.remember(ev(corev1.EventType_EVENT_TYPE_MODIFIED, cachePod("u1", 20, "h1"))) // the echo, late
	a.beginWrite(key)
	a.remember(ev(corev1.EventType_EVENT_TYPE_MODIFIED, cachePod("u1", 21, "h1")))
	a.endWrite(key, nil) // the write failed
	if !kicked() {
		t.Fatal("a change during a failed write was not reconciled")
	}
	// Deleted: a late result of an own write does not bring it back.
	a.remember(ev(corev1.EventType_EVENT_TYPE_DELETED, cachePod("u1", 16, "h1")))
	wrote(cachePod("u1", 14, "h1"))
	if _, ok := a.cachedPod(key); ok {
		t.Fatal("a deleted pod came back into the cache")
	}
	// Recreated under the same name: the new pod replaces the old one
	// whatever the versions, and the old one's writes do not touch it.
	a.remember(ev(corev1.EventType_EVENT_TYPE_ADDED, cachePod("u2", 20, "h1")))
	wrote(cachePod("u1", 30, "h1"))
	if p, _ := a.cachedPod(key); p.GetMetadata().GetUid() != "u2" || rvOf() != 20 {
		t.Fatalf("cache after recreate: %v", p.GetMetadata())
	}
	// The cached copy is the caller's to change.
	p, _ := a.cachedPod(key)
	p.Metadata.Name = "changed"
	if q, _ := a.cachedPod(key); q.GetMetadata().GetName() != "web" {
		t.Fatal("cachedPod returned the cache's own object")
	}
}
