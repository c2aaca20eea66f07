package controller

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestQueueDeduplicatesWaitingKeys(t *testing.T) {
	q := NewQueue(time.Millisecond, time.Second)
	a := Request{Namespace: "ns", Name: "a"}
	q.Add(a)
	q.Add(a)
	q.Add(Request{Name: "b"})
	if got := q.Len(); got != 2 {
		t.Fatalf("Len = %d, want 2", got)
	}
}

func TestQueueRequeuesKeyAddedWhileProcessing(t *testing.T) {
	q := NewQueue(time.Millisecond, time.Second)
	a := Request{Name: "a"}
	q.Add(a)
	got, ok := q.Get()
	if !ok || got != a {
		t.Fatalf("Get = %v %v", got, ok)
	}
	q.Add(a) // while processing: must not be handed to a second worker now
	if q.Len() != 0 {
		t.Fatalf("key handed out twice concurrently")
	}
	q.Done(a)
	if q.Len() != 1 {
		t.Fatalf("key added during processing was lost")
	}
}

func TestQueueAddAfterAndShutdown(t *testing.T) {
	q := NewQueue(time.Millisecond, time.Second)
	q.AddAfter(Request{Name: "later"}, 20*time.Millisecond)
	r, ok := q.Get() // blocks until the timer fires
	if !ok || r.Name != "later" {
		t.Fatalf("Get = %v %v", r, ok)
	}
	q.ShutDown()
	if _, ok := q.Get(); ok {
		t.Fatal("Get after ShutDown returned a key")
	}
}

func TestControllerRetriesFailuresWithBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	done := make(chan struct{})
	var once sync.Once
	c := &Controller{
		Name: "test",
		Reconciler: ReconcileFunc(func(ctx context.Context, req Request) (Result, error) {
			if calls.Add(1) < 3 {
				return Result{}, context.DeadlineExceeded
			}
			once.Do(func() { close(done) })
			return Result{}, nil
		}),
		Sources: []Source{func(ctx context.Context, enqueue func(Request)) error {
			enqueue(Request{Name: "x"})
			<-ctx.Done()
			return nil
		}},
		BaseDelay: time.Millisecond,
		MaxDelay:  10 * time.Millisecond,
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Start(ctx) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("reconcile not retried to success; calls=%d", calls.Load())
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("calls = %d, want 3", n)
	}
}
