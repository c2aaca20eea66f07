package imagesvc

import (
	"context"
	"errors"
	"sync"
)

// Phase is a step of a pull.
type Phase string

// Phases, in order. Image-level events (Layer == "") use Resolving and
// Done; layer events go Downloading (bytes flowing; the layer is unpacked
// into a temporary directory as it arrives) → Verifying (digests and size)
// → Extracting (finishing and committing the unpacked tree) → Done. A layer
// already cached goes straight to Done with Cached set. A retried download
// starts again at Downloading with Attempt incremented.
const (
	PhaseResolving   Phase = "resolving"
	PhaseDownloading Phase = "downloading"
	PhaseVerifying   Phase = "verifying"
	PhaseExtracting  Phase = "extracting"
	PhaseDone        Phase = "done"
)

// Progress is one progress event of a pull.
type Progress struct {
	Ref   string // the reference as the caller gave it
	Image string // manifest digest, once resolved
	Phase Phase
	// Layer is the layer's compressed digest ("" for image-level events).
	Layer      string
	LayerIndex int // 0-based, bottom layer first
	LayerCount int
	// Done and Total are compressed bytes of this layer (for image-level
	// Done: of the whole image).
	Done, Total int64
	Cached      bool
	Attempt     int
}

// serialize wraps a caller's callback so that it is never called
// concurrently and never after the pull returned.
func serialize(fn func(Progress), ref string) (emit func(Progress), stop func()) {
	if fn == nil {
		return func(Progress) {}, func() {}
	}
	var mu sync.Mutex
	stopped := false
	return func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			if stopped {
				return
			}
			p.Ref = ref
			fn(p)
		}, func() {
			mu.Lock()
			stopped = true
			mu.Unlock()
		}
}

// flight is one shared job (an image or a layer download) and its
// subscribers' progress callbacks.
type flight[T any] struct {
	done    chan struct{}
	val     T
	err     error
	cancel  context.CancelFunc
	waiters int // guarded by the group's mutex

	mu   sync.Mutex
	subs map[int]func(Progress)
	next int
	last map[string]Progress // latest event per layer ("" = image), replayed to late joiners
}

func (f *flight[T]) publish(p Progress) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last[p.Layer] = p
	for _, s := range f.subs {
		s(p)
	}
}

func (f *flight[T]) subscribe(fn func(Progress)) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.next
	f.next++
	if fn != nil {
		for _, p := range f.last {
			fn(p)
		}
		f.subs[id] = fn
	}
	return id
}

func (f *flight[T]) unsubscribe(id int) {
	f.mu.Lock()
	delete(f.subs, id)
	f.mu.Unlock()
}

// flightGroup deduplicates jobs by key. A job runs detached from any one
// caller's context and is cancelled only when every caller waiting for it
// has given up.
type flightGroup[T any] struct {
	mu      sync.Mutex
	m       map[string]*flight[T]
	closed  bool
	wg      sync.WaitGroup // running jobs, including abandoned ones
	running int            // guarded by mu
}

// errClosed is returned for jobs asked of a closed service.
var errClosed = errors.New("image service closed")

func newFlightGroup[T any]() *flightGroup[T] { return &flightGroup[T]{m: map[string]*flight[T]{}} }

// do runs fn once per key at a time; callers that arrive while it runs wait
// for its result. sub receives the job's progress (replaying the latest
// state first). shared reports whether the job was started by another
// caller.
func (g *flightGroup[T]) do(ctx context.Context, key string, sub func(Progress), fn func(ctx context.Context, report func(Progress)) (T, error)) (v T, shared bool, err error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		var zero T
		return zero, false, errClosed
	}
	f, ok := g.m[key]
	if !ok {
		jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight[T]{done: make(chan struct{}), cancel: cancel, subs: map[int]func(Progress){}, last: map[string]Progress{}}
		g.m[key] = f
		g.wg.Add(1)
		g.running++
		go func() {
			defer g.wg.Done()
			defer cancel()
			val, err := fn(jctx, f.publish)
			f.val, f.err = val, err
			g.mu.Lock()
			if g.m[key] == f {
				delete(g.m, key)
			}
			g.running--
			g.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	g.mu.Unlock()
	id := f.subscribe(sub)
	defer f.unsubscribe(id)

	select {
	case <-f.done:
		return f.val, ok, f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if g.m[key] == f {
				delete(g.m, key)
			}
		}
		g.mu.Unlock()
		var zero T
		return zero, ok, ctx.Err()
	}
}

// inFlight reports how many jobs are running, abandoned ones included.
func (g *flightGroup[T]) inFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running
}

// close cancels every job and waits for all of them to return.
func (g *flightGroup[T]) close() {
	g.mu.Lock()
	g.closed = true
	for _, f := range g.m {
		f.cancel()
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// waiting reports how many callers wait for the job key (for tests).
func (g *flightGroup[T]) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f.waiters
	}
	return 0
}
