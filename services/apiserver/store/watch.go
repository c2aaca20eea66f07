package store

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Defaults for the watch window and per-watch buffers.
const (
	DefaultEventWindow = 10000
	DefaultWatchBuffer = 1024
)

// window keeps the last changes applied on this replica, in revision order,
// and fans new ones out to watches. It covers every revision > start.
//
// A watch is fed in two phases. While it replays history a goroutine owns
// its channel, and new matching events queue in its backlog (at most
// bufSize, else the watch is cut). Once caught up it is "live": Apply sends
// to its channel without blocking, and a full channel cuts the watch with
// ErrWatcherTooSlow. Apply therefore never blocks on a watcher and memory
// stays bounded by the window plus bufSize per watch.
type window struct {
	mu      sync.Mutex
	ring    []Event
	head, n int
	start   int64
	bufSize int
	closed  bool
	// watchers by kind; "" holds the watches of every kind.
	watchers map[string]map[*Watch]struct{}
}

func newWindow(size, bufSize int) *window {
	if size <= 0 {
		size = DefaultEventWindow
	}
	if bufSize <= 0 {
		bufSize = DefaultWatchBuffer
	}
	return &window{ring: make([]Event, size), bufSize: bufSize, watchers: map[string]map[*Watch]struct{}{}}
}

// at returns the i-th oldest event; w.mu is held.
func (w *window) at(i int) *Event { return &w.ring[(w.head+i)%len(w.ring)] }

// append adds applied events (in revision order) and fans them out.
func (w *window) append(evs []Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ev := range evs {
		if w.n == len(w.ring) {
			w.start = w.at(0).Revision
			*w.at(0) = Event{}
			w.head = (w.head + 1) % len(w.ring)
			w.n--
		}
		*w.at(w.n) = ev
		w.n++
		w.deliver(w.watchers[ev.Key.Kind], ev)
		w.deliver(w.watchers[""], ev)
	}
}

func (w *window) deliver(set map[*Watch]struct{}, ev Event) {
	for wt := range set {
		if ev.Revision <= wt.from || !wt.prefix.matches(ev.Key) {
			continue
		}
		if wt.live {
			select {
			case wt.ch <- ev:
			default:
				wt.end(ErrWatcherTooSlow)
			}
			continue
		}
		if len(wt.backlog) >= w.bufSize {
			wt.end(ErrWatcherTooSlow)
			continue
		}
		wt.backlog = append(wt.backlog, ev)
	}
}

// reset empties the window after a snapshot restore at index: the window
// now covers revisions > index, and open watches end with ErrCompacted
// since the changes between them and the snapshot are gone.
func (w *window) reset(index int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.ring {
		w.ring[i] = Event{}
	}
	w.head, w.n, w.start = 0, 0, index
	w.endAll(fmt.Errorf("%w: state replaced by a snapshot at revision %d", ErrCompacted, index))
}

// close ends every watch with ErrClosed and refuses new ones.
func (w *window) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	w.endAll(ErrClosed)
}

func (w *window) endAll(err error) {
	for _, set := range w.watchers {
		for wt := range set {
			wt.end(err)
		}
	}
}

// oldest is the oldest revision a watch can start from.
func (w *window) oldest() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.start
}

func (p Prefix) matches(k Key) bool {
	return (p.Kind == "" || p.Kind == k.Kind) && (p.Namespace == "" || p.Namespace == k.Namespace)
}

// Watch is a stream of changes. Read Events until it is closed, then Err
// tells why.
type Watch struct {
	win    *window
	prefix Prefix
	// from is exclusive: a replica still replaying its log after a restart
	// applies changes the watcher has already seen, and they must not be
	// delivered again.
	from int64
	ch   chan Event
	done chan struct{}
	stop func() bool // stops the context callback

	// Guarded by win.mu.
	live    bool
	backlog []Event
	ended   bool
	err     error
}

// Events delivers changes with increasing revisions. It is closed when the
// watch ends; events already buffered are delivered first.
func (w *Watch) Events() <-chan Event { return w.ch }

// Err is why the watch ended: ErrWatcherTooSlow, ErrCompacted (the replica
// restored a snapshot), ErrClosed, or the context's error; nil after Close
// or while the watch runs.
func (w *Watch) Err() error {
	w.win.mu.Lock()
	defer w.win.mu.Unlock()
	return w.err
}

// Close ends the watch.
func (w *Watch) Close() {
	w.win.mu.Lock()
	defer w.win.mu.Unlock()
	w.end(nil)
}

// end finishes the watch; win.mu is held.
func (w *Watch) end(err error) {
	if w.ended {
		return
	}
	w.ended, w.err, w.backlog = true, err, nil
	if set := w.win.watchers[w.prefix.Kind]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(w.win.watchers, w.prefix.Kind)
		}
	}
	close(w.done)
	if w.live {
		close(w.ch) // Apply sends under win.mu, so no send races this.
	}
	if w.stop != nil {
		w.stop()
	}
}

// watch starts a watch for changes matching p with revision > from.
func (w *window) watch(ctx context.Context, p Prefix, from int64) (*Watch, error) {
	wt := &Watch{win: w, prefix: p, from: from, ch: make(chan Event, w.bufSize), done: make(chan struct{})}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, ErrClosed
	}
	if from < w.start {
		start := w.start
		w.mu.Unlock()
		return nil, fmt.Errorf("%w: watch from revision %d, oldest retained change is after %d", ErrCompacted, from, start)
	}
	// Replay: the retained events after from that match p.
	first := sort.Search(w.n, func(i int) bool { return w.at(i).Revision > from })
	var replay []Event
	for i := first; i < w.n; i++ {
		if ev := w.at(i); p.matches(ev.Key) {
			replay = append(replay, *ev)
		}
	}
	set := w.watchers[p.Kind]
	if set == nil {
		set = map[*Watch]struct{}{}
		w.watchers[p.Kind] = set
	}
	set[wt] = struct{}{}
	if len(replay) == 0 {
		wt.live = true
	}
	wt.stop = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		wt.end(context.Cause(ctx))
	})
	w.mu.Unlock()
	if len(replay) > 0 {
		go wt.feed(replay)
	}
	return wt, nil
}

// feed replays history into the channel, then the backlog that queued up
// meanwhile, and switches the watch to live delivery.
func (w *Watch) feed(replay []Event) {
	for {
		for _, ev := range replay {
			select {
			case w.ch <- ev:
			case <-w.done:
				close(w.ch)
				return
			}
		}
		w.win.mu.Lock()
		if w.ended {
			w.win.mu.Unlock()
			close(w.ch)
			return
		}
		if len(w.backlog) == 0 {
			w.live = true
			w.win.mu.Unlock()
			return
		}
		replay, w.backlog = w.backlog, nil
		w.win.mu.Unlock()
	}
}

// Watch streams the changes matching p with revision > fromRevision, in
// revision order: first those still in this replica's window, then new
// ones as they are applied. ErrCompacted if the window no longer reaches
// back to fromRevision (watch from a List's Revision; use Revision() to
// watch from now). The watch ends when ctx ends, on Close, when it falls
// more than WatchBuffer events behind (ErrWatcherTooSlow), when the
// replica restores a snapshot (ErrCompacted) or closes (ErrClosed).
// Prefix{} watches every kind.
func (s *Store) Watch(ctx context.Context, p Prefix, fromRevision int64) (*Watch, error) {
	return s.win.watch(ctx, p, fromRevision)
}
