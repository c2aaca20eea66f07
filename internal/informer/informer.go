package informer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Handler receives the changes of one kind, from one goroutine, in order.
type Handler[T apis.Object] struct {
	// Upsert is called for every object added or changed.
	Upsert func(obj T)
	// Delete is called for every object deleted (its last stored version).
	Delete func(obj T)
	// Synced is called after the initial objects of each (re)list.
	Synced func()
}

// Run watches until ctx ends. opts.ResourceVersion is ignored: it always
// starts from 0 (a consistent listing, then changes).
func Run[T apis.Object](ctx context.Context, typed *client.Typed[T], opts client.WatchOptions, h Handler[T], log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	opts.ResourceVersion, opts.Bookmarks = 0, true
	known := map[string]T{}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := watchOnce(ctx, typed, opts, h, known)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, client.ErrRelist) {
			log.Warn("watch ended; relisting", "kind", typed.GVK().Kind, "err", err, "backoff", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
	return nil
}

func watchOnce[T apis.Object](ctx context.Context, typed *client.Typed[T], opts client.WatchOptions, h Handler[T], known map[string]T) error {
	w, err := typed.Watch(ctx, opts)
	if err != nil {
		return err
	}
	defer w.Stop()
	seen := map[string]bool{}
	initial := true
	for ev := range w.Events() {
		switch ev.Type {
		case corev1.EventType_EVENT_TYPE_BOOKMARK:
			if !initial {
				continue
			}
			initial = false
			for k, obj := range known {
				if !seen[k] {
					delete(known, k)
					call(h.Delete, obj)
				}
			}
			seen = nil
			if h.Synced != nil {
				h.Synced()
			}
		case corev1.EventType_EVENT_TYPE_DELETED:
			delete(known, apis.Key(ev.Object))
			call(h.Delete, ev.Object)
		default:
			k := apis.Key(ev.Object)
			if initial {
				seen[k] = true
			}
			known[k] = ev.Object
			call(h.Upsert, ev.Object)
		}
	}
	return w.Err()
}

func call[T any](f func(T), v T) {
	if f != nil {
		f(v)
	}
}
