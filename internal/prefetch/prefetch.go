package prefetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subjects.
const (
	StreamName    = "PACIFIC_PREFETCH"
	SubjectPrefix = "pacific.v1.prefetch"
)

// Request asks a host to pull an image.
type Request struct {
	Ref       string `json:"ref"`
	Namespace string `json:"namespace,omitempty"`
}

// Subject is the subject for host's requests.
func Subject(host string) (string, error) {
	if host == "" || strings.ContainsAny(host, ".*> \t\r\n") {
		return "", fmt.Errorf("prefetch: invalid host name %q for a subject token", host)
	}
	return SubjectPrefix + "." + host, nil
}

// Durable is the name of host's consumer.
func Durable(host string) string { return "imagesvc-" + host }

// EnsureStream creates or updates the work-queue stream.
func EnsureStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       StreamName,
		Subjects:   []string{SubjectPrefix + ".>"},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		MaxAge:     time.Hour,
		MaxMsgSize: 4 << 10,
		Duplicates: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("prefetch: ensure stream: %w", err)
	}
	return st, nil
}

// Publish queues req for host. Identical requests within a minute are
// de-duplicated.
func Publish(ctx context.Context, js jetstream.JetStream, host string, req Request) error {
	subj, err := Subject(host)
	if err != nil {
		return err
	}
	if req.Ref == "" {
		return errors.New("prefetch: ref is required")
	}
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := js.Publish(ctx, subj, data, jetstream.WithMsgID(host+"/"+req.Ref)); err != nil {
		return fmt.Errorf("prefetch: publish %s for %s: %w", req.Ref, host, err)
	}
	return nil
}

// ConsumeOptions tune Consume.
type ConsumeOptions struct {
	// Permanent reports errors not worth retrying (e.g. image not found).
	Permanent func(error) bool
	// RetryDelay before a failed request is delivered again (default 10s).
	RetryDelay time.Duration
	Logger     *slog.Logger
}

// Consume pulls host's requests until ctx ends, calling pull for each. Success
// or a permanent error acknowledges the request; other errors redeliver it
// after RetryDelay, at most 5 times in all.
func Consume(ctx context.Context, js jetstream.JetStream, host string, pull func(context.Context, Request) error, o ConsumeOptions) error {
	logger, permanent := o.Logger, o.Permanent
	if logger == nil {
		logger = slog.Default()
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = 10 * time.Second
	}
	subj, err := Subject(host)
	if err != nil {
		return err
	}
	st, err := EnsureStream(ctx, js)
	if err != nil {
		return err
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       Durable(host),
		FilterSubject: subj,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       10 * time.Minute,
		MaxDeliver:    5,
	})
	if err != nil {
		return fmt.Errorf("prefetch: consumer: %w", err)
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(4, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			logger.Warn("prefetch fetch failed", "err", err)
			continue
		}
		for msg := range batch.Messages() {
			var req Request
			if err := json.Unmarshal(msg.Data(), &req); err != nil || req.Ref == "" {
				logger.Warn("dropping malformed prefetch request", "subject", msg.Subject())
				msg.Term()
				continue
			}
			err := pull(ctx, req)
			switch {
			case err == nil:
				logger.Info("prefetched image", "ref", req.Ref)
				msg.Ack()
			case permanent != nil && permanent(err):
				logger.Warn("prefetch failed for good", "ref", req.Ref, "err", err)
				msg.Term()
			default:
				logger.Warn("prefetch failed; will retry", "ref", req.Ref, "err", err)
				msg.NakWithDelay(o.RetryDelay)
			}
		}
	}
	return nil
}
