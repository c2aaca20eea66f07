package hostagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Event reasons the agent reports (Kubernetes' names).
const (
	ReasonPulling          = "Pulling"
	ReasonPulled           = "Pulled"
	ReasonCreated          = "Created"
	ReasonStarted          = "Started"
	ReasonKilling          = "Killing"
	ReasonBackOff          = "BackOff"
	ReasonFailed           = "Failed"
	ReasonUnhealthy        = "Unhealthy"
	ReasonUnsupported      = "UnsupportedIsolation"
	ReasonFailedCleanup    = "FailedCleanup"
	ReasonSandboxChanged   = "SandboxChanged"
	ReasonImageNeverPulled = "ErrImageNeverPull"
)

// eventComponent is EventSource.component of the agent's events.
const eventComponent = "hostagent"

// Recorder bounds.
const (
	maxPendingEvents = 1024
	maxKnownEvents   = 4096
	eventWriteTries  = 4
	// maxEventDelay bounds how long events wait while pods are being
	// reconciled (see recorder.busy).
	maxEventDelay = time.Second
)

// eventKey identifies one aggregated event: occurrences with the same key
// bump the count of one Event object.
type eventKey struct {
	uid, fieldPath, typ, reason, message string
}

// pendingEvent is one aggregated event not yet written.
type pendingEvent struct {
	ref         *corev1.ObjectReference
	key         eventKey
	count       int32
	first, last time.Time
}

// recorder writes Events about pods, aggregated: repeated occurrences are
// merged in memory and then into one Event object per key (count++,
// lastTimestamp), whose name is derived from the key so that a restarted
// agent continues the same object. Recording never blocks on the API
// server; a background loop writes, and while the agent is reconciling
// pods it holds the writes back (at most maxEventDelay), so that a burst of
// pod starts is not slowed by its own bookkeeping (decision 0029).
type recorder struct {
	events *client.Typed[*corev1.Event]
	source *corev1.EventSource
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	pending map[eventKey]*pendingEvent
	order   []eventKey
	known   map[eventKey]*corev1.Event // last stored object per key
	knownQ  []eventKey                 // insertion order, for eviction
	kick    chan struct{}
	// active counts the work in progress that events wait for; idle is
	// signalled when it drops to zero.
	active int
	idle   chan struct{}
}

func newRecorder(events *client.Typed[*corev1.Event], host string, log *slog.Logger) *recorder {
	return &recorder{
		events:  events,
		source:  &corev1.EventSource{Component: eventComponent, Host: host},
		log:     log,
		now:     time.Now,
		pending: map[eventKey]*pendingEvent{},
		known:   map[eventKey]*corev1.Event{},
		kick:    make(chan struct{}, 1),
		idle:    make(chan struct{}, 1),
	}
}

// busy marks work in progress (a pod reconcile) until the returned func
// is called: pending events are written when no work is in progress, or
// after maxEventDelay.
func (r *recorder) busy() (done func()) {
	r.mu.Lock()
	r.active++
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.active--
		quiet := r.active == 0
		r.mu.Unlock()
		if quiet {
			select {
			case r.idle <- struct{}{}:
			default:
			}
		}
	}
}

// waitQuiet waits until no work is in progress, at most maxDelay; false
// if ctx ended.
func (r *recorder) waitQuiet(ctx context.Context, maxDelay time.Duration) bool {
	timer := time.NewTimer(maxDelay)
	defer timer.Stop()
	for {
		r.mu.Lock()
		quiet := r.active == 0
		r.mu.Unlock()
		if quiet {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-r.idle:
		}
	}
}

// podRef is the involvedObject of events about pod, at fieldPath
// (e.g. spec.containers{main}) if not empty.
func podRef(pod *corev1.Pod, fieldPath string) *corev1.ObjectReference {
	md := pod.GetMetadata()
	return &corev1.ObjectReference{
		ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: md.GetNamespace(), Name: md.GetName(), Uid: md.GetUid(), FieldPath: fieldPath,
	}
}

// Eventf records an event about ref.
func (r *recorder) Eventf(ref *corev1.ObjectReference, typ, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > maxEventMessage {
		msg = msg[:maxEventMessage-3] + "..."
	}
	if r.add(ref, typ, reason, msg, r.now()) {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// maxEventMessage stays under the API server's 4 KiB limit.
const maxEventMessage = 2048

// add merges one occurrence into the pending set; false if it was dropped
// because too many events are pending.
func (r *recorder) add(ref *corev1.ObjectReference, typ, reason, msg string, now time.Time) bool {
	k := eventKey{uid: ref.GetUid(), fieldPath: ref.GetFieldPath(), typ: typ, reason: reason, message: msg}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pending[k]; ok {
		p.count++
		p.last = now
		return true
	}
	if len(r.pending) >= maxPendingEvents {
		r.log.Debug("event dropped: too many pending", "reason", reason, "pod", ref.GetNamespace()+"/"+ref.GetName())
		return false
	}
	r.pending[k] = &pendingEvent{ref: ref, key: k, count: 1, first: now, last: now}
	r.order = append(r.order, k)
	return true
}

// take removes and returns the pending events in the order they were
// first recorded.
func (r *recorder) take() []*pendingEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*pendingEvent, 0, len(r.order))
	for _, k := range r.order {
		out = append(out, r.pending[k])
	}
	r.pending = map[eventKey]*pendingEvent{}
	r.order = nil
	return out
}

// run writes events as they come until ctx ends.
func (r *recorder) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			if r.waitQuiet(ctx, maxEventDelay) {
				r.flush(ctx)
			}
		}
	}
}

// flush writes every pending event.
func (r *recorder) flush(ctx context.Context) {
	for _, p := range r.take() {
		if err := r.write(ctx, p); err != nil && ctx.Err() == nil {
			r.log.Warn("write event", "reason", p.key.reason, "pod", p.ref.GetNamespace()+"/"+p.ref.GetName(), "err", err)
		}
	}
}

// eventName is the name of the Event object of an aggregation key.
func eventName(ref *corev1.ObjectReference, k eventKey) string {
	return ref.GetName() + "." + hashID(k.uid+"\x00"+k.fieldPath+"\x00"+k.typ+"\x00"+k.reason+"\x00"+k.message, 16)
}

// write adds p to its Event object: update the one this agent stored last,
// else create it, else (made by an earlier agent) read and update it.
func (r *recorder) write(ctx context.Context, p *pendingEvent) error {
	r.mu.Lock()
	prev := r.known[p.key]
	r.mu.Unlock()
	if prev != nil {
		stored, err := r.events.Update(ctx, bump(prev, p))
		if err == nil {
			r.remember(p.key, stored)
			return nil
		}
		if !client.IsConflict(err) && !client.IsNotFound(err) {
			return err
		}
	}
	ev := &corev1.Event{
		Metadata:       &corev1.ObjectMeta{Name: eventName(p.ref, p.key), Namespace: p.ref.GetNamespace()},
		InvolvedObject: p.ref,
		Reason:         p.key.reason,
		Message:        p.key.message,
		Type:           p.key.typ,
		Count:          p.count,
		FirstTimestamp: timestamppb.New(p.first),
		LastTimestamp:  timestamppb.New(p.last),
		Source:         r.source,
	}
	stored, err := r.events.Create(ctx, ev)
	if err == nil {
		r.remember(p.key, stored)
		return nil
	}
	if !client.IsAlreadyExists(err) {
		return err
	}
	for range eventWriteTries {
		cur, err := r.events.Get(ctx, ev.GetMetadata().GetNamespace(), ev.GetMetadata().GetName())
		if err != nil {
			return err
		}
		stored, err := r.events.Update(ctx, bump(cur, p))
		if err == nil {
			r.remember(p.key, stored)
			return nil
		}
		if !client.IsConflict(err) {
			return err
		}
	}
	return errors.New("event kept changing under us")
}

// bump returns ev with p's occurrences added.
func bump(ev *corev1.Event, p *pendingEvent) *corev1.Event {
	out := proto.Clone(ev).(*corev1.Event)
	out.Count += p.count
	out.LastTimestamp = timestamppb.New(p.last)
	return out
}

func (r *recorder) remember(k eventKey, ev *corev1.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.known[k]; !ok {
		r.knownQ = append(r.knownQ, k)
		if len(r.knownQ) > maxKnownEvents {
			delete(r.known, r.knownQ[0])
			r.knownQ = r.knownQ[1:]
		}
	}
	r.known[k] = ev
}

// forget drops what the recorder remembers about a pod's events.
func (r *recorder) forget(uid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.knownQ[:0]
	for _, k := range r.knownQ {
		if k.uid == uid {
			delete(r.known, k)
			continue
		}
		q = append(q, k)
	}
	r.knownQ = q
}
