package resource

import (
	"context"

	"github.com/openpacific/pacific/internal/apierr"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Get implements ResourceService.
func (s *Service) Get(ctx context.Context, req *corev1.GetRequest) (*corev1.GetResponse, error) {
	k, err := s.kindFor(req.GetApiVersion(), req.GetKind())
	if err != nil {
		return nil, err
	}
	if err := validateObjectName(k, req.GetNamespace(), req.GetName()); err != nil {
		return nil, err
	}
	rec, err := s.store.Get(ctx, keyOf(k, req.GetNamespace(), req.GetName()), store.ReadOptions{Stale: req.GetStale()})
	if err != nil {
		return nil, storeErr(err, k, req.GetName())
	}
	obj, err := s.decodeRecord(k, rec)
	if err != nil {
		return nil, err
	}
	a, err := toAny(obj)
	if err != nil {
		return nil, err
	}
	return &corev1.GetResponse{Object: a}, nil
}

// validateObjectName checks the namespace/name pair of a Get, Delete or
// Watch request against the kind's scope.
func validateObjectName(k *registry.Kind, namespace, name string) error {
	var fe apierr.FieldErrors
	if name == "" {
		fe.Required("name")
	}
	fe = append(fe, validateNamespaceScope(k, namespace, true)...)
	return fe.Err("request")
}

func validateNamespaceScope(k *registry.Kind, namespace string, required bool) apierr.FieldErrors {
	var fe apierr.FieldErrors
	switch {
	case !k.Namespaced && namespace != "":
		fe.Add("namespace", "must be empty: %s is cluster-scoped", k.GVK.Kind)
	case k.Namespaced && namespace == "" && required:
		fe.Required("namespace")
	case namespace != "":
		if msg := dns1123Label(namespace); msg != "" {
			fe.Add("namespace", "%q: %s", namespace, msg)
		}
	}
	return fe
}
