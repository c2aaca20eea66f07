package prefetch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openpacific/pacific/internal/natsembed"
)

func TestRequestsReachTheHostOnceAndRetry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := natsembed.Start(ctx, natsembed.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ host, ref string }{{"h1", "a:1"}, {"h1", "a:1"}, {"h1", "flaky:1"}, {"h2", "b:1"}} {
		if err := Publish(ctx, js, r.host, Request{Ref: r.ref, Namespace: "demo"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := Publish(ctx, js, "bad.host", Request{Ref: "x"}); err == nil {
		t.Fatal("host with a dot accepted as a subject token")
	}

	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan struct{})
	pull := func(_ context.Context, r Request) error {
		mu.Lock()
		defer mu.Unlock()
		calls[r.Ref]++
		if r.Ref == "flaky:1" && calls[r.Ref] == 1 {
			return errors.New("registry hiccup")
		}
		if calls["a:1"] >= 1 && calls["flaky:1"] >= 2 {
			select {
			case <-done:
			default:
				close(done)
			}
		}
		return nil
	}
	cctx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		errc <- Consume(cctx, js, "h1", pull, ConsumeOptions{RetryDelay: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("requests not consumed: %v", calls)
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["a:1"] != 1 || calls["b:1"] != 0 || calls["flaky:1"] != 2 {
		t.Fatalf("calls = %v; want a:1 once (deduplicated), flaky:1 twice (retried), b:1 never (other host)", calls)
	}
}
