package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	grpcpeer "google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

// defaultDialOptions come before Config.DialOptions, which may override
// them (transport credentials for mTLS).
func defaultDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  50 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   2 * time.Second,
			},
			MinConnectTimeout: 2 * time.Second,
		}),
	}
}

// peer is a client connection to another replica's API address.
type peer struct {
	addr   string
	conn   *grpc.ClientConn
	client storev1.StoreServiceClient
}

// peerConns holds one lazily created connection per peer API address.
type peerConns struct {
	opts []grpc.DialOption

	mu     sync.Mutex
	byAddr map[string]*peer
	closed bool
}

func newPeerConns(extra []grpc.DialOption) *peerConns {
	return &peerConns{opts: append(defaultDialOptions(), extra...), byAddr: map[string]*peer{}}
}

func (pc *peerConns) get(addr string) (*peer, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.closed {
		return nil, ErrClosed
	}
	if p := pc.byAddr[addr]; p != nil {
		return p, nil
	}
	conn, err := grpc.NewClient(addr, pc.opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to replica at %s: %w", addr, err)
	}
	p := &peer{addr: addr, conn: conn, client: storev1.NewStoreServiceClient(conn)}
	pc.byAddr[addr] = p
	return p, nil
}

func (pc *peerConns) close() error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.closed = true
	var errs []error
	for _, p := range pc.byAddr {
		if err := p.conn.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	pc.byAddr = nil
	return errors.Join(errs...)
}

// waitReady connects if needed and reports whether the connection became
// ready within d. A write is only sent on a ready connection, so that a
// failure to connect is known not to have applied anything.
func (p *peer) waitReady(ctx context.Context, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		st := p.conn.GetState()
		switch st {
		case connectivity.Ready:
			return true
		case connectivity.Idle:
			p.conn.Connect()
		case connectivity.Shutdown:
			return false
		}
		if !p.conn.WaitForStateChange(ctx, st) {
			return false
		}
	}
}

// leaderPeer returns a ready connection to the leader with the given ID.
func (s *Store) leaderPeer(ctx context.Context, id string) (*peer, error) {
	addr, found := s.fsm.member(id)
	if !found || addr == "" {
		for _, p := range s.cfg.Peers {
			if p.ID == id {
				addr = p.APIAddr
			}
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("%w: API address of leader %s unknown", errNotLeader, id)
	}
	p, err := s.peers.get(addr)
	if err != nil {
		return nil, err
	}
	if !p.waitReady(ctx, s.hb) {
		return nil, fmt.Errorf("%w: leader %s at %s unreachable", errNotLeader, id, addr)
	}
	return p, nil
}

// withLeader runs local when this replica leads, else remote against the
// leader. Attempts failing with errNotLeader changed nothing and are
// retried as the leader changes, for up to LeaderWaitTimeout; then
// ErrNoLeader.
func (s *Store) withLeader(ctx context.Context, local func(context.Context) error, remote func(context.Context, *peer) error) error {
	wctx, cancel := context.WithTimeout(ctx, s.leaderWait)
	defer cancel()
	for {
		changed := s.changes.C()
		_, id := s.raft.LeaderWithID()
		var err error
		switch {
		case id == "":
			err = fmt.Errorf("%w: no leader known", errNotLeader)
		case string(id) == s.cfg.ID:
			err = local(ctx)
		default:
			var p *peer
			if p, err = s.leaderPeer(wctx, string(id)); err == nil {
				err = remote(ctx, p)
			}
		}
		if !errors.Is(err, errNotLeader) {
			return err
		}
		select {
		case <-changed:
		case <-time.After(pollInterval):
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %w (%v)", ErrNoLeader, ctx.Err(), err)
			}
			return fmt.Errorf("%w: none usable within %s (%v)", ErrNoLeader, s.leaderWait, err)
		case <-s.closed:
			return ErrClosed
		}
	}
}

// apply sends a forwarded write to the leader. Once the request may have
// reached the leader, any failure other than "not the leader" is
// indeterminate. gRPC fills in the call's peer only when it opened a stream
// on a connection; without one the request was never sent, as when the
// leader died between waitReady and the call.
func (p *peer) apply(ctx context.Context, entry []byte) (*storev1.Result, error) {
	var sentTo grpcpeer.Peer
	resp, err := p.client.Apply(ctx, &storev1.ApplyRequest{Entry: entry}, grpc.Peer(&sentTo))
	if err != nil {
		if sentTo.Addr == nil && ctx.Err() == nil && status.Code(err) == codes.Unavailable {
			return nil, fmt.Errorf("%w: leader at %s unreachable: %s", errNotLeader, p.addr, status.Convert(err).Message())
		}
		return nil, p.writeError(ctx, err)
	}
	if resp.GetResult() == nil {
		return nil, fmt.Errorf("%w: leader at %s sent no result", ErrIndeterminate, p.addr)
	}
	return resp.GetResult(), nil
}

func (p *peer) writeError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch status.Code(err) {
	case codes.FailedPrecondition:
		return fmt.Errorf("%w: %s: %s", errNotLeader, p.addr, status.Convert(err).Message())
	case codes.InvalidArgument:
		return fmt.Errorf("%w: %s", errInvalidEntry, status.Convert(err).Message())
	default:
		return fmt.Errorf("%w: forwarded to %s: %w", ErrIndeterminate, p.addr, err)
	}
}

// readIndex asks the leader for a confirmed commit index. It is idempotent,
// so every failure is retried.
func (p *peer) readIndex(ctx context.Context) (uint64, error) {
	resp, err := p.client.ReadIndex(ctx, &storev1.ReadIndexRequest{})
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%w: read index from %s: %w", errNotLeader, p.addr, err)
	}
	return resp.GetIndex(), nil
}

// membershipError maps a forwarded membership change's failure.
func (p *peer) membershipError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if status.Code(err) == codes.FailedPrecondition {
		return fmt.Errorf("%w: %s: %s", errNotLeader, p.addr, status.Convert(err).Message())
	}
	return fmt.Errorf("leader at %s: %w", p.addr, err)
}

func (p *peer) addMember(ctx context.Context, m Member) error {
	_, err := p.client.AddMember(ctx, &storev1.AddMemberRequest{Member: &storev1.MemberInfo{
		Id: m.ID, ApiAddress: m.APIAddr, RaftAddress: m.RaftAddr,
	}})
	if err != nil {
		return p.membershipError(ctx, err)
	}
	return nil
}

func (p *peer) removeMember(ctx context.Context, id string) error {
	if _, err := p.client.RemoveMember(ctx, &storev1.RemoveMemberRequest{Id: id}); err != nil {
		return p.membershipError(ctx, err)
	}
	return nil
}
