package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
)

// errNotLeader says this replica cannot serve a leader-only request now
// (not the leader, or not ready yet); the caller retries on the leader.
var errNotLeader = errors.New("not the ready leader")

// verifier shares one raft VerifyLeader among all reads waiting at the
// moment it starts. A read joins the next round that has not started yet,
// so the confirmation always happens after the read noted its index.
type verifier struct {
	r *raft.Raft

	mu      sync.Mutex
	next    *verifyRound
	running bool
}

type verifyRound struct {
	done chan struct{}
	err  error
}

// verify confirms that this replica still leads.
func (v *verifier) verify(ctx context.Context) error {
	v.mu.Lock()
	if v.next == nil {
		v.next = &verifyRound{done: make(chan struct{})}
	}
	round := v.next
	if !v.running {
		v.running = true
		go v.run()
	}
	v.mu.Unlock()
	select {
	case <-round.done:
		return round.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (v *verifier) run() {
	for {
		v.mu.Lock()
		round := v.next
		v.next = nil
		if round == nil {
			v.running = false
			v.mu.Unlock()
			return
		}
		v.mu.Unlock()
		round.err = v.r.VerifyLeader().Error()
		close(round.done)
	}
}

// readIndexLocal is the leader's half of a linearizable read: the commit
// index noted before a leadership confirmation that happened after it.
// Every entry of this leader's term is one the state machine sees
// (commands and configuration changes; the term starts with our own
// marker command), so the follower can wait for its applied index to
// reach it.
func (s *Store) readIndexLocal(ctx context.Context) (uint64, error) {
	term, ok := s.readyTermNow()
	if !ok {
		return 0, errNotLeader
	}
	idx := s.raft.CommitIndex()
	if err := s.reads.verify(ctx); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if errors.Is(err, raft.ErrRaftShutdown) {
			return 0, ErrClosed
		}
		return 0, fmt.Errorf("%w: %w", errNotLeader, err)
	}
	if s.raft.CurrentTerm() != term {
		return 0, errNotLeader
	}
	return idx, nil
}

// linearize waits until this replica has applied every change committed
// before the call (ReadIndex): the index comes from the local leader or,
// on a follower, from the leader over StoreService.ReadIndex.
func (s *Store) linearize(ctx context.Context) error {
	var idx uint64
	err := s.withLeader(ctx,
		func(ctx context.Context) (err error) {
			idx, err = s.readIndexLocal(ctx)
			return err
		},
		func(ctx context.Context, p *peer) (err error) {
			idx, err = p.readIndex(ctx)
			return err
		})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, s.leaderWait)
	defer cancel()
	if err := s.fsm.applied.wait(wctx, int64(idx), s.closed); err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: replica did not apply read index %d in time", ErrNoLeader, idx)
		}
		return err
	}
	return nil
}
