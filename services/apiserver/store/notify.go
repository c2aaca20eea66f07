package store

import (
	"context"
	"sync"
)

// broadcast wakes every goroutine waiting for "something changed".
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// C returns a channel closed at the next notify.
func (b *broadcast) C() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) notify() {
	b.mu.Lock()
	close(b.ch)
	b.ch = make(chan struct{})
	b.mu.Unlock()
}

// indexNotifier tracks the state machine's applied index and lets readers
// wait for it to reach a value.
type indexNotifier struct {
	mu  sync.Mutex
	idx int64
	ch  chan struct{}
}

func newIndexNotifier() *indexNotifier { return &indexNotifier{ch: make(chan struct{})} }

func (n *indexNotifier) get() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.idx
}

func (n *indexNotifier) set(idx int64) {
	n.mu.Lock()
	n.idx = idx
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}

// wait returns once the index is at least idx, or with the context's error,
// or ErrClosed once closed is closed.
func (n *indexNotifier) wait(ctx context.Context, idx int64, closed <-chan struct{}) error {
	for {
		n.mu.Lock()
		cur, ch := n.idx, n.ch
		n.mu.Unlock()
		if cur >= idx {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-closed:
			return ErrClosed
		}
	}
}
