package resource

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// DefaultMaxObjectBytes is the largest object accepted (like etcd's 1.5 MiB).
const DefaultMaxObjectBytes = 3 << 19

// Store is what the service needs of the replicated store.
type Store interface {
	Create(ctx context.Context, k store.Key, value []byte) (store.Record, error)
	Update(ctx context.Context, k store.Key, value []byte, expectModRevision int64) (store.Record, error)
	Delete(ctx context.Context, k store.Key, expectModRevision int64) (store.Record, error)
	Get(ctx context.Context, k store.Key, o store.ReadOptions) (store.Record, error)
	List(ctx context.Context, p store.Prefix, o store.ListOptions) (store.ListResult, error)
	Watch(ctx context.Context, p store.Prefix, fromRevision int64) (*store.Watch, error)
}

// Config configures the service.
type Config struct {
	Registry *registry.Registry
	Store    Store
	Logger   *slog.Logger
	// MaxObjectBytes caps an encoded object (0: DefaultMaxObjectBytes).
	MaxObjectBytes int
	// BookmarkInterval is how often idle watches with allow_bookmarks get one.
	BookmarkInterval time.Duration
	// Now and NewUID are for tests; defaults are the clock and UUIDv4.
	Now    func() time.Time
	NewUID func() string
}

// Service serves ResourceService and DiscoveryService.
type Service struct {
	corev1.UnimplementedResourceServiceServer
	corev1.UnimplementedDiscoveryServiceServer

	reg      *registry.Registry
	store    Store
	logger   *slog.Logger
	maxBytes int
	bookmark time.Duration
	now      func() time.Time
	newUID   func() string
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{
		reg:      cfg.Registry,
		store:    cfg.Store,
		logger:   cfg.Logger,
		maxBytes: cfg.MaxObjectBytes,
		bookmark: cfg.BookmarkInterval,
		now:      cfg.Now,
		newUID:   cfg.NewUID,
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultMaxObjectBytes
	}
	if s.bookmark == 0 {
		s.bookmark = time.Minute
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newUID == nil {
		s.newUID = func() string { return uuid.NewString() }
	}
	return s
}

// ListKinds implements DiscoveryService.
func (s *Service) ListKinds(ctx context.Context, _ *corev1.ListKindsRequest) (*corev1.ListKindsResponse, error) {
	resp := &corev1.ListKindsResponse{}
	for _, k := range s.reg.All() {
		resp.Kinds = append(resp.Kinds, k.Info())
	}
	return resp, nil
}
