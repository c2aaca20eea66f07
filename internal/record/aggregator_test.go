package record

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

// fakeClock is the Aggregator's clock in these tests: what is due is
// then decided by the test, not by how fast the machine is.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}
func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func testPod(name, uid string) *corev1.Pod {
	return &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: name, Namespace: "demo", Uid: uid}}
}

// writeDue writes what take finds due, as Run does.
func (a *Aggregator) writeDue(t *testing.T) []*occurrences {
	t.Helper()
	due, _ := a.take()
	for _, o := range due {
		if err := a.write(t.Context(), o); err != nil {
			t.Fatalf("write %s %s: %v", o.key.name, o.key.reason, err)
		}
	}
	return due
}

func startEvents(t *testing.T) *client.Typed[*corev1.Event] {
	t.Helper()
	c := apiservertest.StartReplica(t).Client(t)
	if _, err := client.For[*corev1.Namespace](c).Create(t.Context(), &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "demo"}}); err != nil {
		t.Fatal(err)
	}
	return client.For[*corev1.Event](c)
}

func newTestAggregator(t *testing.T, events *client.Typed[*corev1.Event], clock *fakeClock, maxPending int) *Aggregator {
	t.Helper()
	a, err := NewAggregator(AggregatorConfig{Events: events, Component: "tester", MinInterval: 10 * time.Second, MaxPending: maxPending})
	if err != nil {
		t.Fatal(err)
	}
	a.now = clock.now
	return a
}

func eventsAbout(t *testing.T, events *client.Typed[*corev1.Event], pod string) []*corev1.Event {
	t.Helper()
	list, _, err := events.ListAll(t.Context(), client.ListOptions{Namespace: "demo", FieldSelector: "involvedObject.name=" + pod})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// Repeats fold into one Event object whose count grows; one pod and
// reason are written at most once per MinInterval; another recorder (a
// restarted scheduler) continues the same object.
func TestAggregatorFoldsRepeatsAndLimitsWrites(t *testing.T) {
	events := startEvents(t)
	clock := newFakeClock()
	a := newTestAggregator(t, events, clock, 0)
	pod := testPod("web", "uid-1")
	for range 3 {
		a.Eventf(pod, apis.EventWarning, "FailedScheduling", "0/%d hosts available", 4)
	}
	if due := a.writeDue(t); len(due) != 1 {
		t.Fatalf("%d writes for three repeats, want 1", len(due))
	}
	list := eventsAbout(t, events, "web")
	if len(list) != 1 {
		t.Fatalf("%d Events, want 1", len(list))
	}
	ev := list[0]
	if ev.GetCount() != 3 || ev.GetType() != apis.EventWarning || ev.GetReason() != "FailedScheduling" || ev.GetMessage() != "0/4 hosts available" ||
		ev.GetSource().GetComponent() != "tester" || ev.GetInvolvedObject().GetKind() != "Pod" || ev.GetInvolvedObject().GetUid() != "uid-1" {
		t.Fatalf("event: %v", ev)
	}
	first := ev.GetFirstTimestamp().AsTime()

	// Within MinInterval: nothing is written, whatever the message.
	clock.advance(time.Second)
	a.Eventf(pod, apis.EventWarning, "FailedScheduling", "0/4 hosts available")
	a.Eventf(pod, apis.EventWarning, "FailedScheduling", "0/5 hosts available")
	due, next := a.take()
	if len(due) != 0 || !next.Equal(clock.t.Add(9*time.Second)) {
		t.Fatalf("within the interval: %d due, next at %v (now %v)", len(due), next, clock.t)
	}
	// Another reason about the same pod is not held back by it.
	a.Eventf(pod, apis.EventNormal, "Scheduled", "Successfully assigned demo/web to h1")
	if due := a.writeDue(t); len(due) != 1 || due[0].key.reason != "Scheduled" {
		t.Fatalf("other reason: %d due", len(due))
	}

	clock.advance(9 * time.Second)
	if due := a.writeDue(t); len(due) != 2 {
		t.Fatalf("after the interval: %d due, want 2 (two messages)", len(due))
	}
	byMessage := map[string]*corev1.Event{}
	for _, ev := range eventsAbout(t, events, "web") {
		byMessage[ev.GetMessage()] = ev
	}
	if len(byMessage) != 3 {
		t.Fatalf("%d Events, want 3: %v", len(byMessage), byMessage)
	}
	if ev := byMessage["0/4 hosts available"]; ev.GetCount() != 4 || !ev.GetFirstTimestamp().AsTime().Equal(first) || !ev.GetLastTimestamp().AsTime().Equal(clock.t.Add(-9*time.Second)) {
		t.Fatalf("bumped event: %v", ev)
	}

	// A new recorder knows nothing stored, yet bumps the same object.
	b := newTestAggregator(t, events, clock, 0)
	b.Eventf(pod, apis.EventWarning, "FailedScheduling", "0/4 hosts available")
	b.writeDue(t)
	list = eventsAbout(t, events, "web")
	if len(list) != 3 {
		t.Fatalf("%d Events after a restart, want 3", len(list))
	}
	for _, ev := range list {
		if ev.GetMessage() == "0/4 hosts available" && ev.GetCount() != 5 {
			t.Fatalf("count after a restart %d, want 5", ev.GetCount())
		}
	}
}

// What waits is bounded: new keys beyond MaxPending are dropped, repeats
// of waiting ones still count.
func TestAggregatorBoundsPending(t *testing.T) {
	events := startEvents(t)
	a := newTestAggregator(t, events, newFakeClock(), 2)
	for i := range 5 {
		a.Eventf(testPod(fmt.Sprintf("p%d", i), fmt.Sprint(i)), apis.EventNormal, "Scheduled", "assigned")
	}
	a.Eventf(testPod("p0", "0"), apis.EventNormal, "Scheduled", "assigned")
	due := a.writeDue(t)
	if len(due) != 2 || due[0].count != 2 || due[1].count != 1 || a.takeDropped() != 3 {
		t.Fatalf("%d due (first count %d), want 2 and 3 dropped", len(due), due[0].count)
	}
}

// Run writes on its own, holds writes while the owner is busy (at most
// MaxDelay), and long names and messages still make valid Events.
func TestAggregatorRun(t *testing.T) {
	events := startEvents(t)
	busy := make(chan bool, 1)
	busy <- true
	isBusy := func() bool { b := <-busy; busy <- b; return b }
	a, err := NewAggregator(AggregatorConfig{Events: events, Component: "tester", Busy: isBusy, MaxDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	long := strings.Repeat("abcdefghi.", 25) + "abc" // 253 characters
	a.Eventf(testPod(long, "u"), apis.EventWarning, "FailedScheduling", "%s", strings.Repeat("é", 3000))
	// Held while busy: checking that something does not happen needs a
	// span of time.
	testutil.Consistently(t, 300*time.Millisecond, "no write while busy", func() (bool, string) {
		n := len(eventsAbout(t, events, long))
		return n == 0, fmt.Sprintf("%d Events", n)
	})
	<-busy
	busy <- false
	var ev *corev1.Event
	testutil.Eventually(t, 30*time.Second, "event written once idle", func() (bool, string) {
		list := eventsAbout(t, events, long)
		if len(list) == 1 {
			ev = list[0]
		}
		return ev != nil, fmt.Sprintf("%d Events", len(list))
	})
	if n := len(ev.GetMetadata().GetName()); n > 253 {
		t.Fatalf("name of %d characters", n)
	}
	if m := ev.GetMessage(); len(m) > maxMessage || !strings.HasSuffix(m, "é...") {
		t.Fatalf("message of %d bytes ending %q", len(m), m[len(m)-8:])
	}
}

func containerRef(pod, uid, container string) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: "demo", Name: pod, Uid: uid,
		FieldPath: "spec.containers{" + container + "}",
	}
}

// A field path is part of what folds and of what MinInterval limits: two
// containers of a pod are two Events, written without waiting for each
// other. Flush writes what MinInterval holds back; Forget keeps the
// object's Events continued; Host is the source's host.
func TestAggregatorFieldPathsAndFlush(t *testing.T) {
	events := startEvents(t)
	clock := newFakeClock()
	a, err := NewAggregator(AggregatorConfig{Events: events, Component: "agent", Host: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	a.now = clock.now
	main, side := containerRef("web", "uid-1", "main"), containerRef("web", "uid-1", "side")
	a.ReferenceEventf(main, apis.EventNormal, "Created", "Created container")
	a.ReferenceEventf(side, apis.EventNormal, "Created", "Created container")
	a.ReferenceEventf(main, apis.EventNormal, "Created", "Created container")
	due := a.writeDue(t)
	if len(due) != 2 || due[0].count != 2 || due[1].count != 1 {
		t.Fatalf("%d due, want main (2) and side (1)", len(due))
	}
	clock.advance(time.Second)
	a.ReferenceEventf(main, apis.EventNormal, "Created", "Created container")
	if due, next := a.take(); len(due) != 0 || next.IsZero() {
		t.Fatalf("within MinInterval: %d due, next %v", len(due), next)
	}
	a.Forget("uid-1")
	a.Flush(t.Context())
	if n := len(a.pending); n != 0 {
		t.Fatalf("%d pending after Flush", n)
	}
	list := eventsAbout(t, events, "web")
	if len(list) != 2 {
		t.Fatalf("%d Events, want 2 (one per container): %v", len(list), list)
	}
	for _, ev := range list {
		path := ev.GetInvolvedObject().GetFieldPath()
		want := map[string]int32{"spec.containers{main}": 3, "spec.containers{side}": 1}[path]
		if ev.GetCount() != want || ev.GetSource().GetHost() != "h1" || ev.GetSource().GetComponent() != "agent" {
			t.Errorf("Event about %q: count %d (want %d), source %v", path, ev.GetCount(), want, ev.GetSource())
		}
	}
}

// Negative MinInterval: an object's events are due as soon as recorded,
// however often.
func TestAggregatorWithoutMinInterval(t *testing.T) {
	events := startEvents(t)
	a, err := NewAggregator(AggregatorConfig{Events: events, Component: "agent", MinInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	a.now = newFakeClock().now
	pod := testPod("web", "uid-1")
	for i := range 3 {
		a.Eventf(pod, apis.EventNormal, "Killing", "attempt %d", i%2)
		if due := a.writeDue(t); len(due) != 1 {
			t.Fatalf("occurrence %d: %d due, want 1", i, len(due))
		}
	}
	if n := len(eventsAbout(t, events, "web")); n != 2 {
		t.Fatalf("%d Events, want 2", n)
	}
}
