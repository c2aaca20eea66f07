package resource

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// maxUpdateAttempts bounds the retries of an update without a
// resource_version (last writer wins) when it races other writers.
const maxUpdateAttempts = 16

// Update implements ResourceService.
func (s *Service) Update(ctx context.Context, req *corev1.UpdateRequest) (*corev1.UpdateResponse, error) {
	k, obj, err := s.decodeObject(req.GetObject())
	if err != nil {
		return nil, err
	}
	out, err := s.update(ctx, k, obj, req.GetDryRun(), false)
	if err != nil {
		return nil, err
	}
	a, err := toAny(out)
	if err != nil {
		return nil, err
	}
	return &corev1.UpdateResponse{Object: a}, nil
}

// UpdateStatus implements ResourceService.
func (s *Service) UpdateStatus(ctx context.Context, req *corev1.UpdateStatusRequest) (*corev1.UpdateStatusResponse, error) {
	k, obj, err := s.decodeObject(req.GetObject())
	if err != nil {
		return nil, err
	}
	if !k.HasField("status") {
		return nil, apierr.Invalid("status", "%s has no status", k.GVK.Kind)
	}
	out, err := s.update(ctx, k, obj, false, true)
	if err != nil {
		return nil, err
	}
	a, err := toAny(out)
	if err != nil {
		return nil, err
	}
	return &corev1.UpdateStatusResponse{Object: a}, nil
}

// update is read-modify-write against the store with the read revision as
// precondition. With a resource_version in the request a race is the
// caller's conflict (Aborted); without one the server retries.
func (s *Service) update(ctx context.Context, k *registry.Kind, req apis.Object, dryRun, statusOnly bool) (apis.Object, error) {
	md := req.GetMetadata()
	if err := validateObjectName(k, md.GetNamespace(), md.GetName()); err != nil {
		return nil, err
	}
	key := keyOf(k, md.GetNamespace(), md.GetName())
	for attempt := 1; ; attempt++ {
		rec, err := s.store.Get(ctx, key, store.ReadOptions{})
		if err != nil {
			return nil, storeErr(err, k, md.GetName())
		}
		if md.GetResourceVersion() != 0 && md.GetResourceVersion() != rec.ModRevision {
			return nil, apierr.Conflict(k.Plural, md.GetName())
		}
		current, err := s.decodeRecord(k, rec)
		if err != nil {
			return nil, err
		}
		next, err := s.nextVersion(ctx, k, current, req, statusOnly)
		if err != nil {
			return nil, err
		}
		if proto.Equal(current, next) || dryRun {
			return next, nil
		}
		out, err := s.write(ctx, k, key, rec.ModRevision, next)
		if errors.Is(err, store.ErrConflict) && md.GetResourceVersion() == 0 && attempt < maxUpdateAttempts {
			continue
		}
		return out, storeErr(err, k, md.GetName())
	}
}

// nextVersion computes, validates and admits the object to store.
func (s *Service) nextVersion(ctx context.Context, k *registry.Kind, current, req apis.Object, statusOnly bool) (apis.Object, error) {
	if statusOnly {
		next := mergeForStatus(current, req)
		if err := s.validate(k, current, next, nil); err != nil {
			return nil, err
		}
		return next, admit(ctx, k, registry.AdmissionRequest{Op: registry.OpUpdate, Old: current, Obj: next})
	}
	fe := validateImmutableMeta(current.GetMetadata(), req.GetMetadata())
	next := mergeForUpdate(current, req)
	if k.Default != nil {
		k.Default(next)
	}
	if specChanged(current, next) {
		next.GetMetadata().Generation++
	}
	fe = append(fe, validateMeta(k, next.GetMetadata())...)
	if err := s.validate(k, current, next, fe); err != nil {
		return nil, err
	}
	return next, admit(ctx, k, registry.AdmissionRequest{Op: registry.OpUpdate, Old: current, Obj: next})
}

// write stores next over the record at modRevision. An object being deleted
// whose last finalizer is gone is deleted instead.
func (s *Service) write(ctx context.Context, k *registry.Kind, key store.Key, modRevision int64, next apis.Object) (apis.Object, error) {
	md := next.GetMetadata()
	if md.GetDeletionTimestamp() != nil && len(md.GetFinalizers()) == 0 {
		rec, err := s.store.Delete(ctx, key, modRevision)
		if err != nil {
			return nil, err
		}
		md.ResourceVersion = rec.ModRevision
		return next, nil
	}
	value, err := encodeValue(next)
	if err != nil {
		return nil, err
	}
	if len(value) > s.maxBytes {
		return nil, apierr.New(codes.ResourceExhausted, "%s %q: %d bytes exceeds the object size limit of %d bytes", k.Plural, md.GetName(), len(value), s.maxBytes)
	}
	rec, err := s.store.Update(ctx, key, value, modRevision)
	if err != nil {
		return nil, err
	}
	md.ResourceVersion = rec.ModRevision
	return next, nil
}
