package resource

import (
	"context"
	"errors"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Delete implements ResourceService. An object with finalizers only gets a
// deletion timestamp; whoever owns each finalizer removes it, and the last
// removal deletes the object (see write). Foreground and Orphan propagation
// add the foregroundDeletion or orphan finalizer, which the garbage
// collector removes once it has deleted the dependents (foreground) or
// removed their owner references (orphan).
func (s *Service) Delete(ctx context.Context, req *corev1.DeleteRequest) (*corev1.DeleteResponse, error) {
	k, err := s.kindFor(req.GetApiVersion(), req.GetKind())
	if err != nil {
		return nil, err
	}
	if err := validateObjectName(k, req.GetNamespace(), req.GetName()); err != nil {
		return nil, err
	}
	var finalizer string
	switch req.GetPropagationPolicy() {
	case corev1.PropagationPolicy_PROPAGATION_POLICY_UNSPECIFIED, corev1.PropagationPolicy_PROPAGATION_POLICY_BACKGROUND:
	case corev1.PropagationPolicy_PROPAGATION_POLICY_FOREGROUND:
		finalizer = apis.ForegroundDeletionFinalizer
	case corev1.PropagationPolicy_PROPAGATION_POLICY_ORPHAN:
		finalizer = apis.OrphanFinalizer
	default:
		return nil, apierr.Invalid("propagationPolicy", "%d: want Background, Foreground or Orphan", req.GetPropagationPolicy())
	}
	key := keyOf(k, req.GetNamespace(), req.GetName())
	for attempt := 1; ; attempt++ {
		out, deleted, err := s.deleteOnce(ctx, k, key, req.GetResourceVersion(), finalizer)
		if errors.Is(err, store.ErrConflict) && req.GetResourceVersion() == 0 && attempt < maxUpdateAttempts {
			continue
		}
		if err != nil {
			return nil, storeErr(err, k, req.GetName())
		}
		a, err := toAny(out)
		if err != nil {
			return nil, err
		}
		return &corev1.DeleteResponse{Object: a, Deleted: deleted}, nil
	}
}

func (s *Service) deleteOnce(ctx context.Context, k *registry.Kind, key store.Key, wantRevision int64, finalizer string) (apis.Object, bool, error) {
	rec, err := s.store.Get(ctx, key, store.ReadOptions{})
	if err != nil {
		return nil, false, err
	}
	if wantRevision != 0 && wantRevision != rec.ModRevision {
		return nil, false, store.ErrConflict
	}
	current, err := s.decodeRecord(k, rec)
	if err != nil {
		return nil, false, err
	}
	if err := admit(ctx, k, registry.AdmissionRequest{Op: registry.OpDelete, Old: current}); err != nil {
		return nil, false, err
	}
	md := current.GetMetadata()
	if len(md.GetFinalizers()) == 0 && finalizer == "" {
		gone, err := s.store.Delete(ctx, key, rec.ModRevision)
		if err != nil {
			return nil, false, err
		}
		current.GetMetadata().ResourceVersion = gone.ModRevision
		return current, true, nil
	}
	// A second delete of a terminating object changes nothing, except that
	// it may ask for foreground or orphan propagation the first did not.
	addFinalizer := finalizer != "" && !slices.Contains(md.GetFinalizers(), finalizer)
	if md.GetDeletionTimestamp() != nil && !addFinalizer {
		return current, false, nil
	}
	next := proto.Clone(current).(apis.Object)
	if addFinalizer {
		next.GetMetadata().Finalizers = append(next.GetMetadata().Finalizers, finalizer)
	}
	if md.GetDeletionTimestamp() != nil {
		out, err := s.write(ctx, k, key, rec.ModRevision, next)
		return out, false, err
	}
	next.GetMetadata().DeletionTimestamp = timestamppb.New(s.now().UTC())
	if k.PrepareForDelete != nil {
		k.PrepareForDelete(next)
	}
	out, err := s.write(ctx, k, key, rec.ModRevision, next)
	return out, false, err
}
