package grpcserver

import (
	"context"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// peerLimiter keeps one token bucket per remote IP. Idle buckets are dropped
// so the map cannot grow without bound.
type peerLimiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	lastGC  time.Time
}

type bucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

const maxTrackedPeers = 10000

func newPeerLimiter(perSecond float64, burst int) *peerLimiter {
	if burst <= 0 {
		burst = int(perSecond)
	}
	return &peerLimiter{rate: rate.Limit(perSecond), burst: burst, buckets: map[string]*bucket{}}
}

func (p *peerLimiter) allow(ctx context.Context) error {
	if p.rate <= 0 {
		return nil
	}
	host := "unknown"
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		if h, _, err := net.SplitHostPort(pr.Addr.String()); err == nil {
			host = h
		}
	}
	now := time.Now()
	p.mu.Lock()
	if len(p.buckets) > maxTrackedPeers || now.Sub(p.lastGC) > time.Minute {
		for k, b := range p.buckets {
			if now.Sub(b.seen) > time.Minute {
				delete(p.buckets, k)
			}
		}
		p.lastGC = now
	}
	b, ok := p.buckets[host]
	if !ok {
		b = &bucket{limiter: rate.NewLimiter(p.rate, p.burst)}
		p.buckets[host] = b
	}
	b.seen = now
	allowed := b.limiter.AllowN(now, 1)
	p.mu.Unlock()
	if !allowed {
		return status.Error(codes.ResourceExhausted, "rate limit exceeded; slow down and retry")
	}
	return nil
}

func (p *peerLimiter) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := p.allow(ctx); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func (p *peerLimiter) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := p.allow(ss.Context()); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}
