package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/services/apiserver/store"
	"github.com/openpacific/pacific/services/apiserver/store/storetest"
)

const kind = "core.pacific.dev/Namespace"

func key(ns, name string) store.Key { return store.Key{Kind: kind, Namespace: ns, Name: name} }

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	testutil.EventuallyNoError(t, storetest.WaitTimeout, what, cond)
}

// mustCreate creates ns/name=value and returns the record. Like a careful
// client, it resolves ErrIndeterminate (a leader change under load) by
// reading the key back.
func mustCreate(t *testing.T, ctx context.Context, s *store.Store, k store.Key, value string) store.Record {
	t.Helper()
	rec, err := s.Create(ctx, k, []byte(value))
	if errors.Is(err, store.ErrIndeterminate) {
		t.Logf("create %v: %v; reading back", k, err)
		if rec, err = s.Get(ctx, k, store.ReadOptions{}); errors.Is(err, store.ErrNotFound) {
			rec, err = s.Create(ctx, k, []byte(value))
		}
	}
	if err != nil {
		t.Fatalf("create %v: %v", k, err)
	}
	if string(rec.Value) != value {
		t.Fatalf("create %v: stored %q, want %q", k, rec.Value, value)
	}
	return rec
}

// mustGet reads k linearizably and checks its value.
func mustGet(t *testing.T, ctx context.Context, s *store.Store, k store.Key, want string) store.Record {
	t.Helper()
	rec, err := s.Get(ctx, k, store.ReadOptions{})
	if err != nil {
		t.Fatalf("get %v on %s: %v", k, s.ID(), err)
	}
	if string(rec.Value) != want {
		t.Fatalf("get %v on %s = %q, want %q", k, s.ID(), rec.Value, want)
	}
	return rec
}

// collect reads n events from w or fails.
func collect(t *testing.T, w *store.Watch, n int) []store.Event {
	t.Helper()
	var out []store.Event
	timeout := time.After(storetest.WaitTimeout)
	for len(out) < n {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("watch ended after %d of %d events: %v", len(out), n, w.Err())
			}
			out = append(out, ev)
		case <-timeout:
			t.Fatalf("got %d of %d events", len(out), n)
		}
	}
	return out
}

func names(evs []store.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%s/%s", ev.Key.Namespace, ev.Key.Name))
	}
	return out
}

// mustUpdate replaces k's value unconditionally, resolving ErrIndeterminate
// by reading the key back.
func mustUpdate(t *testing.T, ctx context.Context, s *store.Store, k store.Key, value string) store.Record {
	t.Helper()
	rec, err := s.Update(ctx, k, []byte(value), 0)
	if errors.Is(err, store.ErrIndeterminate) {
		t.Logf("update %v: %v; reading back", k, err)
		if rec, err = s.Get(ctx, k, store.ReadOptions{}); err == nil && string(rec.Value) != value {
			rec, err = s.Update(ctx, k, []byte(value), 0)
		}
	}
	if err != nil {
		t.Fatalf("update %v: %v", k, err)
	}
	return rec
}

// mustDelete deletes k unconditionally, resolving ErrIndeterminate by
// reading the key back.
func mustDelete(t *testing.T, ctx context.Context, s *store.Store, k store.Key) {
	t.Helper()
	_, err := s.Delete(ctx, k, 0)
	if errors.Is(err, store.ErrIndeterminate) {
		t.Logf("delete %v: %v; reading back", k, err)
		if _, err = s.Get(ctx, k, store.ReadOptions{}); errors.Is(err, store.ErrNotFound) {
			return
		}
		if err == nil {
			_, err = s.Delete(ctx, k, 0)
		}
	}
	if err != nil {
		t.Fatalf("delete %v: %v", k, err)
	}
}
