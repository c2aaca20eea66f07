package controllers_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/controllers"
)

// Events that have not recurred for the TTL are deleted; recent ones,
// and an old one that recurred, stay.
func TestEventsExpire(t *testing.T) {
	e := start(t, controllers.Config{EventTTL: time.Hour, EventSweepInterval: 50 * time.Millisecond})
	events := client.For[*corev1.Event](e.c)
	now := time.Now()
	mk := func(name string, first, last time.Time) *corev1.Event {
		ev, err := events.Create(e.ctx, &corev1.Event{
			Metadata:       &corev1.ObjectMeta{Name: name, Namespace: "demo"},
			InvolvedObject: &corev1.ObjectReference{ApiVersion: "core.pacific.dev/v1", Kind: "Pod", Namespace: "demo", Name: "p"},
			Reason:         "Test", Message: name, Type: "Normal", Count: 1,
			FirstTimestamp: timestamppb.New(first), LastTimestamp: timestamppb.New(last),
		})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	mk("old", now.Add(-3*time.Hour), now.Add(-2*time.Hour))
	mk("recent", now.Add(-3*time.Hour), now.Add(-time.Minute))
	mk("new", now, now)
	e.eventually("the old event expired", func() (bool, string) {
		_, err := events.Get(e.ctx, "demo", "old")
		return client.IsNotFound(err), fmt.Sprint(err)
	})
	for _, name := range []string{"recent", "new"} {
		if _, err := events.Get(e.ctx, "demo", name); err != nil {
			t.Errorf("event %s: %v", name, err)
		}
	}
}
