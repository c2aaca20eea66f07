package store

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/raft"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

var errInvalidMember = errors.New("invalid member")

// Members lists the replicas in the Raft configuration as this replica
// knows it (it answers without a leader, for diagnosis), with their API
// addresses from the member table (Config.Peers as fallback).
func (s *Store) Members(ctx context.Context) ([]Member, error) {
	f := s.raft.GetConfiguration()
	if err := waitFuture(ctx, f); err != nil {
		return nil, fmt.Errorf("raft configuration: %w", err)
	}
	_, leaderID := s.raft.LeaderWithID()
	table := s.fsm.memberTable()
	peers := map[string]string{}
	for _, p := range s.cfg.Peers {
		peers[p.ID] = p.APIAddr
	}
	var out []Member
	for _, srv := range f.Configuration().Servers {
		id := string(srv.ID)
		api, found := table[id]
		if !found {
			api = peers[id]
		}
		out = append(out, Member{
			ID:       id,
			RaftAddr: string(srv.Address),
			APIAddr:  api,
			Leader:   srv.ID == leaderID,
			Voter:    srv.Suffrage == raft.Voter,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// AddMember adds a voter (m.ID, m.RaftAddr) and records its APIAddr; it
// can be called on any replica. The new replica starts with an empty data
// dir and Bootstrap false, and catches up from the leader.
func (s *Store) AddMember(ctx context.Context, m Member) error {
	if m.ID == "" || m.RaftAddr == "" {
		return fmt.Errorf("%w: needs an ID and a Raft address: %+v", errInvalidMember, m)
	}
	return s.withLeader(ctx,
		func(ctx context.Context) error { return s.addMemberLocal(ctx, m) },
		func(ctx context.Context, p *peer) error { return p.addMember(ctx, m) })
}

// RemoveMember removes a replica from the Raft configuration and the
// member table; it can be called on any replica, also for the leader.
func (s *Store) RemoveMember(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty ID", errInvalidMember)
	}
	return s.withLeader(ctx,
		func(ctx context.Context) error { return s.removeMemberLocal(ctx, id) },
		func(ctx context.Context, p *peer) error { return p.removeMember(ctx, id) })
}

func (s *Store) addMemberLocal(ctx context.Context, m Member) error {
	if m.ID == "" || m.RaftAddr == "" {
		return fmt.Errorf("%w: needs an ID and a Raft address: %+v", errInvalidMember, m)
	}
	f := s.raft.AddVoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, 0)
	if err := membershipFutureError(ctx, f); err != nil {
		return fmt.Errorf("add voter %s: %w", m.ID, err)
	}
	if m.APIAddr == "" {
		return nil
	}
	// The member table entry may go through another leader by now.
	_, err := s.apply(ctx, storev1.CommandType_COMMAND_TYPE_SET_MEMBER, &storev1.Command{
		Member: &storev1.MemberInfo{Id: m.ID, ApiAddress: m.APIAddr},
	})
	if err != nil {
		return fmt.Errorf("record API address of %s: %w", m.ID, err)
	}
	return nil
}

func (s *Store) removeMemberLocal(ctx context.Context, id string) error {
	f := s.raft.RemoveServer(raft.ServerID(id), 0, 0)
	if err := membershipFutureError(ctx, f); err != nil {
		return fmt.Errorf("remove server %s: %w", id, err)
	}
	// Removing the leader itself makes it step down: this goes to the next.
	_, err := s.apply(ctx, storev1.CommandType_COMMAND_TYPE_REMOVE_MEMBER, &storev1.Command{
		Member: &storev1.MemberInfo{Id: id},
	})
	if err != nil {
		return fmt.Errorf("forget API address of %s: %w", id, err)
	}
	return nil
}

func membershipFutureError(ctx context.Context, f raft.Future) error {
	err := waitFuture(ctx, f)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %w", errNotLeader, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}
