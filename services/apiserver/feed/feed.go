package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openpacific/pacific/internal/events"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Source is what the feed needs of the store; *store.Store implements it.
type Source interface {
	// LeaderChanges carries whether this replica is the ready leader, first
	// the current state, then every change; every true means "(re)acquired
	// leadership: start over". Closed when ctx ends or the store closes.
	LeaderChanges(ctx context.Context) <-chan bool
	// Revision is the replica's current (applied) revision.
	Revision() int64
	// Watch streams changes with revision > fromRevision in order, or fails
	// with store.ErrCompacted if they are no longer retained.
	Watch(ctx context.Context, p store.Prefix, fromRevision int64) (*store.Watch, error)
}

// Defaults.
const (
	DefaultMaxInFlight = 256
	DefaultAckTimeout  = 10 * time.Second
	minBackoff         = 100 * time.Millisecond
	maxBackoff         = 5 * time.Second
	statsInterval      = 10 * time.Second
)

// ErrSourceClosed is returned by Run when the store closes.
var ErrSourceClosed = errors.New("feed: store closed")

// Config configures a Publisher.
type Config struct {
	// NATS is the connection to publish on; the caller owns it. If nil,
	// URL (with NATSOptions) is dialled by Run and closed when Run returns.
	NATS        *nats.Conn
	URL         string
	NATSOptions []nats.Option
	// Source is the store replica.
	Source Source
	// Encode turns a change into the WatchResponse consumers receive (the
	// object with metadata.resource_version stamped).
	Encode func(store.Event) (*corev1.WatchResponse, error)
	Logger *slog.Logger
	// MaxInFlight bounds unacknowledged publishes (default 256).
	MaxInFlight int
	// AckTimeout bounds the wait for one publish's ack (default 10s).
	AckTimeout time.Duration
	// StreamOptions adjust the stream created by events.EnsureStream.
	StreamOptions []events.StreamOption
}

// Stats are the publisher's counters.
type Stats struct {
	// Terms counts publishing attempts (leadership terms and restarts).
	Terms int64
	// Published counts acked changes that were new to the stream.
	Published int64
	// Duplicates counts acked changes the stream already had.
	Duplicates int64
	// Resyncs counts resync markers published.
	Resyncs int64
	// LastRevision is the last revision acked (new or duplicate).
	LastRevision int64
}

// Publisher publishes the store's changes while its replica leads.
type Publisher struct {
	cfg Config
	log *slog.Logger

	terms, published, duplicates, resyncs, lastRev atomic.Int64
}

// New validates cfg and returns a Publisher; Run starts it.
func New(cfg Config) (*Publisher, error) {
	if cfg.NATS == nil && cfg.URL == "" {
		return nil, errors.New("feed: a NATS connection or URL is required")
	}
	if cfg.Source == nil {
		return nil, errors.New("feed: Source is required")
	}
	if cfg.Encode == nil {
		return nil, errors.New("feed: Encode is required")
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{cfg: cfg, log: log.With("component", "feed")}, nil
}

// Stats returns the counters so far.
func (p *Publisher) Stats() Stats {
	return Stats{
		Terms:        p.terms.Load(),
		Published:    p.published.Load(),
		Duplicates:   p.duplicates.Load(),
		Resyncs:      p.resyncs.Load(),
		LastRevision: p.lastRev.Load(),
	}
}

// Run follows the replica's leadership and publishes while it leads. It
// blocks until ctx ends (returning ctx's error) or the store closes
// (ErrSourceClosed).
func (p *Publisher) Run(ctx context.Context) error {
	nc := p.cfg.NATS
	if nc == nil {
		opts := append([]nats.Option{nats.Name("pacific-feed"), nats.MaxReconnects(-1)}, p.cfg.NATSOptions...)
		var err error
		if nc, err = nats.Connect(p.cfg.URL, opts...); err != nil {
			return fmt.Errorf("feed: connect to NATS at %s: %w", p.cfg.URL, err)
		}
		defer nc.Close()
	}
	subCtx, cancelSub := context.WithCancel(ctx)
	defer cancelSub()
	leader := p.cfg.Source.LeaderChanges(subCtx)

	var (
		stopTerm = func() {}
		wg       sync.WaitGroup
	)
	defer func() {
		stopTerm()
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case isLeader, ok := <-leader:
			// Any change ends the current term at once.
			stopTerm()
			wg.Wait()
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return ErrSourceClosed
			}
			if !isLeader {
				p.log.Debug("not the leader; not publishing")
				continue
			}
			termCtx, cancel := context.WithCancel(ctx)
			stopTerm = cancel
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.lead(termCtx, nc)
			}()
		}
	}
}

// lead publishes until ctx ends, starting over after errors.
func (p *Publisher) lead(ctx context.Context, nc *nats.Conn) {
	p.log.Debug("leader: publishing changes")
	backoff := minBackoff
	for {
		progressed, err := p.publishTerm(ctx, nc)
		if ctx.Err() != nil {
			p.log.Debug("leadership ended; publishing stopped", "last_revision", p.lastRev.Load())
			return
		}
		if progressed {
			backoff = minBackoff
		}
		p.log.Warn("change feed interrupted; starting over from the stream's last message",
			"error", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

type inflight struct {
	rev int64
	fut jetstream.PubAckFuture
}

// publishTerm runs steps 1–3 of the package doc until an error or ctx ends.
// progressed reports whether any publish was acked.
func (p *Publisher) publishTerm(ctx context.Context, nc *nats.Conn) (progressed bool, err error) {
	p.terms.Add(1)
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(p.cfg.MaxInFlight+1),
		jetstream.WithPublishAsyncTimeout(p.cfg.AckTimeout))
	if err != nil {
		return false, fmt.Errorf("jetstream: %w", err)
	}
	defer js.CleanupPublisher()
	if err := events.EnsureStream(ctx, js, p.cfg.StreamOptions...); err != nil {
		return false, err
	}
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return false, fmt.Errorf("open stream %s: %w", events.StreamName, err)
	}
	prevID, from, err := LastPublished(ctx, stream)
	if err != nil {
		return false, err
	}
	src := p.cfg.Source
	w, err := src.Watch(ctx, store.Prefix{}, from)
	if errors.Is(err, store.ErrCompacted) {
		cur := src.Revision()
		msg := events.NewResyncMsg(cur)
		if prevID != "" {
			msg.Header.Set(jetstream.ExpectedLastMsgIDHeader, prevID)
		}
		if _, err := js.PublishMsg(ctx, msg, jetstream.WithRetryAttempts(0)); err != nil {
			return false, fmt.Errorf("publish resync marker at revision %d: %w", cur, err)
		}
		p.resyncs.Add(1)
		p.log.Warn("the store no longer retains the changes after the stream's last message; published a resync marker, consumers will relist",
			"stream_revision", from, "resync_revision", cur)
		prevID, from = msg.Header.Get(events.HeaderMsgID), cur
		progressed = true
		w, err = src.Watch(ctx, store.Prefix{}, from)
	}
	if err != nil {
		return progressed, fmt.Errorf("watch the store from revision %d: %w", from, err)
	}
	defer w.Close()
	p.log.Debug("publishing from revision", "revision", from)

	stats := time.NewTicker(statsInterval)
	defer stats.Stop()
	queue := make([]inflight, 0, p.cfg.MaxInFlight)
	for {
		var (
			okCh  <-chan *jetstream.PubAck
			errCh <-chan error
			evCh  = w.Events()
		)
		if len(queue) > 0 {
			okCh, errCh = queue[0].fut.Ok(), queue[0].fut.Err()
		}
		if len(queue) >= p.cfg.MaxInFlight {
			evCh = nil
		}
		select {
		case <-ctx.Done():
			return progressed, ctx.Err()
		case ev, ok := <-evCh:
			if !ok {
				return progressed, fmt.Errorf("store watch ended: %w", watchErr(w))
			}
			if ev.Revision <= from {
				continue // the replica was behind the stream
			}
			if strings.HasPrefix(ev.Key.Kind, store.PrivateKindPrefix) {
				continue // secrets of hosted services never leave the store
			}
			msg, err := p.message(ev)
			if err != nil {
				p.log.Error("cannot encode a change; the feed waits until it can", "revision", ev.Revision, "kind", ev.Key.Kind, "error", err)
				return progressed, err
			}
			if prevID != "" {
				msg.Header.Set(jetstream.ExpectedLastMsgIDHeader, prevID)
			}
			fut, err := js.PublishMsgAsync(msg, jetstream.WithRetryAttempts(0))
			if err != nil {
				return progressed, fmt.Errorf("publish revision %d: %w", ev.Revision, err)
			}
			queue = append(queue, inflight{rev: ev.Revision, fut: fut})
			prevID, from = msg.Header.Get(events.HeaderMsgID), ev.Revision
		case ack := <-okCh:
			if ack.Duplicate {
				p.duplicates.Add(1)
			} else {
				p.published.Add(1)
			}
			p.lastRev.Store(queue[0].rev)
			progressed = true
			queue[0] = inflight{}
			queue = queue[1:]
		case err := <-errCh:
			return progressed, fmt.Errorf("publish revision %d: %w", queue[0].rev, err)
		case <-stats.C:
			s := p.Stats()
			p.log.Debug("change feed", "published", s.Published, "duplicates", s.Duplicates,
				"resyncs", s.Resyncs, "last_revision", s.LastRevision, "in_flight", len(queue))
		}
	}
}

func (p *Publisher) message(ev store.Event) (*nats.Msg, error) {
	resp, err := p.cfg.Encode(ev)
	if err != nil {
		return nil, fmt.Errorf("encode revision %d: %w", ev.Revision, err)
	}
	if resp.GetResourceVersion() != ev.Revision {
		return nil, fmt.Errorf("encode revision %d: resource_version %d does not match", ev.Revision, resp.GetResourceVersion())
	}
	return events.NewMsg(resp, ev.Key.Kind, ev.Key.Namespace)
}

func watchErr(w *store.Watch) error {
	if err := w.Err(); err != nil {
		return err
	}
	return errors.New("closed")
}

// LastPublished returns the Nats-Msg-Id and Pacific-Revision of the stream's
// last message, or "" and 0 for an empty stream.
func LastPublished(ctx context.Context, stream jetstream.Stream) (msgID string, revision int64, err error) {
	msg, err := stream.GetLastMsgForSubject(ctx, events.SubjectPrefix+".>")
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("read the stream's last message: %w", err)
	}
	rev, err := events.Revision(msg.Header)
	if err != nil {
		return "", 0, fmt.Errorf("stream's last message (sequence %d): %w", msg.Sequence, err)
	}
	id := msg.Header.Get(events.HeaderMsgID)
	if id == "" {
		return "", 0, fmt.Errorf("stream's last message (sequence %d) has no %s", msg.Sequence, events.HeaderMsgID)
	}
	return id, rev, nil
}
