package scheduler

import (
	"sync"
	"time"
)

// outcome of a scheduling attempt, for the queue.
type outcome int

const (
	// bound: forget the pod's failures.
	bound outcome = iota
	// unschedulable: park the pod until the cluster changes.
	unschedulable
	// failed: retry after backoff (bind conflict, API error).
	failed
)

// podQueue orders pending pods: active (FIFO) → being scheduled → done,
// or parked as unschedulable until moveAll (a cluster change) or a
// periodic flush moves it to backoff, from which it becomes active when
// its backoff has passed. A pod is never in two places at once.
type podQueue struct {
	mu         sync.Mutex
	cond       *sync.Cond
	active     []string
	where      map[string]place
	parkedAt   map[string]time.Time
	due        map[string]time.Time
	attempts   map[string]int
	initial    time.Duration
	maxBackoff time.Duration
	flushAfter time.Duration
	closed     bool
	now        func() time.Time
	// moves counts moveAll calls; popMoves is its value when each
	// in-flight pod was popped. A pod found unschedulable while the
	// cluster changed is retried after backoff instead of parked: the
	// change may have come too late for its attempt.
	moves    int
	popMoves map[string]int
}

type place int

const (
	nowhere place = iota
	inActive
	inFlight
	inBackoff
	parked
)

func newPodQueue(initial, maxBackoff, flushAfter time.Duration) *podQueue {
	q := &podQueue{
		where: map[string]place{}, popMoves: map[string]int{}, parkedAt: map[string]time.Time{}, due: map[string]time.Time{}, attempts: map[string]int{},
		initial: initial, maxBackoff: maxBackoff, flushAfter: flushAfter, now: time.Now,
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add makes a new or changed pod active now.
func (q *podQueue) add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch q.where[key] {
	case inActive, inFlight:
		return
	}
	delete(q.parkedAt, key)
	delete(q.due, key)
	q.activate(key)
}

func (q *podQueue) activate(key string) {
	q.where[key] = inActive
	q.active = append(q.active, key)
	q.cond.Signal()
}

// pop blocks for the next active pod; false once closed.
func (q *podQueue) pop() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.closed {
			return "", false
		}
		for len(q.active) > 0 {
			key := q.active[0]
			q.active = q.active[1:]
			if q.where[key] != inActive {
				continue // forgotten meanwhile
			}
			q.where[key] = inFlight
			q.popMoves[key] = q.moves
			return key, true
		}
		q.cond.Wait()
	}
}

// done records how an attempt ended.
func (q *podQueue) done(key string, o outcome) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.where[key] != inFlight {
		return
	}
	if o == unschedulable && q.popMoves[key] != q.moves {
		o = failed
	}
	delete(q.popMoves, key)
	switch o {
	case bound:
		q.forgetLocked(key)
	case unschedulable:
		q.attempts[key]++
		q.where[key] = parked
		q.parkedAt[key] = q.now()
	case failed:
		q.attempts[key]++
		q.where[key] = inBackoff
		q.due[key] = q.now().Add(q.backoff(key))
	}
}

// forget drops a pod (bound by someone, deleted).
func (q *podQueue) forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.forgetLocked(key)
}

func (q *podQueue) forgetLocked(key string) {
	delete(q.where, key)
	delete(q.popMoves, key)
	delete(q.parkedAt, key)
	delete(q.due, key)
	delete(q.attempts, key)
}

func (q *podQueue) backoff(key string) time.Duration {
	d := q.initial
	for i := 1; i < q.attempts[key] && d < q.maxBackoff; i++ {
		d *= 2
	}
	return min(d, q.maxBackoff)
}

// moveAll: the cluster changed, so parked pods may fit now; each becomes
// active once its backoff (from when it was parked) has passed.
func (q *podQueue) moveAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moves++
	for key, at := range q.parkedAt {
		delete(q.parkedAt, key)
		q.where[key] = inBackoff
		q.due[key] = at.Add(q.backoff(key))
	}
}

// tick activates pods whose backoff passed and flushes pods parked longer
// than flushAfter; call it periodically.
func (q *podQueue) tick() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for key, at := range q.parkedAt {
		if now.Sub(at) >= q.flushAfter {
			delete(q.parkedAt, key)
			q.where[key] = inBackoff
			q.due[key] = now
		}
	}
	for key, due := range q.due {
		if !now.Before(due) {
			delete(q.due, key)
			q.activate(key)
		}
	}
}

func (q *podQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// busy reports whether pods wait to be scheduled.
func (q *podQueue) busy() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.active) > 0
}

// lens reports the queue's sizes (active, backoff, parked) for tests and
// logs.
func (q *podQueue) lens() (active, backoff, parkedN int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, w := range q.where {
		switch w {
		case inActive:
			active++
		case inBackoff:
			backoff++
		case parked:
			parkedN++
		}
	}
	return
}
