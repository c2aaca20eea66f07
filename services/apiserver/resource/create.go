package resource

import (
	"context"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Create implements ResourceService.
func (s *Service) Create(ctx context.Context, req *corev1.CreateRequest) (*corev1.CreateResponse, error) {
	k, obj, err := s.decodeObject(req.GetObject())
	if err != nil {
		return nil, err
	}
	fe := validateCreateMeta(obj.GetMetadata())
	s.prepareForCreate(k, obj)
	if err := s.validate(k, nil, obj, append(fe, validateMeta(k, obj.GetMetadata())...)); err != nil {
		return nil, err
	}
	admission := registry.AdmissionRequest{Op: registry.OpCreate, Obj: obj}
	if k.Namespaced {
		ns, err := s.activeNamespace(ctx, obj.GetMetadata().GetNamespace())
		if err != nil {
			return nil, err
		}
		admission.Namespace = ns
	}
	if err := admit(ctx, k, admission); err != nil {
		return nil, err
	}
	value, err := encodeValue(obj)
	if err != nil {
		return nil, err
	}
	if len(value) > s.maxBytes {
		return nil, apierr.New(codes.ResourceExhausted, "%s %q: %d bytes exceeds the object size limit of %d bytes", k.Plural, obj.GetMetadata().GetName(), len(value), s.maxBytes)
	}
	if err := apis.SetTypeMeta(obj); err != nil {
		return nil, err
	}
	if req.GetDryRun() {
		return s.createResponse(obj)
	}
	md := obj.GetMetadata()
	rec, err := s.store.Create(ctx, keyOf(k, md.GetNamespace(), md.GetName()), value)
	if err != nil {
		return nil, storeErr(err, k, md.GetName())
	}
	md.ResourceVersion = rec.ModRevision
	return s.createResponse(obj)
}

func (s *Service) createResponse(obj apis.Object) (*corev1.CreateResponse, error) {
	a, err := toAny(obj)
	if err != nil {
		return nil, err
	}
	return &corev1.CreateResponse{Object: a}, nil
}

// validate runs the kind's validators after the generic ones collected in fe.
func (s *Service) validate(k *registry.Kind, old, obj apis.Object, fe apierr.FieldErrors) error {
	if k.Validate != nil {
		fe = append(fe, k.Validate(obj)...)
	}
	if old != nil && k.ValidateUpdate != nil {
		fe = append(fe, k.ValidateUpdate(old, obj)...)
	}
	return fe.Err(k.GVK.Kind + " " + quote(obj.GetMetadata().GetName()))
}

func admit(ctx context.Context, k *registry.Kind, req registry.AdmissionRequest) error {
	for _, hook := range k.Admission {
		if err := hook(ctx, req); err != nil {
			return err
		}
	}
	return nil
}

// activeNamespace returns the namespace new objects go to, refusing one
// that does not exist or is being deleted. It is nil when the registry has
// no Namespace kind (tests with a reduced registry).
func (s *Service) activeNamespace(ctx context.Context, ns string) (*corev1.Namespace, error) {
	nsKind, ok := s.reg.Lookup(apis.GVK{APIVersion: apis.CoreV1, Kind: "Namespace"})
	if !ok {
		return nil, nil
	}
	rec, err := s.store.Get(ctx, store.Key{Kind: nsKind.GroupKind(), Name: ns}, store.ReadOptions{})
	if err != nil {
		return nil, storeErr(err, nsKind, ns)
	}
	obj, err := s.decodeRecord(nsKind, rec)
	if err != nil {
		return nil, err
	}
	if obj.GetMetadata().GetDeletionTimestamp() != nil {
		return nil, apierr.New(codes.FailedPrecondition, "namespace %q is being deleted; no new objects may be created in it", ns)
	}
	nsObj, _ := obj.(*corev1.Namespace)
	return nsObj, nil
}
