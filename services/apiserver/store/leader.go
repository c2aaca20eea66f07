package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

// pollInterval backs up leader-change notifications, which raft may drop.
const pollInterval = 50 * time.Millisecond

// runLeadership follows raft's leadership notifications. On gaining
// leadership it starts establish; readiness is reset on every change.
func (s *Store) runLeadership(notify <-chan bool) {
	defer s.wg.Done()
	stopEstablish := context.CancelFunc(func() {})
	defer func() { stopEstablish() }()
	for {
		select {
		case isLeader := <-notify:
			stopEstablish()
			s.lmu.Lock()
			s.epoch++
			epoch := s.epoch
			if s.ready {
				s.ready = false
				s.publishLocked(false)
			}
			s.lmu.Unlock()
			s.changes.notify()
			if isLeader {
				ctx, cancel := context.WithCancel(s.bgCtx)
				stopEstablish = cancel
				s.wg.Add(1)
				go s.establish(ctx, epoch)
			}
		case <-s.closed:
			return
		}
	}
}

// establish commits an entry of the new leader's own term (a SET_MEMBER
// for itself, which also keeps the member table current) before the
// leader serves reads: until then its commit index may lag behind entries
// committed by earlier leaders.
func (s *Store) establish(ctx context.Context, epoch uint64) {
	defer s.wg.Done()
	term := s.raft.CurrentTerm()
	entry, err := encodeEntry(storev1.CommandType_COMMAND_TYPE_SET_MEMBER, &storev1.Command{
		Member: &storev1.MemberInfo{Id: s.cfg.ID, ApiAddress: s.cfg.APIAddr},
	})
	if err != nil {
		s.log.Error("encode leader marker", "error", err)
		return
	}
	for {
		f := s.raft.Apply(entry, 0)
		err := waitFuture(ctx, f)
		if err == nil {
			break
		}
		if ctx.Err() != nil || errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
			errors.Is(err, raft.ErrRaftShutdown) {
			return // a leadership change notification follows
		}
		s.log.Warn("leader marker failed; retrying", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollInterval):
		}
	}
	s.lmu.Lock()
	if s.epoch == epoch && s.raft.CurrentTerm() == term {
		s.ready, s.readyTerm = true, term
		s.publishLocked(true)
		s.log.Info("store leader ready", "id", s.cfg.ID, "term", term, "revision", s.Revision())
	}
	s.lmu.Unlock()
	s.changes.notify()
	s.registerPeers(ctx)
}

// registerPeers records the API addresses of configured peers that are in
// the Raft configuration but missing from the member table.
func (s *Store) registerPeers(ctx context.Context) {
	if len(s.cfg.Peers) == 0 {
		return
	}
	f := s.raft.GetConfiguration()
	if err := waitFuture(ctx, f); err != nil {
		return
	}
	inConfig := map[string]bool{}
	for _, srv := range f.Configuration().Servers {
		inConfig[string(srv.ID)] = true
	}
	for _, p := range s.cfg.Peers {
		if p.ID == s.cfg.ID || p.APIAddr == "" || !inConfig[p.ID] {
			continue
		}
		if _, found := s.fsm.member(p.ID); found {
			continue
		}
		entry, err := encodeEntry(storev1.CommandType_COMMAND_TYPE_SET_MEMBER, &storev1.Command{
			Member: &storev1.MemberInfo{Id: p.ID, ApiAddress: p.APIAddr},
		})
		if err != nil {
			return
		}
		if err := waitFuture(ctx, s.raft.Apply(entry, 0)); err != nil {
			return
		}
	}
}

// runSelfRegister keeps this replica's API address in the member table, so
// that followers can reach whoever leads without relying on Config.Peers.
func (s *Store) runSelfRegister() {
	defer s.wg.Done()
	if s.cfg.APIAddr == "" {
		return
	}
	for {
		changed := s.changes.C()
		if addr, found := s.fsm.member(s.cfg.ID); (!found || addr != s.cfg.APIAddr) && s.inConfiguration() {
			_, leaderID := s.raft.LeaderWithID()
			if leaderID != "" && string(leaderID) != s.cfg.ID {
				ctx, cancel := context.WithTimeout(s.bgCtx, s.leaderWait)
				_, err := s.apply(ctx, storev1.CommandType_COMMAND_TYPE_SET_MEMBER, &storev1.Command{
					Member: &storev1.MemberInfo{Id: s.cfg.ID, ApiAddress: s.cfg.APIAddr},
				})
				cancel()
				if err != nil && s.bgCtx.Err() == nil {
					s.log.Debug("register own API address", "error", err)
				}
			}
		}
		select {
		case <-changed:
		case <-time.After(time.Second):
		case <-s.closed:
			return
		}
	}
}

// inConfiguration reports whether this replica is in its latest known Raft
// configuration.
func (s *Store) inConfiguration() bool {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, srv := range f.Configuration().Servers {
		if string(srv.ID) == s.cfg.ID {
			return true
		}
	}
	return false
}

// runObserver turns raft leader observations into change notifications.
func (s *Store) runObserver(ch <-chan raft.Observation) {
	defer s.wg.Done()
	for {
		select {
		case <-ch:
			s.changes.notify()
		case <-s.closed:
			return
		}
	}
}

// publishLocked sends the new leadership state to every subscriber,
// replacing a value it has not read yet; s.lmu is held.
func (s *Store) publishLocked(v bool) {
	for ch := range s.subs {
		select {
		case <-ch:
		default:
		}
		select {
		case ch <- v:
		default:
		}
	}
}

// LeaderChanges returns a new channel that first carries whether this
// replica is the ready leader (IsLeader), then a value on every change.
// It holds only the latest value: a slow reader may miss a short-lived
// state, so treat every true as "(re)acquired leadership; start over" —
// true after true means leadership was lost and regained meanwhile. The
// channel is closed when ctx ends or the store closes. Any number of
// subscribers may exist.
func (s *Store) LeaderChanges(ctx context.Context) <-chan bool {
	ch := make(chan bool, 1)
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.subs == nil {
		close(ch)
		return ch
	}
	ch <- s.ready && s.raft.State() == raft.Leader
	s.subs[ch] = struct{}{}
	context.AfterFunc(ctx, func() {
		s.lmu.Lock()
		defer s.lmu.Unlock()
		if _, found := s.subs[ch]; found {
			delete(s.subs, ch)
			close(ch)
		}
	})
	return ch
}

// IsLeader reports whether this replica leads and is ready to serve.
func (s *Store) IsLeader() bool {
	_, ok := s.readyTermNow()
	return ok
}

// readyTermNow returns the current term if this replica is its ready leader.
func (s *Store) readyTermNow() (uint64, bool) {
	s.lmu.Lock()
	ready, term := s.ready, s.readyTerm
	s.lmu.Unlock()
	if !ready || s.raft.State() != raft.Leader || s.raft.CurrentTerm() != term {
		return 0, false
	}
	return term, true
}

// WaitLeader returns once a leader is known and, if that is this replica,
// ready to serve; ErrNoLeader (with the context's error) otherwise.
func (s *Store) WaitLeader(ctx context.Context) error {
	for {
		changed := s.changes.C()
		_, id := s.raft.LeaderWithID()
		if id != "" && (string(id) != s.cfg.ID || s.IsLeader()) {
			return nil
		}
		select {
		case <-changed:
		case <-time.After(pollInterval):
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-s.closed:
			return ErrClosed
		}
	}
}

// waitFuture waits for a raft future, or for ctx.
func waitFuture(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
