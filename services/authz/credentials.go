package authz

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/openpacific/pacific/internal/grpcserver"
)

// mintAccess signs an access token. create allows making the first
// signing key (a store write); replicas forwarding to the leader must not,
// since that write would itself be forwarded.
func (s *Service) mintAccess(ctx context.Context, user string, groups []string, ttl time.Duration, create bool) (string, time.Time, error) {
	var key *signingKey
	if create {
		var err error
		if key, err = s.keys.current(ctx); err != nil {
			return "", time.Time{}, err
		}
	} else {
		key = s.keys.newest()
		if key == nil {
			if err := s.keys.reload(ctx); err != nil {
				return "", time.Time{}, err
			}
			if key = s.keys.newest(); key == nil {
				return "", time.Time{}, fmt.Errorf("no signing key yet")
			}
		}
	}
	now := s.cfg.Now()
	exp := now.Add(ttl)
	tok, err := signJWT(key.kid, key.priv, Claims{Issuer: s.cfg.Issuer, Audience: s.cfg.Audience, Subject: user, Groups: groups,
		ExpiresAt: exp.Unix(), NotBefore: now.Unix(), IssuedAt: now.Unix(), ID: randomID(16)})
	return tok, exp, err
}

// tokenCredentials are gRPC per-call credentials that mint a fresh token
// for a service identity whenever the cached one is past half its life.
type tokenCredentials struct {
	s      *Service
	user   string
	groups []string
	create bool

	mu  sync.Mutex
	tok string
	exp time.Time
	iat time.Time
}

// Credentials returns per-call credentials for an in-process component
// (controllers, host agent, scheduler) acting as user in groups. Until
// mTLS client certificates replace them, this is how services prove who
// they are to the API server.
func (s *Service) Credentials(user string, groups ...string) credentials.PerRPCCredentials {
	return &tokenCredentials{s: s, user: user, groups: groups, create: true}
}

// PeerCredentials are a replica's credentials for forwarding to the
// leader: system:apiserver:<id> in system:apiservers, minted only with
// keys that already exist.
func (s *Service) PeerCredentials(replicaID string) credentials.PerRPCCredentials {
	return &tokenCredentials{s: s, user: "system:apiserver:" + replicaID, groups: []string{grpcserver.GroupAPIServers}}
}

func (c *tokenCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.s.cfg.Now()
	if c.tok == "" || now.After(c.iat.Add(c.exp.Sub(c.iat)/2)) {
		tok, exp, err := c.s.mintAccess(ctx, c.user, c.groups, c.s.cfg.TokenTTL, c.create)
		if err != nil {
			return nil, fmt.Errorf("credentials for %s: %w", c.user, err)
		}
		c.tok, c.exp, c.iat = tok, exp, now
	}
	return map[string]string{"authorization": "Bearer " + c.tok}, nil
}

func (c *tokenCredentials) RequireTransportSecurity() bool { return false }

// Run creates the first signing key, rotates keys and deletes expired
// refresh tokens and revocations until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	ready := false
	var lastSweep time.Time
	for {
		if _, err := s.keys.current(ctx); err != nil {
			s.logger.DebugContext(ctx, "signing key not ready", "err", err)
		} else if !ready {
			ready = true
			tick.Reset(time.Minute)
		}
		if ready && s.cfg.Now().Sub(lastSweep) > 10*time.Minute {
			s.sweep(ctx)
			lastSweep = s.cfg.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sweep deletes refresh tokens and revocations past their expiry.
func (s *Service) sweep(ctx context.Context) {
	now := s.cfg.Now().Unix()
	for _, coll := range []string{collRevoked, collSAMLSeen} {
		all, err := s.cfg.Records.ListRecords(ctx, coll)
		if err != nil {
			continue
		}
		for name, b := range all {
			var exp int64
			if _, err := fmt.Sscan(string(b), &exp); err != nil || exp < now {
				_ = s.cfg.Records.DeleteRecord(ctx, coll, name)
			}
		}
	}
	if all, err := s.cfg.Records.ListRecords(ctx, collRefresh); err == nil {
		for h, b := range all {
			var r refreshRecord
			if jsonErr := json.Unmarshal(b, &r); jsonErr != nil || r.ExpiresAt < now {
				_ = s.cfg.Records.DeleteRecord(ctx, collRefresh, h)
			}
		}
	}
}
