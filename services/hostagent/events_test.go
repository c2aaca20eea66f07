package hostagent

import (
	"context"
	"testing"
	"time"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func testPodRef(name, uid string) *corev1.ObjectReference {
	return &corev1.ObjectReference{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: "demo", Name: name, Uid: uid}
}

// Occurrences with the same object, type, reason and message merge into
// one pending event with a count; anything different is its own event.
func TestRecorderAggregates(t *testing.T) {
	r := newRecorder(nil, "h1", testLogger())
	t0 := time.Unix(100, 0)
	a, b := testPodRef("a", "ua"), testPodRef("b", "ub")
	steps := []struct {
		ref          *corev1.ObjectReference
		typ, reason  string
		msg          string
		wantPending  int
		wantCountOf0 int32
	}{
		{a, apis.EventWarning, ReasonBackOff, "Back-off", 1, 1},
		{a, apis.EventWarning, ReasonBackOff, "Back-off", 1, 2},
		{a, apis.EventWarning, ReasonBackOff, "Back-off", 1, 3},
		{a, apis.EventNormal, ReasonBackOff, "Back-off", 2, 3},
		{a, apis.EventWarning, ReasonFailed, "Back-off", 3, 3},
		{a, apis.EventWarning, ReasonBackOff, "other", 4, 3},
		{b, apis.EventWarning, ReasonBackOff, "Back-off", 5, 3},
	}
	for i, s := range steps {
		if !r.add(s.ref, s.typ, s.reason, s.msg, t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("step %d dropped", i)
		}
		if len(r.pending) != s.wantPending {
			t.Fatalf("step %d: %d pending, want %d", i, len(r.pending), s.wantPending)
		}
	}
	got := r.take()
	if len(got) != 5 || len(r.pending) != 0 {
		t.Fatalf("take returned %d, left %d", len(got), len(r.pending))
	}
	first := got[0]
	if first.count != 3 || !first.first.Equal(t0) || !first.last.Equal(t0.Add(2*time.Second)) {
		t.Errorf("first event: count %d first %v last %v", first.count, first.first, first.last)
	}
	names := map[string]bool{}
	for _, p := range got {
		names[eventName(p.ref, p.key)] = true
	}
	if len(names) != 5 {
		t.Errorf("distinct events share names: %v", names)
	}
	if eventName(a, got[0].key) != eventName(testPodRef("a", "ua"), got[0].key) {
		t.Errorf("event names are not deterministic")
	}
}

func TestRecorderBoundsPending(t *testing.T) {
	r := newRecorder(nil, "h1", testLogger())
	for i := range maxPendingEvents {
		if !r.add(testPodRef("a", "ua"), apis.EventNormal, ReasonPulled, string(rune('a'+i%26))+time.Duration(i).String(), time.Now()) {
			t.Fatalf("event %d dropped", i)
		}
	}
	if r.add(testPodRef("a", "ua"), apis.EventNormal, ReasonPulled, "one too many", time.Now()) {
		t.Errorf("a new event beyond the bound was kept")
	}
	if !r.add(testPodRef("a", "ua"), apis.EventNormal, ReasonPulled, "a0s", time.Now()) {
		t.Errorf("an occurrence of a pending event must still be counted")
	}
}

// Against a real API server: repeated events become one object whose count
// grows, across flushes and across a restarted recorder (agent restart).
func TestRecorderWritesAggregatedEvents(t *testing.T) {
	c := startAPI(t)
	createNamespace(t, c, "demo")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := client.For[*corev1.Event](c)
	ref := testPodRef("web", "uid-1")
	ref.FieldPath = fieldPath("main")

	r := newRecorder(events, "h1", testLogger())
	for range 3 {
		r.Eventf(ref, apis.EventWarning, ReasonBackOff, "Back-off restarting failed container %s", "main")
	}
	r.Eventf(ref, apis.EventNormal, ReasonPulled, "Container image %q already present on machine", "busybox")
	r.flush(ctx)
	for range 2 {
		r.Eventf(ref, apis.EventWarning, ReasonBackOff, "Back-off restarting failed container %s", "main")
	}
	r.flush(ctx)
	r2 := newRecorder(events, "h1", testLogger())
	r2.Eventf(ref, apis.EventWarning, ReasonBackOff, "Back-off restarting failed container %s", "main")
	r2.flush(ctx)

	list, _, err := events.ListAll(ctx, client.ListOptions{Namespace: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("got %d events, want 2: %v", len(list), list)
	}
	counts := map[string]*corev1.Event{}
	for _, ev := range list {
		counts[ev.GetReason()] = ev
	}
	back := counts[ReasonBackOff]
	if back.GetCount() != 6 || back.GetType() != apis.EventWarning || back.GetMessage() != "Back-off restarting failed container main" {
		t.Errorf("BackOff event: %v", back)
	}
	if back.GetInvolvedObject().GetUid() != "uid-1" || back.GetInvolvedObject().GetFieldPath() != "spec.containers{main}" ||
		back.GetSource().GetComponent() != "hostagent" || back.GetSource().GetHost() != "h1" {
		t.Errorf("BackOff event reference/source: %v %v", back.GetInvolvedObject(), back.GetSource())
	}
	if !back.GetLastTimestamp().AsTime().After(back.GetFirstTimestamp().AsTime()) {
		t.Errorf("lastTimestamp %v not after firstTimestamp %v", back.GetLastTimestamp().AsTime(), back.GetFirstTimestamp().AsTime())
	}
	if counts[ReasonPulled].GetCount() != 1 {
		t.Errorf("Pulled event: %v", counts[ReasonPulled])
	}
}

// While work is in progress, pending events wait for it to end, at most
// the given delay.
func TestRecorderWaitsForQuiet(t *testing.T) {
	r := newRecorder(nil, "h1", testLogger())
	ctx := context.Background()
	if !r.waitQuiet(ctx, time.Hour) {
		t.Fatal("idle recorder did not return at once")
	}
	done1, done2 := r.busy(), r.busy()
	returned := make(chan struct{})
	go func() { r.waitQuiet(ctx, time.Hour); close(returned) }()
	done1()
	select {
	case <-returned:
		t.Fatal("returned while work was still in progress")
	case <-time.After(50 * time.Millisecond):
	}
	done2()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("did not return once the work ended")
	}
	// Busy for longer than the delay: it gives up waiting.
	done := r.busy()
	defer done()
	start := time.Now()
	if !r.waitQuiet(ctx, 20*time.Millisecond) || time.Since(start) < 20*time.Millisecond {
		t.Fatal("waitQuiet did not wait out the delay")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if r.waitQuiet(cctx, time.Hour) {
		t.Fatal("waitQuiet reported quiet after its context ended")
	}
}
