package namespace

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// recheck is how soon a terminating namespace is looked at again while
// objects in it are still being deleted (they may have finalizers).
const recheck = time.Second

var namespaceGVK = apis.GVK{APIVersion: apis.CoreV1, Kind: "Namespace"}

// Reconciler empties and then releases terminating namespaces.
type Reconciler struct {
	Resources corev1.ResourceServiceClient
	Discovery corev1.DiscoveryServiceClient
	Logger    *slog.Logger
}

// NewController wires the reconciler to a watch of Namespaces.
func NewController(rc corev1.ResourceServiceClient, dc corev1.DiscoveryServiceClient, logger *slog.Logger) *controller.Controller {
	return &controller.Controller{
		Name:       "namespace",
		Reconciler: &Reconciler{Resources: rc, Discovery: dc, Logger: logger},
		Sources:    []controller.Source{controller.KindSource{Client: rc, GVK: namespaceGVK, Logger: logger}.Source()},
		Workers:    2,
		Logger:     logger,
	}
}

// Reconcile implements controller.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	resp, err := r.Resources.Get(ctx, &corev1.GetRequest{ApiVersion: namespaceGVK.APIVersion, Kind: namespaceGVK.Kind, Name: req.Name})
	if status.Code(err) == codes.NotFound {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, fmt.Errorf("get namespace %s: %w", req.Name, err)
	}
	ns := &corev1.Namespace{}
	if err := resp.GetObject().UnmarshalTo(ns); err != nil {
		return controller.Result{}, fmt.Errorf("decode namespace %s: %w", req.Name, err)
	}
	md := ns.GetMetadata()
	if md.GetDeletionTimestamp() == nil || !slices.Contains(md.GetFinalizers(), apis.NamespaceFinalizer) {
		return controller.Result{}, nil
	}
	remaining, err := r.deleteContents(ctx, req.Name)
	if err != nil {
		return controller.Result{}, err
	}
	if remaining > 0 {
		r.Logger.Debug("namespace still has objects", "namespace", req.Name, "remaining", remaining)
		return controller.Result{RequeueAfter: recheck}, nil
	}
	apis.RemoveFinalizer(md, apis.NamespaceFinalizer)
	obj, err := anypb.New(ns)
	if err != nil {
		return controller.Result{}, err
	}
	// The resource_version precondition makes this fail (and retry) if
	// anything changed since we read the namespace.
	if _, err := r.Resources.Update(ctx, &corev1.UpdateRequest{Object: obj}); err != nil && status.Code(err) != codes.NotFound {
		return controller.Result{}, fmt.Errorf("release namespace %s: %w", req.Name, err)
	}
	r.Logger.Info("namespace deleted", "namespace", req.Name)
	return controller.Result{}, nil
}

// deleteContents deletes every namespaced object in ns and returns how many
// objects it saw (0 means the namespace is empty).
func (r *Reconciler) deleteContents(ctx context.Context, ns string) (int, error) {
	kinds, err := r.Discovery.ListKinds(ctx, &corev1.ListKindsRequest{})
	if err != nil {
		return 0, fmt.Errorf("discover kinds: %w", err)
	}
	seen := 0
	for _, k := range kinds.GetKinds() {
		if !k.GetNamespaced() {
			continue
		}
		list, err := r.Resources.List(ctx, &corev1.ListRequest{ApiVersion: k.GetApiVersion(), Kind: k.GetKind(), Namespace: ns})
		if err != nil {
			return 0, fmt.Errorf("list %s in %s: %w", k.GetPlural(), ns, err)
		}
		for _, item := range list.GetItems() {
			seen++
			obj, err := apis.Types{}.New(apis.GVK{APIVersion: k.GetApiVersion(), Kind: k.GetKind()})
			if err != nil {
				return 0, err
			}
			if err := item.UnmarshalTo(obj); err != nil {
				return 0, fmt.Errorf("decode %s: %w", k.GetKind(), err)
			}
			if obj.GetMetadata().GetDeletionTimestamp() != nil {
				continue
			}
			_, err = r.Resources.Delete(ctx, &corev1.DeleteRequest{ApiVersion: k.GetApiVersion(), Kind: k.GetKind(), Namespace: ns, Name: obj.GetMetadata().GetName()})
			if err != nil && status.Code(err) != codes.NotFound {
				return 0, fmt.Errorf("delete %s %s/%s: %w", k.GetKind(), ns, obj.GetMetadata().GetName(), err)
			}
		}
	}
	return seen, nil
}
