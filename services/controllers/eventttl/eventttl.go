package eventttl

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Defaults.
const (
	DefaultTTL      = time.Hour
	DefaultInterval = time.Minute
)

// Config configures the sweeper.
type Config struct {
	// TTL: an Event whose last occurrence is older is deleted (default 1h).
	TTL time.Duration
	// Interval between sweeps (default 1m).
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Run sweeps every Interval until ctx ends.
func Run(ctx context.Context, c *client.Client, cfg Config) {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	events := client.For[*corev1.Event](c)
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		if n, err := Sweep(ctx, events, cfg.Now().Add(-cfg.TTL)); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("event expiry sweep", "err", err, "deleted", n)
		} else if n > 0 {
			cfg.Logger.Debug("expired events deleted", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep deletes every Event last seen before cutoff and returns how many
// it deleted. An Event that recurs meanwhile (its resourceVersion
// changed) is kept.
func Sweep(ctx context.Context, events *client.Typed[*corev1.Event], cutoff time.Time) (int, error) {
	list, _, err := events.ListAll(ctx, client.ListOptions{Limit: 500})
	if err != nil {
		return 0, fmt.Errorf("list events: %w", err)
	}
	deleted := 0
	for _, ev := range list {
		if !lastSeen(ev).Before(cutoff) {
			continue
		}
		md := ev.GetMetadata()
		err := events.Delete(ctx, md.GetNamespace(), md.GetName(), client.Precondition(md.GetResourceVersion()))
		switch {
		case err == nil:
			deleted++
		case client.IsNotFound(err), client.IsConflict(err):
		default:
			return deleted, fmt.Errorf("delete event %s/%s: %w", md.GetNamespace(), md.GetName(), err)
		}
	}
	return deleted, nil
}

// lastSeen is when ev last occurred: its lastTimestamp, else its
// firstTimestamp, else when it was stored.
func lastSeen(ev *corev1.Event) time.Time {
	for _, ts := range []*timestamppb.Timestamp{ev.GetLastTimestamp(), ev.GetFirstTimestamp(), ev.GetMetadata().GetCreationTimestamp()} {
		if ts.GetSeconds() != 0 || ts.GetNanos() != 0 {
			return ts.AsTime()
		}
	}
	return time.Time{}
}
