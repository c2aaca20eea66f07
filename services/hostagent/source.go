package hostagent

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// podSource lists and watches all pods and enqueues those bound to this
// host (filtering client-side), plus, on every (re)list, the pods of local
// sandboxes: a pod deleted while the agent was down is then seen as gone
// and cleaned up. It relists every Resync and whenever the watch ends.
func (a *Agent) podSource(ctx context.Context, enqueue func(controller.Request)) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := a.listAndWatch(ctx, enqueue)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			continue
		}
		a.log.Debug("pod list/watch ended; relisting", "err", err, "backoff", backoff)
		if !sleepCtx(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, 10*time.Second)
	}
	return nil
}

var errResync = errors.New("resync period elapsed")

func (a *Agent) listAndWatch(ctx context.Context, enqueue func(controller.Request)) error {
	a.enqueueLocal(ctx, enqueue)
	// Only pods bound here: nodeName never changes once set, and a deleted
	// pod still matches, so nothing of ours is missed.
	sel := "spec.nodeName=" + a.cfg.HostName
	pods, rev, err := a.pods.ListAll(ctx, client.ListOptions{FieldSelector: sel})
	if err != nil {
		return err
	}
	seen := map[controller.Request]*corev1.Pod{}
	for _, p := range pods {
		if a.mine(p) {
			enqueue(keyOf(p))
		}
		if p.GetSpec().GetNodeName() == a.cfg.HostName {
			seen[keyOf(p)] = p
		}
	}
	a.mu.Lock()
	a.seen = seen
	// The list enqueued everything anyway.
	a.echoes = map[controller.Request]int64{}
	a.held = map[controller.Request][]int64{}
	a.mu.Unlock()
	wctx, cancel := context.WithTimeoutCause(ctx, a.cfg.Resync, errResync)
	defer cancel()
	w, err := a.pods.Watch(wctx, client.WatchOptions{FieldSelector: sel, ResourceVersion: rev})
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.Events() {
		if ev.Type == corev1.EventType_EVENT_TYPE_BOOKMARK {
			continue
		}
		if own := a.remember(ev); !own && a.mine(ev.Object) {
			enqueue(keyOf(ev.Object))
		}
	}
	if context.Cause(wctx) == errResync {
		return nil
	}
	return w.Err()
}

// remember keeps the latest version of pods bound here, and reports
// whether ev is only the echo of this agent's own last write of the pod:
// the reconcile that wrote it knew everything it says, so it needs no
// other reconcile. While a write of the pod is unanswered, changes are
// held for endWrite to decide.
func (a *Agent) remember(ev client.Event[*corev1.Pod]) (own bool) {
	key := keyOf(ev.Object)
	rv := ev.Object.GetMetadata().GetResourceVersion()
	a.mu.Lock()
	defer a.mu.Unlock()
	if ev.Type == corev1.EventType_EVENT_TYPE_DELETED || ev.Object.GetSpec().GetNodeName() != a.cfg.HostName {
		delete(a.seen, key)
		delete(a.echoes, key)
		delete(a.held, key)
		return false
	}
	if cur, ok := a.seen[key]; !ok || !olderVersion(ev.Object, cur) {
		a.seen[key] = ev.Object
	}
	if ev.Type != corev1.EventType_EVENT_TYPE_MODIFIED {
		return false
	}
	if a.echoes[key] == rv {
		delete(a.echoes, key)
		return true
	}
	if a.writing[key] > 0 {
		// Under load the echo can come before the write's answer: decide
		// when it comes (endWrite).
		a.held[key] = append(a.held[key], rv)
		return true
	}
	return false
}

// ownWrite runs write, an update of pod key by this agent, so that the
// watch's echo of it triggers no reconcile (see remember, endWrite).
func (a *Agent) ownWrite(key controller.Request, write func() (*corev1.Pod, error)) (stored *corev1.Pod, err error) {
	a.beginWrite(key)
	defer func() {
		if err != nil {
			stored = nil
		}
		a.endWrite(key, stored) // also when write panics
	}()
	return write()
}

// beginWrite marks a write of pod key as sent; endWrite must follow.
func (a *Agent) beginWrite(key controller.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.writing[key]++
}

// endWrite ends a write begun with beginWrite: stored is the written pod
// (nil if the write failed). Versions the watch delivered meanwhile are
// dropped when they are this write's echo, and reconciled otherwise.
func (a *Agent) endWrite(key controller.Request, stored *corev1.Pod) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if stored != nil {
		a.wroteLocked(stored)
	}
	if a.writing[key]--; a.writing[key] > 0 {
		return
	}
	delete(a.writing, key)
	kick := false
	for _, rv := range a.held[key] {
		// Versions are the store's revisions: no other write has this one.
		if stored != nil && rv == stored.GetMetadata().GetResourceVersion() {
			delete(a.echoes, key)
			continue
		}
		kick = true
	}
	delete(a.held, key)
	if kick {
		a.kicks.kick(key)
	}
}

// wroteLocked records a pod this agent just stored: the cache has it at
// once (unless the pod is already gone from it), and its echo on the watch
// triggers no reconcile. a.mu is held.
func (a *Agent) wroteLocked(stored *corev1.Pod) {
	key := keyOf(stored)
	cur, ok := a.seen[key]
	if !ok || cur.GetMetadata().GetUid() != stored.GetMetadata().GetUid() {
		return
	}
	if !olderVersion(stored, cur) {
		a.seen[key] = stored
	}
	a.echoes[key] = stored.GetMetadata().GetResourceVersion()
}

// cachedPod returns a copy of the freshest version of pod key this agent
// knows (from the watch or its own writes), if any.
func (a *Agent) cachedPod(key controller.Request) (*corev1.Pod, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.seen[key]
	if !ok {
		return nil, false
	}
	return proto.Clone(p).(*corev1.Pod), true
}

// olderVersion reports whether a is an older version of the same pod
// than b.
func olderVersion(a, b *corev1.Pod) bool {
	if a.GetMetadata().GetUid() != b.GetMetadata().GetUid() {
		return false
	}
	return a.GetMetadata().GetResourceVersion() < b.GetMetadata().GetResourceVersion()
}

// mine reports whether the agent must look at pod: it is bound here, or
// the agent has state for it.
func (a *Agent) mine(pod *corev1.Pod) bool {
	if pod.GetSpec().GetNodeName() == a.cfg.HostName {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.recs[pod.GetMetadata().GetUid()]
	return ok
}

// enqueueLocal enqueues the pods the runtime has sandboxes for.
func (a *Agent) enqueueLocal(ctx context.Context, enqueue func(controller.Request)) {
	sbs, err := a.rt.ListSandboxes(ctx)
	if err != nil {
		a.log.Warn("list sandboxes", "err", err)
		return
	}
	for _, sb := range sbs {
		if key, ok := podKeyOf(sb.Labels); ok {
			enqueue(key)
		}
	}
}

func keyOf(pod *corev1.Pod) controller.Request {
	md := pod.GetMetadata()
	return controller.Request{Namespace: md.GetNamespace(), Name: md.GetName()}
}

// kicker is a controller.Source fed from inside the agent: container exits,
// probe results, finished pulls and stops enqueue their pod through it. It
// never blocks and de-duplicates keys until the source picks them up.
type kicker struct {
	mu      sync.Mutex
	pending map[controller.Request]bool
	ready   chan struct{}
}

func newKicker() *kicker {
	return &kicker{pending: map[controller.Request]bool{}, ready: make(chan struct{}, 1)}
}

// kick asks for key to be reconciled.
func (k *kicker) kick(key controller.Request) {
	k.mu.Lock()
	k.pending[key] = true
	k.mu.Unlock()
	select {
	case k.ready <- struct{}{}:
	default:
	}
}

func (k *kicker) source(ctx context.Context, enqueue func(controller.Request)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-k.ready:
		}
		k.mu.Lock()
		keys := k.pending
		k.pending = map[controller.Request]bool{}
		k.mu.Unlock()
		for key := range keys {
			enqueue(key)
		}
	}
}

// sleepCtx waits d or until ctx ends; false if ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
