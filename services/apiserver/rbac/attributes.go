package rbac

import (
	"context"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/sdk/apis"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

// Attributes describes API server calls for authorization.
type Attributes struct{ reg *registry.Registry }

// NewAttributes returns the describer for reg's kinds.
func NewAttributes(reg *registry.Registry) *Attributes { return &Attributes{reg: reg} }

const (
	resourceService = "/pacific.core.v1.ResourceService/"
	podService      = "/pacific.core.v1.PodService/"
	evictionService = "/pacific.core.v1.EvictionService/"
	authService     = "/pacific.auth.v1.AuthService/"
)

// Describe implements grpcserver.AttributesFunc.
func (d *Attributes) Describe(_ context.Context, method string, req any) (grpcserver.Attributes, error) {
	verbName := method[strings.LastIndexByte(method, '/')+1:]
	switch {
	case strings.HasPrefix(method, resourceService):
		return d.resourceCall(strings.ToLower(verbName), req)
	case strings.HasPrefix(method, podService), strings.HasPrefix(method, evictionService):
		return d.podCall(strings.ToLower(verbName), req), nil
	case method == authService+"CreateUser" || method == authService+"DeleteUser":
		name := ""
		switch r := req.(type) {
		case *authv1.CreateUserRequest:
			name = r.GetName()
		case *authv1.DeleteUserRequest:
			name = r.GetName()
		}
		verb := "create"
		if verbName == "DeleteUser" {
			verb = "delete"
		}
		return grpcserver.Attributes{Verb: verb, Group: rbacGroup, Kind: "User", Resource: "users", Name: name}, nil
	case method == authService+"IssueToken":
		return grpcserver.Attributes{Verb: "create", Group: rbacGroup, Kind: "Token", Resource: "tokens"}, nil
	}
	return grpcserver.Attributes{Path: method, Verb: verbName}, nil
}

type namespacedRequest interface {
	GetApiVersion() string
	GetKind() string
	GetNamespace() string
}

func (d *Attributes) resourceCall(verb string, req any) (grpcserver.Attributes, error) {
	switch r := req.(type) {
	case *corev1.CreateRequest:
		return d.objectCall(verb, r.GetObject())
	case *corev1.UpdateRequest:
		return d.objectCall(verb, r.GetObject())
	case *corev1.UpdateStatusRequest:
		return d.objectCall(verb, r.GetObject())
	case namespacedRequest:
		k, ok := d.reg.Lookup(apis.GVK{APIVersion: r.GetApiVersion(), Kind: r.GetKind()})
		if !ok {
			return grpcserver.Attributes{}, apierr.Invalid("kind", "no kind %q in apiVersion %q", r.GetKind(), r.GetApiVersion())
		}
		name := ""
		if n, ok := req.(interface{ GetName() string }); ok {
			name = n.GetName()
		}
		return attributesFor(k, verb, r.GetNamespace(), name), nil
	case nil:
		return grpcserver.Attributes{Verb: verb, Resource: "unknown"}, nil
	}
	return grpcserver.Attributes{}, apierr.Invalid("request", "unexpected request type %T", req)
}

func (d *Attributes) objectCall(verb string, a *anypb.Any) (grpcserver.Attributes, error) {
	if a == nil {
		return grpcserver.Attributes{}, apierr.Invalid("object", "required")
	}
	k, ok := d.reg.ByMessage(a.MessageName())
	if !ok {
		return grpcserver.Attributes{}, apierr.Invalid("object", "unknown kind (type %q)", a.GetTypeUrl())
	}
	// Only the metadata matters here; the handler decodes and checks the
	// whole object (unknown fields, size) afterwards.
	obj := k.New()
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(a.GetValue(), obj); err != nil {
		return grpcserver.Attributes{}, apierr.Invalid("object", "cannot decode %s: %v", k.GVK.Kind, err)
	}
	md := obj.GetMetadata()
	return attributesFor(k, verb, md.GetNamespace(), md.GetName()), nil
}

// attributesFor describes a call on kind k. A Namespace object counts as
// being inside itself, so a namespace's viewers may get it.
func attributesFor(k *registry.Kind, verb, namespace, name string) grpcserver.Attributes {
	at := grpcserver.Attributes{Verb: verb, Group: k.GVK.Group(), Kind: k.GVK.Kind, Resource: k.Plural, Name: name}
	switch {
	case k.Namespaced && namespace == "":
		at.AllNamespaces = true
	case k.Namespaced:
		at.Namespace = namespace
	case k.GVK.Group() == coreGroup && k.GVK.Kind == "Namespace" && name != "":
		at.Namespace = name
	}
	return at
}

func (d *Attributes) podCall(verb string, req any) grpcserver.Attributes {
	at := grpcserver.Attributes{Verb: verb, Group: coreGroup, Kind: "Pod", Resource: "pods"}
	switch r := req.(type) {
	case *corev1.LogsRequest:
		at.Namespace, at.Name = r.GetNamespace(), r.GetName()
	case *corev1.ExecRequest:
		at.Namespace, at.Name = r.GetStart().GetNamespace(), r.GetStart().GetName()
	case *corev1.EvictRequest:
		at.Namespace, at.Name = r.GetNamespace(), r.GetName()
	}
	if at.Namespace == "" {
		at.Namespace = "-" // no namespace named: matches no binding
	}
	return at
}
