package hostagent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func testPodRef(name, uid string) *corev1.ObjectReference {
	return &corev1.ObjectReference{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: "demo", Name: name, Uid: uid}
}

// Against a real API server: repeated events become one object whose count
// grows, across flushes and across a restarted recorder (agent restart);
// the events name the container and the agent's host.
func TestRecorderWritesAggregatedEvents(t *testing.T) {
	c := startAPI(t)
	createNamespace(t, c, "demo")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := client.For[*corev1.Event](c)
	ref := testPodRef("web", "uid-1")
	ref.FieldPath = fieldPath("main")

	r, err := newEventRecorder(events, "h1", nil, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r.ReferenceEventf(ref, apis.EventWarning, ReasonBackOff, "Back-off restarting failed container %s", "main")
	}
	r.ReferenceEventf(ref, apis.EventNormal, ReasonPulled, "Container image %q already present on machine", "busybox")
	r.Flush(ctx)
	for range 2 {
		r.ReferenceEventf(ref, apis.EventWarning, ReasonBackOff, "Back-off restarting failed container %s", "main")
	}
	r.Flush(ctx)
	r2, err := newEventRecorder(events, "h1", nil, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	r2.ReferenceEventf(ref, apis.EventWarning, ReasonBackOff, "Back-off restarting failed container %s", "main")
	r2.Flush(ctx)

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

// While pods are being reconciled, events wait for the reconciles to end,
// at most record.DefaultMaxDelay; one pod's events of one reason are not held back
// by each other (no minimum interval).
func TestRecorderWaitsForReconciles(t *testing.T) {
	c := startAPI(t)
	createNamespace(t, c, "demo")
	events := client.For[*corev1.Event](c)
	var recs reconciles
	r, err := newEventRecorder(events, "h1", recs.busy, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	count := func(reason string) (int32, string) {
		list, _, err := events.ListAll(t.Context(), client.ListOptions{Namespace: "demo"})
		if err != nil {
			t.Fatal(err)
		}
		var n int32
		for _, ev := range list {
			if ev.GetReason() == reason {
				n += ev.GetCount()
			}
		}
		return n, fmt.Sprintf("%d %s occurrences in %d Events", n, reason, len(list))
	}
	ref := testPodRef("web", "uid-1")
	ref.FieldPath = fieldPath("main")

	done1, done2 := recs.start(), recs.start()
	r.ReferenceEventf(ref, apis.EventNormal, ReasonKilling, "Container main failed liveness probe, will be restarted: timeout")
	// Checking that something does not happen needs a span of time,
	// shorter than record.DefaultMaxDelay.
	testutil.Consistently(t, 300*time.Millisecond, "held while two reconciles run", func() (bool, string) {
		n, d := count(ReasonKilling)
		return n == 0, d
	})
	done1()
	testutil.Consistently(t, 300*time.Millisecond, "held while one reconcile runs", func() (bool, string) {
		n, d := count(ReasonKilling)
		return n == 0, d
	})
	done2()
	testutil.Eventually(t, 20*time.Second, "written once no reconcile runs", func() (bool, string) {
		n, d := count(ReasonKilling)
		return n == 1, d
	})

	// Another message of the same reason right after, while a reconcile
	// runs for longer than record.DefaultMaxDelay: written anyway.
	defer recs.start()()
	r.ReferenceEventf(ref, apis.EventNormal, ReasonKilling, "Stopping container main")
	testutil.Eventually(t, 20*time.Second, "written while a reconcile runs on", func() (bool, string) {
		n, d := count(ReasonKilling)
		return n == 2, d
	})
}
