package record

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Defaults of AggregatorConfig.
const (
	DefaultMinInterval = 10 * time.Second
	DefaultQPS         = 50
	DefaultMaxPending  = 4096
	DefaultMaxDelay    = 5 * time.Second
)

const (
	// maxKnown bounds the stored Events remembered for cheap bumps.
	maxKnown = 1024
	// maxMessage stays well under the API server's 4 KiB limit.
	maxMessage = 2048
	// maxNameStem keeps "<stem>.<16 hex>" within 253 characters.
	maxNameStem = 253 - 17
	writeTries  = 4
	// busyPoll is how often a write held back for a busy owner looks again.
	busyPoll = 50 * time.Millisecond
)

// AggregatorConfig configures an Aggregator.
type AggregatorConfig struct {
	// Events writes the Events. Required.
	Events *client.Typed[*corev1.Event]
	// Component is EventSource.component, e.g. "scheduler". Required.
	Component string
	// Host is EventSource.host, e.g. the host agent's host; optional.
	Host   string
	Logger *slog.Logger
	// MinInterval: writes about one object (and field path) with one
	// reason are at least this far apart (default 10s); occurrences
	// meanwhile add to counts. Negative: no such limit, events are written
	// as soon as Busy and QPS allow.
	MinInterval time.Duration
	// QPS bounds all writes (default 50 a second, bursts of twice that).
	QPS float64
	// MaxPending bounds the aggregated events waiting to be written
	// (default 4096); beyond it new ones are dropped (repeats of waiting
	// ones still count).
	MaxPending int
	// Busy, if set, reports whether the owner is busy: writes wait until
	// it is not, or until the event is MaxDelay (default 5s) old, so
	// that a burst of work is not slowed by its own bookkeeping.
	Busy     func() bool
	MaxDelay time.Duration
}

// Aggregator records Events without blocking the caller and without
// storms: occurrences with the same object (and field path), type, reason
// and message are one Event object whose count and lastTimestamp grow; its
// name derives from them, so a restarted recorder continues the same
// object. One goroutine (Run) writes, bounded by MinInterval per object
// and reason, by QPS overall and by MaxPending in memory; Flush writes
// what is left when the owner stops. Best effort: a failed write is
// logged and dropped.
type Aggregator struct {
	cfg     AggregatorConfig
	log     *slog.Logger
	limiter *rate.Limiter
	now     func() time.Time
	kick    chan struct{}

	mu        sync.Mutex
	pending   map[aggKey]*occurrences
	order     []aggKey
	lastWrite map[limitKey]time.Time
	pruned    time.Time
	dropped   int
	known     map[aggKey]*corev1.Event // last stored object per key
	knownQ    []aggKey                 // insertion order, for eviction
}

// aggKey identifies one aggregated Event. name is namespace/name;
// fieldPath the part of the object, e.g. spec.containers{main}.
type aggKey struct {
	uid, name, fieldPath, typ, reason, message string
}

// limitKey is what MinInterval applies to.
type limitKey struct{ uid, name, fieldPath, reason string }

func (k aggKey) limit() limitKey { return limitKey{k.uid, k.name, k.fieldPath, k.reason} }

// occurrences of one key not yet written.
type occurrences struct {
	key         aggKey
	ref         *corev1.ObjectReference
	count       int32
	first, last time.Time
}

// NewAggregator checks cfg; run the Aggregator with Run.
func NewAggregator(cfg AggregatorConfig) (*Aggregator, error) {
	if cfg.Events == nil || cfg.Component == "" {
		return nil, errors.New("record: Events and Component are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MinInterval == 0 {
		cfg.MinInterval = DefaultMinInterval
	}
	if cfg.QPS <= 0 {
		cfg.QPS = DefaultQPS
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	return &Aggregator{
		cfg:       cfg,
		log:       cfg.Logger,
		limiter:   rate.NewLimiter(rate.Limit(cfg.QPS), max(1, int(2*cfg.QPS))),
		now:       time.Now,
		kick:      make(chan struct{}, 1),
		pending:   map[aggKey]*occurrences{},
		lastWrite: map[limitKey]time.Time{},
		known:     map[aggKey]*corev1.Event{},
	}, nil
}

// Eventf records an occurrence of an Event of type typ (apis.EventNormal
// or EventWarning) about obj. It never blocks on the API server.
func (a *Aggregator) Eventf(obj apis.Object, typ, reason, format string, args ...any) {
	a.ReferenceEventf(reference(obj), typ, reason, format, args...)
}

// ReferenceEventf is Eventf about ref as it is, e.g. with a FieldPath
// naming a part of the object: occurrences about different field paths
// are different Events.
func (a *Aggregator) ReferenceEventf(ref *corev1.ObjectReference, typ, reason, format string, args ...any) {
	k := aggKey{
		uid: ref.GetUid(), name: ref.GetNamespace() + "/" + ref.GetName(), fieldPath: ref.GetFieldPath(),
		typ: typ, reason: reason, message: truncate(fmt.Sprintf(format, args...), maxMessage),
	}
	now := a.now()
	a.mu.Lock()
	if o := a.pending[k]; o != nil {
		o.count++
		o.last = now
		a.mu.Unlock()
		return // already announced to the writer
	}
	if len(a.pending) >= a.cfg.MaxPending {
		a.dropped++
		a.mu.Unlock()
		return
	}
	a.pending[k] = &occurrences{key: k, ref: ref, count: 1, first: now, last: now}
	a.order = append(a.order, k)
	a.mu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Run writes events until ctx ends.
func (a *Aggregator) Run(ctx context.Context) {
	// Since Go 1.23 a Reset timer never delivers a stale tick.
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, next := a.take()
		for _, o := range due {
			if !a.waitTurn(ctx, o) {
				return
			}
			if err := a.write(ctx, o); err != nil && ctx.Err() == nil {
				a.log.WarnContext(ctx, "record event", "object", o.key.name, "reason", o.key.reason, "err", err)
			}
		}
		if n := a.takeDropped(); n > 0 {
			a.log.WarnContext(ctx, "events dropped: too many waiting to be written", "dropped", n, "max", a.cfg.MaxPending)
		}
		if len(due) > 0 {
			continue // more may have come while writing
		}
		var wake <-chan time.Time
		if !next.IsZero() {
			timer.Reset(max(next.Sub(a.now()), time.Millisecond))
			wake = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		case <-wake:
		}
	}
}

// take removes the occurrences whose object and reason may be written
// now, oldest first, and returns when the next of the others may.
func (a *Aggregator) take() (due []*occurrences, next time.Time) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.MinInterval < 0 {
		return a.takeAll(), next
	}
	if now.Sub(a.pruned) >= a.cfg.MinInterval {
		for k, t := range a.lastWrite {
			if now.Sub(t) >= a.cfg.MinInterval {
				delete(a.lastWrite, k)
			}
		}
		a.pruned = now
	}
	rest := a.order[:0]
	for _, k := range a.order {
		if t, ok := a.lastWrite[k.limit()]; ok && now.Sub(t) < a.cfg.MinInterval {
			if at := t.Add(a.cfg.MinInterval); next.IsZero() || at.Before(next) {
				next = at
			}
			rest = append(rest, k)
			continue
		}
		due = append(due, a.pending[k])
		delete(a.pending, k)
	}
	// After the loop: several messages of one object and reason go
	// together.
	for _, o := range due {
		a.lastWrite[o.key.limit()] = now
	}
	clear(a.order[len(rest):])
	a.order = rest
	return due, next
}

// takeAll removes all pending occurrences, oldest first; a.mu is held.
func (a *Aggregator) takeAll() []*occurrences {
	out := make([]*occurrences, 0, len(a.order))
	for _, k := range a.order {
		out = append(out, a.pending[k])
	}
	clear(a.pending)
	a.order = nil
	return out
}

// Flush writes every pending occurrence now, whatever MinInterval, Busy
// and QPS say: for a final write when the owner stops (after Run
// returned), bounded by ctx.
func (a *Aggregator) Flush(ctx context.Context) {
	a.mu.Lock()
	due := a.takeAll()
	a.mu.Unlock()
	for _, o := range due {
		if err := a.write(ctx, o); err != nil {
			a.log.WarnContext(ctx, "record event", "object", o.key.name, "reason", o.key.reason, "err", err)
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// Forget drops what the Aggregator remembers of the stored Events about
// the object with uid (it was deleted); pending occurrences stay.
func (a *Aggregator) Forget(uid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.knownQ[:0]
	for _, k := range a.knownQ {
		if k.uid == uid {
			delete(a.known, k)
			continue
		}
		q = append(q, k)
	}
	clear(a.knownQ[len(q):])
	a.knownQ = q
}

func (a *Aggregator) takeDropped() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.dropped
	a.dropped = 0
	return n
}

// waitTurn holds a write back while the owner is busy (at most until the
// occurrence is MaxDelay old) and then for the rate limit; false if ctx
// ended.
func (a *Aggregator) waitTurn(ctx context.Context, o *occurrences) bool {
	for a.cfg.Busy != nil && a.cfg.Busy() {
		left := o.first.Add(a.cfg.MaxDelay).Sub(a.now())
		if left <= 0 {
			break
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(left, busyPoll)):
		}
	}
	return a.limiter.Wait(ctx) == nil
}

// write adds o to its Event object: update the one stored last, else
// create it, else (made before this recorder started) read and update it.
func (a *Aggregator) write(ctx context.Context, o *occurrences) error {
	a.mu.Lock()
	prev := a.known[o.key]
	a.mu.Unlock()
	if prev != nil {
		stored, err := a.cfg.Events.Update(ctx, o.addTo(prev))
		if err == nil {
			a.remember(o.key, stored)
			return nil
		}
		if !client.IsConflict(err) && !client.IsNotFound(err) {
			return err
		}
	}
	ev := &corev1.Event{
		Metadata:       &corev1.ObjectMeta{Name: eventName(o.ref.GetName(), o.key), Namespace: eventNamespaceOf(o.ref)},
		InvolvedObject: o.ref,
		Reason:         o.key.reason,
		Message:        o.key.message,
		Type:           o.key.typ,
		Count:          o.count,
		FirstTimestamp: timestamppb.New(o.first),
		LastTimestamp:  timestamppb.New(o.last),
		Source:         &corev1.EventSource{Component: a.cfg.Component, Host: a.cfg.Host},
	}
	stored, err := a.cfg.Events.Create(ctx, ev)
	if err == nil {
		a.remember(o.key, stored)
		return nil
	}
	if !client.IsAlreadyExists(err) {
		return err
	}
	for range writeTries {
		cur, err := a.cfg.Events.Get(ctx, ev.GetMetadata().GetNamespace(), ev.GetMetadata().GetName())
		if err != nil {
			return err
		}
		stored, err := a.cfg.Events.Update(ctx, o.addTo(cur))
		if err == nil {
			a.remember(o.key, stored)
			return nil
		}
		if !client.IsConflict(err) {
			return err
		}
	}
	return errors.New("event kept changing under us")
}

// addTo returns ev with o's occurrences added.
func (o *occurrences) addTo(ev *corev1.Event) *corev1.Event {
	out := proto.Clone(ev).(*corev1.Event)
	out.Count += o.count
	out.LastTimestamp = timestamppb.New(o.last)
	return out
}

func (a *Aggregator) remember(k aggKey, ev *corev1.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.known[k]; !ok {
		a.knownQ = append(a.knownQ, k)
		if len(a.knownQ) > maxKnown {
			delete(a.known, a.knownQ[0])
			a.knownQ = a.knownQ[1:]
		}
	}
	a.known[k] = ev
}

// eventName is the Event object of an aggregation key: the object's name
// and a hash of the key.
func eventName(object string, k aggKey) string {
	parts := []string{k.uid, k.name, k.typ, k.reason, k.message}
	if k.fieldPath != "" {
		// Only then: names of Events about whole objects stay as they were.
		parts = append(parts, k.fieldPath)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	if len(object) > maxNameStem {
		object = strings.TrimRight(object[:maxNameStem], ".-")
	}
	return object + "." + hex.EncodeToString(sum[:8])
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
