package controller

import (
	"context"
	"sync"
	"time"

	"github.com/openpacific/pacific/sdk/apis"
)

// Request names the object to reconcile.
type Request struct {
	// GVK is set only by controllers that handle several kinds (the
	// garbage collector); others know their kind.
	GVK       apis.GVK
	Namespace string
	Name      string
}

func (r Request) String() string {
	s := r.Name
	if r.Namespace != "" {
		s = r.Namespace + "/" + r.Name
	}
	if r.GVK.Kind != "" {
		s = r.GVK.Kind + " " + s
	}
	return s
}

// Queue hands out each key to one worker at a time. A key added while it is
// being processed is handed out again once the worker is done; a key added
// many times while waiting is processed once.
type Queue struct {
	mu         sync.Mutex
	cond       *sync.Cond
	queue      []Request
	dirty      map[Request]bool
	processing map[Request]bool
	failures   map[Request]int
	shutdown   bool
	baseDelay  time.Duration
	maxDelay   time.Duration
	timers     map[Request]*time.Timer
}

// NewQueue returns a queue whose retry backoff doubles from base up to max.
func NewQueue(base, max time.Duration) *Queue {
	q := &Queue{
		dirty:      map[Request]bool{},
		processing: map[Request]bool{},
		failures:   map[Request]int{},
		timers:     map[Request]*time.Timer{},
		baseDelay:  base,
		maxDelay:   max,
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add enqueues r now.
func (q *Queue) Add(r Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(r)
}

func (q *Queue) addLocked(r Request) {
	if q.shutdown || q.dirty[r] {
		return
	}
	q.dirty[r] = true
	if q.processing[r] {
		return
	}
	q.queue = append(q.queue, r)
	q.cond.Signal()
}

// AddAfter enqueues r after d; an earlier pending AddAfter for r is replaced
// only if it would fire later.
func (q *Queue) AddAfter(r Request, d time.Duration) {
	if d <= 0 {
		q.Add(r)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	if t, ok := q.timers[r]; ok {
		t.Stop()
	}
	q.timers[r] = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.timers, r)
		q.addLocked(r)
	})
}

// AddRateLimited re-enqueues r after its backoff, which grows with each
// failure until Forget.
func (q *Queue) AddRateLimited(r Request) {
	q.mu.Lock()
	n := q.failures[r]
	q.failures[r] = n + 1
	q.mu.Unlock()
	d := q.baseDelay << min(n, 30)
	if d > q.maxDelay || d <= 0 {
		d = q.maxDelay
	}
	q.AddAfter(r, d)
}

// Forget resets r's backoff.
func (q *Queue) Forget(r Request) {
	q.mu.Lock()
	delete(q.failures, r)
	q.mu.Unlock()
}

// Get blocks until a key is ready or the queue shuts down (ok=false).
func (q *Queue) Get() (r Request, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if q.shutdown {
		return Request{}, false
	}
	r, q.queue = q.queue[0], q.queue[1:]
	delete(q.dirty, r)
	q.processing[r] = true
	return r, true
}

// Done marks r processed; if it was added meanwhile it is queued again.
func (q *Queue) Done(r Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, r)
	if q.dirty[r] && !q.shutdown {
		q.queue = append(q.queue, r)
		q.cond.Signal()
	}
}

// Len is the number of keys waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// ShutDown wakes every Get with ok=false and drops pending timers.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	for r, t := range q.timers {
		t.Stop()
		delete(q.timers, r)
	}
	q.cond.Broadcast()
}

// shutDownOnDone shuts q down when ctx ends.
func (q *Queue) shutDownOnDone(ctx context.Context) {
	<-ctx.Done()
	q.ShutDown()
}
