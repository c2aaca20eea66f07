package registry

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Operation is what an admission hook is asked about.
type Operation string

// Operations seen by admission hooks.
const (
	OpCreate Operation = "CREATE"
	OpUpdate Operation = "UPDATE"
	OpDelete Operation = "DELETE"
)

// AdmissionRequest is what an admission hook is asked about.
type AdmissionRequest struct {
	Op Operation
	// Old is nil on create; Obj is nil on delete.
	Old, Obj apis.Object
	// Namespace is the object's namespace, set on create of a namespaced
	// kind (the server reads it anyway to refuse terminating namespaces).
	Namespace *corev1.Namespace
}

// AdmissionHook may mutate req.Obj or refuse the operation with an
// apierr.Error. The caller's identity is grpcserver.IdentityFrom(ctx).
type AdmissionHook func(ctx context.Context, req AdmissionRequest) error

// Kind describes one kind.
type Kind struct {
	GVK        apis.GVK
	Plural     string
	ShortNames []string
	Namespaced bool
	// New returns an empty object of the kind.
	New func() apis.Object
	// NameIsLabel requires names to be DNS-1123 labels (≤63) instead of
	// subdomains (≤253), for kinds whose names become DNS labels or NATS tokens.
	NameIsLabel bool
	// Default fills unset fields on create and update, before validation.
	Default func(obj apis.Object)
	// PrepareForCreate sets server-owned initial state (finalizers, status)
	// on create only.
	PrepareForCreate func(obj apis.Object)
	// Validate checks the kind-specific fields (metadata is validated
	// generically) and returns every problem with its field path.
	Validate func(obj apis.Object) apierr.FieldErrors
	// ValidateUpdate checks transitions, e.g. immutable fields.
	ValidateUpdate func(old, obj apis.Object) apierr.FieldErrors
	// PrepareForDelete adjusts an object that gets a deletion timestamp
	// because finalizers remain (e.g. Namespace phase Terminating).
	PrepareForDelete func(obj apis.Object)
	// SelectableFields are protojson paths usable in field selectors besides
	// metadata.name and metadata.namespace, e.g. spec.nodeName.
	SelectableFields []string
	// Admission hooks run after validation, in order.
	Admission      []AdmissionHook
	PrinterColumns []*corev1.PrinterColumn
}

// GroupKind is the store's name for the kind.
func (k *Kind) GroupKind() string { return k.GVK.GroupKind() }

// MessageName is the protobuf message name.
func (k *Kind) MessageName() protoreflect.FullName {
	return k.New().ProtoReflect().Descriptor().FullName()
}

// HasField reports whether the kind's message has a top-level field, e.g.
// "spec" or "status".
func (k *Kind) HasField(name protoreflect.Name) bool {
	return k.New().ProtoReflect().Descriptor().Fields().ByName(name) != nil
}

// Info is the discovery description of the kind.
func (k *Kind) Info() *corev1.KindInfo {
	return &corev1.KindInfo{
		ApiVersion:       k.GVK.APIVersion,
		Kind:             k.GVK.Kind,
		Plural:           k.Plural,
		ShortNames:       k.ShortNames,
		Namespaced:       k.Namespaced,
		PrinterColumns:   k.PrinterColumns,
		MessageName:      string(k.MessageName()),
		SelectableFields: k.SelectableFields,
	}
}

// Registry holds kinds. It is filled at start-up and read-only afterwards.
type Registry struct {
	byGVK     map[apis.GVK]*Kind
	byMessage map[protoreflect.FullName]*Kind
	byGK      map[string]*Kind
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{byGVK: map[apis.GVK]*Kind{}, byMessage: map[protoreflect.FullName]*Kind{}, byGK: map[string]*Kind{}}
}

// Register adds a kind, checking that the entry is consistent with its proto.
func (r *Registry) Register(k *Kind) error {
	if k.New == nil {
		return fmt.Errorf("kind %s: New is required", k.GVK)
	}
	gvk, err := apis.KindOf(k.New())
	if err != nil {
		return fmt.Errorf("kind %s: %w", k.GVK, err)
	}
	if gvk != k.GVK {
		return fmt.Errorf("kind %s: message is %s", k.GVK, gvk)
	}
	if k.Plural == "" || k.Plural != strings.ToLower(k.Plural) {
		return fmt.Errorf("kind %s: plural must be lowercase and set", k.GVK)
	}
	if _, dup := r.byGVK[k.GVK]; dup {
		return fmt.Errorf("kind %s registered twice", k.GVK)
	}
	r.byGVK[k.GVK] = k
	r.byMessage[k.MessageName()] = k
	r.byGK[k.GroupKind()] = k
	return nil
}

// Lookup finds a kind by apiVersion and kind.
func (r *Registry) Lookup(g apis.GVK) (*Kind, bool) {
	k, ok := r.byGVK[g]
	return k, ok
}

// ByMessage finds a kind by protobuf message name (from an Any type URL).
func (r *Registry) ByMessage(name protoreflect.FullName) (*Kind, bool) {
	k, ok := r.byMessage[name]
	return k, ok
}

// ByGroupKind finds a kind by its store name.
func (r *Registry) ByGroupKind(gk string) (*Kind, bool) {
	k, ok := r.byGK[gk]
	return k, ok
}

// All returns every kind sorted by group then kind.
func (r *Registry) All() []*Kind {
	out := make([]*Kind, 0, len(r.byGVK))
	for _, k := range r.byGVK {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GVK.Group() != out[j].GVK.Group() {
			return out[i].GVK.Group() < out[j].GVK.Group()
		}
		return out[i].GVK.Kind < out[j].GVK.Kind
	})
	return out
}
