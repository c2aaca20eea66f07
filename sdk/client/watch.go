package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// WatchOptions selects the changes to watch.
type WatchOptions struct {
	// Namespace limits the watch to one namespace; "" watches all.
	Namespace string
	// LabelSelector uses Kubernetes syntax. An object whose labels stop
	// matching is DELETED for the watcher; one that starts matching is ADDED.
	LabelSelector string
	// FieldSelector: "spec.nodeName=host-1"; see package fields.
	FieldSelector string
	// ResourceVersion streams changes after this revision, typically a
	// List's ResourceVersion. 0 first sends every current object as ADDED,
	// then a BOOKMARK, then changes.
	ResourceVersion int64
	// Bookmarks delivers BOOKMARK events (no object; ResourceVersion says
	// how far the stream has come). The one after the initial objects of a
	// watch from 0 marks "in sync".
	Bookmarks bool
}

// Event is one change seen by a Watcher.
type Event[T any] struct {
	Type corev1.EventType
	// Object is the object after the change; for DELETED as last stored;
	// the zero T for BOOKMARK.
	Object          T
	ResourceVersion int64
}

// Watch bounds: how long to wait before reopening a broken stream.
const (
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 5 * time.Second
)

// Watcher streams changes. When the stream breaks because the server is
// unavailable (restart, leader change, another replica, the connection
// dropped) or cut it (slow watcher), it reopens it from the last revision
// it delivered, with backoff, so the caller sees every change once and in
// order. It ends when the context ends, on Stop, or on an error that a
// resume cannot fix: OutOfRange (errors.Is(err, ErrRelist): list again and
// watch from the list's revision), InvalidArgument, PermissionDenied, ...
type Watcher[T any] struct {
	events chan Event[T]
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	err     error
	stopped bool
}

// Events delivers the changes. It is closed when the watch ends; then Err
// says why.
func (w *Watcher[T]) Events() <-chan Event[T] { return w.events }

// Err returns why the watch ended: nil while it runs and after Stop, the
// context's error when the context ended, else the error that ended it.
func (w *Watcher[T]) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stop ends the watch and waits until Events is closed.
func (w *Watcher[T]) Stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.cancel()
	<-w.done
}

// Done is closed when the watch has ended.
func (w *Watcher[T]) Done() <-chan struct{} { return w.done }

func (w *Watcher[T]) finish(err error) {
	w.mu.Lock()
	if !w.stopped {
		w.err = err
	}
	w.mu.Unlock()
}

// Watch starts watching. The first stream is opened before Watch returns,
// so an unreachable server is reported here; errors the server sends
// (InvalidArgument for a bad selector, OutOfRange) end the Watcher.
func (t *Typed[T]) Watch(ctx context.Context, opts WatchOptions) (*Watcher[T], error) {
	if t.err != nil {
		return nil, t.err
	}
	ctx, cancel := context.WithCancel(ctx)
	ws := &watchState[T]{t: t, opts: opts, rev: opts.ResourceVersion, initial: opts.ResourceVersion == 0}
	stream, err := ws.open(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	w := &Watcher[T]{events: make(chan Event[T], 16), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(w.events)
		defer cancel()
		w.finish(ws.run(ctx, stream, w.events))
	}()
	return w, nil
}

// watchState is what a Watcher remembers to resume.
type watchState[T apis.Object] struct {
	t    *Typed[T]
	opts WatchOptions
	// rev is the revision delivered so far: resume after it.
	rev int64
	// initial is true while the initial objects of a watch from 0 are
	// arriving (until the first BOOKMARK). A break then cannot resume from
	// a revision; the watch restarts from 0 and known/seen turn the second
	// listing into the difference from what was delivered.
	initial bool
	known   map[string]T
	seen    map[string]bool
}

func (ws *watchState[T]) open(ctx context.Context) (corev1.ResourceService_WatchClient, error) {
	from := ws.rev
	if ws.initial {
		from = 0
		ws.seen = map[string]bool{}
	}
	stream, err := ws.t.rs.Watch(ctx, &corev1.WatchRequest{
		ApiVersion:      ws.t.gvk.APIVersion,
		Kind:            ws.t.gvk.Kind,
		Namespace:       ws.opts.Namespace,
		LabelSelector:   ws.opts.LabelSelector,
		FieldSelector:   ws.opts.FieldSelector,
		ResourceVersion: from,
		AllowBookmarks:  true,
	})
	if err != nil {
		return nil, ws.wrap(err)
	}
	return stream, nil
}

func (ws *watchState[T]) wrap(err error) error {
	what := fmt.Sprintf("watch %s%s", ws.t.gvk.Kind, inNamespace(ws.opts.Namespace))
	if Code(err) == codes.OutOfRange {
		return fmt.Errorf("%s from revision %d: %w: %w", what, ws.rev, ErrRelist, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// run receives until the context ends or an error that is not transient,
// reopening the stream after transient ones.
func (ws *watchState[T]) run(ctx context.Context, stream corev1.ResourceService_WatchClient, out chan<- Event[T]) error {
	backoff := watchMinBackoff
	for {
		var err error
		if stream != nil {
			var progressed bool
			progressed, err = ws.receive(ctx, stream, out)
			stream = nil
			if progressed {
				backoff = watchMinBackoff
			}
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err != nil && !resumable(err) {
			return ws.wrap(err)
		}
		timer := time.NewTimer(jitter(backoff))
		select {
		case <-ctx.Done():
			timer.Stop()
			return context.Cause(ctx)
		case <-timer.C:
		}
		backoff = min(2*backoff, watchMaxBackoff)
		stream, err = ws.open(ctx)
		if err != nil && !resumable(err) {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return err
		}
	}
}

// receive delivers one stream's events; progressed reports whether any
// arrived.
func (ws *watchState[T]) receive(ctx context.Context, stream corev1.ResourceService_WatchClient, out chan<- Event[T]) (progressed bool, err error) {
	for {
		resp, err := stream.Recv()
		if err != nil {
			return progressed, err
		}
		progressed = true
		evs, err := ws.handle(resp)
		if err != nil {
			return progressed, err
		}
		for _, ev := range evs {
			select {
			case out <- ev:
			case <-ctx.Done():
				return progressed, ctx.Err()
			}
		}
	}
}

// handle turns a response into the events to deliver.
func (ws *watchState[T]) handle(resp *corev1.WatchResponse) ([]Event[T], error) {
	var zero T
	if !ws.initial && resp.GetResourceVersion() <= ws.rev {
		// Already delivered: a replica replaying its log after a restart
		// may send changes up to the resume revision again.
		return nil, nil
	}
	if resp.GetType() == corev1.EventType_EVENT_TYPE_BOOKMARK {
		ws.rev = resp.GetResourceVersion()
		var evs []Event[T]
		if ws.initial {
			evs = ws.endInitial()
		}
		if ws.opts.Bookmarks {
			evs = append(evs, Event[T]{Type: corev1.EventType_EVENT_TYPE_BOOKMARK, Object: zero, ResourceVersion: ws.rev})
		}
		return evs, nil
	}
	obj, err := ws.t.unpack("watch", resp.GetObject())
	if err != nil {
		return nil, err
	}
	ev := Event[T]{Type: resp.GetType(), Object: obj, ResourceVersion: resp.GetResourceVersion()}
	if !ws.initial {
		ws.rev = resp.GetResourceVersion()
		return []Event[T]{ev}, nil
	}
	k := apis.Key(obj)
	ws.seen[k] = true
	prev, ok := ws.known[k]
	if ws.known == nil {
		ws.known = map[string]T{}
	}
	ws.known[k] = obj
	switch {
	case !ok:
		return []Event[T]{ev}, nil
	case prev.GetMetadata().GetResourceVersion() == obj.GetMetadata().GetResourceVersion():
		return nil, nil // delivered before the stream broke
	default:
		ev.Type = corev1.EventType_EVENT_TYPE_MODIFIED
		return []Event[T]{ev}, nil
	}
}

// endInitial ends the initial listing: objects delivered by an earlier,
// broken listing that this one did not contain were deleted meanwhile.
func (ws *watchState[T]) endInitial() []Event[T] {
	var gone []string
	for k := range ws.known {
		if !ws.seen[k] {
			gone = append(gone, k)
		}
	}
	slices.Sort(gone)
	evs := make([]Event[T], 0, len(gone))
	for _, k := range gone {
		evs = append(evs, Event[T]{Type: corev1.EventType_EVENT_TYPE_DELETED, Object: ws.known[k], ResourceVersion: ws.rev})
	}
	ws.initial, ws.known, ws.seen = false, nil, nil
	return evs
}

// resumable reports whether reopening the stream from the last revision
// can fix err.
func resumable(err error) bool {
	if errors.Is(err, io.EOF) {
		return true // the server ended the stream cleanly (shutting down)
	}
	switch Code(err) {
	case codes.Unavailable, codes.ResourceExhausted:
		return true
	}
	return false
}

func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
