package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/internal/informer"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// recheck is how soon an owner waiting for its dependents to go is looked
// at again (their deletion also wakes it; this is the safety net).
const recheck = 2 * time.Second

// writeTries bounds retries of conflicting writes within one reconcile.
const writeTries = 5

type objKey struct {
	gvk       apis.GVK
	namespace string
	name      string
}

func keyOf(gvk apis.GVK, obj apis.Object) objKey {
	md := obj.GetMetadata()
	return objKey{gvk: gvk, namespace: md.GetNamespace(), name: md.GetName()}
}

func (k objKey) request() controller.Request {
	return controller.Request{GVK: k.gvk, Namespace: k.namespace, Name: k.name}
}

// Collector is the garbage collector's reconciler and graph.
type Collector struct {
	client *client.Client
	kinds  map[apis.GVK]*corev1.KindInfo
	log    *slog.Logger

	mu         sync.Mutex
	byUID      map[string]objKey
	ownersOf   map[objKey][]string        // object → owner UIDs it references
	dependents map[string]map[objKey]bool // owner UID → dependents
}

// NewController discovers the kinds and returns the garbage collector's
// controller, one watch per kind.
func NewController(ctx context.Context, c *client.Client, logger *slog.Logger) (*controller.Controller, error) {
	resp, err := c.Discovery().ListKinds(ctx, &corev1.ListKindsRequest{})
	if err != nil {
		return nil, fmt.Errorf("garbage collector: discover kinds: %w", err)
	}
	gc := &Collector{
		client: c, kinds: map[apis.GVK]*corev1.KindInfo{}, log: logger.With("controller", "gc"),
		byUID: map[string]objKey{}, ownersOf: map[objKey][]string{}, dependents: map[string]map[objKey]bool{},
	}
	var sources []controller.Source
	for _, k := range resp.GetKinds() {
		gvk := apis.GVK{APIVersion: k.GetApiVersion(), Kind: k.GetKind()}
		if _, err := (apis.Types{}).New(gvk); err != nil {
			continue // a kind this binary does not link cannot own or be owned here
		}
		gc.kinds[gvk] = k
		sources = append(sources, gc.source(gvk))
	}
	return &controller.Controller{Name: "gc", Reconciler: gc, Sources: sources, Workers: 4, Logger: logger}, nil
}

// source follows one kind, keeping the graph and enqueueing what may need
// collection: objects with owners or GC finalizers, the dependents of
// objects deleted or being deleted, and the owners of deleted objects (a
// foreground deletion may be done).
func (gc *Collector) source(gvk apis.GVK) controller.Source {
	return func(ctx context.Context, enqueue func(controller.Request)) error {
		return informer.Run(ctx, gc.client.Dynamic(gvk), client.WatchOptions{}, informer.Handler[apis.Object]{
			Upsert: func(obj apis.Object) {
				key := keyOf(gvk, obj)
				md := obj.GetMetadata()
				// An object's owners need checking when it is first seen or
				// its references change; an owner's deletion reaches it
				// through the graph. Status updates cost nothing here.
				changed := gc.index(key, obj)
				if (changed && len(md.GetOwnerReferences()) > 0) || hasGCFinalizer(md) {
					enqueue(key.request())
				}
				if md.GetDeletionTimestamp() != nil {
					for _, d := range gc.dependentsOf(md.GetUid()) {
						enqueue(d.request())
					}
				}
			},
			Delete: func(obj apis.Object) {
				key := keyOf(gvk, obj)
				md := obj.GetMetadata()
				owners := gc.unindex(key, md.GetUid())
				for _, d := range gc.dependentsOf(md.GetUid()) {
					enqueue(d.request())
				}
				for _, o := range owners {
					enqueue(o.request())
				}
			},
		}, gc.log)
	}
}

func hasGCFinalizer(md *corev1.ObjectMeta) bool {
	return slices.Contains(md.GetFinalizers(), apis.ForegroundDeletionFinalizer) || slices.Contains(md.GetFinalizers(), apis.OrphanFinalizer)
}

// index records obj in the graph and reports whether it is new there or
// its owner references changed.
func (gc *Collector) index(key objKey, obj apis.Object) bool {
	md := obj.GetMetadata()
	uids := make([]string, 0, len(md.GetOwnerReferences()))
	for _, ref := range md.GetOwnerReferences() {
		uids = append(uids, ref.GetUid())
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	prev, known := gc.ownersOf[key]
	if known && gc.byUID[md.GetUid()] == key && slices.Equal(prev, uids) {
		return false
	}
	gc.byUID[md.GetUid()] = key
	for _, uid := range gc.ownersOf[key] {
		delete(gc.dependents[uid], key)
		if len(gc.dependents[uid]) == 0 {
			delete(gc.dependents, uid)
		}
	}
	gc.ownersOf[key] = uids
	for _, uid := range uids {
		if gc.dependents[uid] == nil {
			gc.dependents[uid] = map[objKey]bool{}
		}
		gc.dependents[uid][key] = true
	}
	return true
}

// unindex forgets a deleted object and returns its owners still known.
func (gc *Collector) unindex(key objKey, uid string) []objKey {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	var owners []objKey
	for _, ouid := range gc.ownersOf[key] {
		if o, ok := gc.byUID[ouid]; ok {
			owners = append(owners, o)
		}
		delete(gc.dependents[ouid], key)
		if len(gc.dependents[ouid]) == 0 {
			delete(gc.dependents, ouid)
		}
	}
	delete(gc.ownersOf, key)
	if gc.byUID[uid] == key {
		delete(gc.byUID, uid)
	}
	return owners
}

func (gc *Collector) dependentsOf(uid string) []objKey {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	out := make([]objKey, 0, len(gc.dependents[uid]))
	for k := range gc.dependents[uid] {
		out = append(out, k)
	}
	return out
}

// Reconcile implements controller.Reconciler for one object of any kind.
func (gc *Collector) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	key := objKey{gvk: req.GVK, namespace: req.Namespace, name: req.Name}
	obj, err := gc.client.Dynamic(req.GVK).Get(ctx, req.Namespace, req.Name)
	if client.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	md := obj.GetMetadata()
	if md.GetDeletionTimestamp() != nil {
		switch {
		case slices.Contains(md.GetFinalizers(), apis.OrphanFinalizer):
			return controller.Result{}, gc.orphanDependents(ctx, key, obj)
		case slices.Contains(md.GetFinalizers(), apis.ForegroundDeletionFinalizer):
			return gc.deleteDependents(ctx, key, obj)
		}
		return controller.Result{}, nil
	}
	if len(md.GetOwnerReferences()) > 0 {
		return controller.Result{}, gc.collectIfOrphaned(ctx, key, obj)
	}
	return controller.Result{}, nil
}

// ownerState is what became of one owner reference.
type ownerState int

const (
	ownerAlive ownerState = iota
	ownerGone
	// ownerDeletingForeground: the owner waits for its dependents.
	ownerDeletingForeground
	// ownerUnknown: the kind is unknown here; never treated as gone.
	ownerUnknown
)

func (gc *Collector) ownerState(ctx context.Context, namespace string, ref *corev1.OwnerReference) (ownerState, error) {
	gvk := apis.GVK{APIVersion: ref.GetApiVersion(), Kind: ref.GetKind()}
	k, ok := gc.kinds[gvk]
	if !ok {
		return ownerUnknown, nil
	}
	if !k.GetNamespaced() {
		namespace = ""
	}
	owner, err := gc.client.Dynamic(gvk).Get(ctx, namespace, ref.GetName())
	switch {
	case client.IsNotFound(err):
		return ownerGone, nil
	case err != nil:
		return ownerAlive, err
	case owner.GetMetadata().GetUid() != ref.GetUid():
		return ownerGone, nil // a new object under the old name
	case owner.GetMetadata().GetDeletionTimestamp() != nil && slices.Contains(owner.GetMetadata().GetFinalizers(), apis.ForegroundDeletionFinalizer):
		return ownerDeletingForeground, nil
	}
	return ownerAlive, nil
}

// collectIfOrphaned deletes obj when none of its owners remains, and
// drops references to owners that are gone while others remain.
func (gc *Collector) collectIfOrphaned(ctx context.Context, key objKey, obj apis.Object) error {
	md := obj.GetMetadata()
	var gone []string
	alive, foreground := 0, false
	for _, ref := range md.GetOwnerReferences() {
		st, err := gc.ownerState(ctx, md.GetNamespace(), ref)
		if err != nil {
			return err
		}
		switch st {
		case ownerGone:
			gone = append(gone, ref.GetUid())
		case ownerDeletingForeground:
			foreground = true
		default:
			alive++
		}
	}
	switch {
	case alive == 0 && (len(gone) > 0 || foreground):
		policy := corev1.PropagationPolicy_PROPAGATION_POLICY_BACKGROUND
		if foreground {
			policy = corev1.PropagationPolicy_PROPAGATION_POLICY_FOREGROUND
		}
		gc.log.InfoContext(ctx, "deleting dependent whose owners are gone", "object", key.request().String(), "policy", policy.String())
		err := gc.client.Dynamic(key.gvk).Delete(ctx, key.namespace, key.name, client.Propagation(policy), client.Precondition(md.GetResourceVersion()))
		if client.IsNotFound(err) || client.IsConflict(err) {
			return nil // gone already, or changed: the change brings it back here
		}
		return err
	case len(gone) > 0:
		return gc.removeOwnerRefs(ctx, key, gone)
	}
	return nil
}

// removeOwnerRefs drops references to the given owner UIDs from key.
func (gc *Collector) removeOwnerRefs(ctx context.Context, key objKey, uids []string) error {
	dyn := gc.client.Dynamic(key.gvk)
	for range writeTries {
		obj, err := dyn.Get(ctx, key.namespace, key.name)
		if client.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		next := proto.Clone(obj).(apis.Object)
		refs := next.GetMetadata().GetOwnerReferences()
		kept := slices.DeleteFunc(slices.Clone(refs), func(r *corev1.OwnerReference) bool { return slices.Contains(uids, r.GetUid()) })
		if len(kept) == len(refs) {
			return nil
		}
		next.GetMetadata().OwnerReferences = kept
		_, err = dyn.Update(ctx, next)
		if client.IsConflict(err) {
			continue
		}
		if client.IsNotFound(err) {
			return nil
		}
		return err
	}
	return fmt.Errorf("remove owner references from %s: it kept changing", key.request())
}

// liveDependents returns the objects that really reference owner uid
// (fresh reads; the graph only says where to look).
func (gc *Collector) liveDependents(ctx context.Context, uid string) ([]apis.Object, []objKey, error) {
	var objs []apis.Object
	var keys []objKey
	for _, k := range gc.dependentsOf(uid) {
		obj, err := gc.client.Dynamic(k.gvk).Get(ctx, k.namespace, k.name)
		if client.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if slices.ContainsFunc(obj.GetMetadata().GetOwnerReferences(), func(r *corev1.OwnerReference) bool { return r.GetUid() == uid }) {
			objs = append(objs, obj)
			keys = append(keys, k)
		}
	}
	return objs, keys, nil
}

// deleteDependents handles an owner deleted in the foreground.
func (gc *Collector) deleteDependents(ctx context.Context, key objKey, owner apis.Object) (controller.Result, error) {
	uid := owner.GetMetadata().GetUid()
	deps, keys, err := gc.liveDependents(ctx, uid)
	if err != nil {
		return controller.Result{}, err
	}
	blocking := 0
	var errs []error
	for i, dep := range deps {
		ref := refTo(dep, uid)
		if ref.GetBlockOwnerDeletion() {
			blocking++
		}
		if dep.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		policy := corev1.PropagationPolicy_PROPAGATION_POLICY_BACKGROUND
		if ref.GetBlockOwnerDeletion() {
			policy = corev1.PropagationPolicy_PROPAGATION_POLICY_FOREGROUND
		}
		err := gc.client.Dynamic(keys[i].gvk).Delete(ctx, keys[i].namespace, keys[i].name, client.Propagation(policy))
		if err != nil && !client.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return controller.Result{}, errors.Join(errs...)
	}
	if blocking > 0 {
		return controller.Result{RequeueAfter: recheck}, nil
	}
	return controller.Result{}, gc.removeFinalizer(ctx, key, apis.ForegroundDeletionFinalizer)
}

// orphanDependents handles an owner deleted with Orphan propagation.
func (gc *Collector) orphanDependents(ctx context.Context, key objKey, owner apis.Object) error {
	uid := owner.GetMetadata().GetUid()
	_, keys, err := gc.liveDependents(ctx, uid)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := gc.removeOwnerRefs(ctx, k, []string{uid}); err != nil {
			return err
		}
	}
	return gc.removeFinalizer(ctx, key, apis.OrphanFinalizer)
}

func refTo(obj apis.Object, uid string) *corev1.OwnerReference {
	for _, r := range obj.GetMetadata().GetOwnerReferences() {
		if r.GetUid() == uid {
			return r
		}
	}
	return nil
}

// removeFinalizer releases an owner; the API server deletes it once its
// last finalizer is gone.
func (gc *Collector) removeFinalizer(ctx context.Context, key objKey, finalizer string) error {
	dyn := gc.client.Dynamic(key.gvk)
	for range writeTries {
		obj, err := dyn.Get(ctx, key.namespace, key.name)
		if client.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		next := proto.Clone(obj).(apis.Object)
		md := next.GetMetadata()
		if !apis.RemoveFinalizer(md, finalizer) {
			return nil
		}
		_, err = dyn.Update(ctx, next)
		if client.IsConflict(err) {
			continue
		}
		if client.IsNotFound(err) {
			return nil
		}
		if err == nil {
			gc.log.InfoContext(ctx, "released owner", "object", key.request().String(), "finalizer", finalizer)
		}
		return err
	}
	return fmt.Errorf("remove finalizer %s from %s: it kept changing", finalizer, key.request())
}
