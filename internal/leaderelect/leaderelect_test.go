package leaderelect_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/leaderelect"
	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

func newClient(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.New(client.Options{Servers: []string{addr}, TLS: testutil.ClientTLS(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// candidate runs one elector and records whether it leads.
type candidate struct {
	leading atomic.Bool
	terms   atomic.Int32
	cancel  context.CancelFunc
	done    chan struct{}
}

func campaign(t *testing.T, c *client.Client, id string, overlap *atomic.Int32, leaders *atomic.Int32) *candidate {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cd := &candidate{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(cd.done)
		err := leaderelect.Run(ctx, leaderelect.Config{Client: c, Namespace: "pacific-system", Name: "test", Identity: id, LeaseDuration: time.Second},
			func(ctx context.Context) {
				if leaders.Add(1) > 1 {
					overlap.Add(1)
				}
				cd.leading.Store(true)
				cd.terms.Add(1)
				<-ctx.Done()
				cd.leading.Store(false)
				leaders.Add(-1)
			})
		if err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-cd.done })
	return cd
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, what, func() (bool, string) { return cond(), "" })
}

func TestOneLeaderAndFailover(t *testing.T) {
	addr := apiservertest.Start(t)
	admin := newClient(t, addr)
	if _, err := client.For[*corev1.Namespace](admin).Create(t.Context(), &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "pacific-system"}}); err != nil {
		t.Fatal(err)
	}
	var overlap, leaders atomic.Int32
	a := campaign(t, newClient(t, addr), "a", &overlap, &leaders)
	waitFor(t, "a leads", a.leading.Load)
	b := campaign(t, newClient(t, addr), "b", &overlap, &leaders)
	// b keeps losing while a renews.
	testutil.Consistently(t, 2500*time.Millisecond, "b must not lead while a renews", func() (bool, string) {
		return !b.leading.Load(), "b leads"
	})
	// A clean stop releases the lease: b takes over.
	a.cancel()
	<-a.done
	waitFor(t, "b leads after a stopped", b.leading.Load)

	// A leader that can no longer reach the API server loses the lease
	// to one that can after the lease duration, and steps down itself.
	cc := newClient(t, addr)
	var overlap2, leaders2 atomic.Int32
	lost := campaign(t, cc, "c", &overlap2, &leaders2)
	b.cancel()
	<-b.done
	waitFor(t, "c leads", lost.leading.Load)
	cc.Close()
	d := campaign(t, newClient(t, addr), "d", &overlap2, &leaders2)
	waitFor(t, "d takes over from the unreachable c", d.leading.Load)
	waitFor(t, "c steps down", func() bool { return !lost.leading.Load() })
	if n := overlap.Load() + overlap2.Load(); n != 0 {
		t.Fatalf("%d times two leaders at once", n)
	}
}
