package apis

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// GroupSuffix ends every API group: core.pacific.dev, vm.pacific.dev, ...
const GroupSuffix = ".pacific.dev"

// Object is any kind: a message with Kubernetes-style metadata.
type Object interface {
	proto.Message
	GetMetadata() *corev1.ObjectMeta
}

// GVK names a kind.
type GVK struct {
	APIVersion string // e.g. core.pacific.dev/v1
	Kind       string // e.g. Namespace
}

func (g GVK) String() string { return g.APIVersion + ", Kind=" + g.Kind }

// Group returns the API group, e.g. core.pacific.dev.
func (g GVK) Group() string {
	group, _, _ := strings.Cut(g.APIVersion, "/")
	return group
}

// GroupKind is the version-independent name of a kind, e.g.
// "core.pacific.dev/Namespace". The store keys objects by it.
func (g GVK) GroupKind() string { return g.Group() + "/" + g.Kind }

// MessageName returns the protobuf message name for the kind, e.g.
// pacific.core.v1.Namespace, or an error if apiVersion is malformed.
func (g GVK) MessageName() (protoreflect.FullName, error) {
	group, version, ok := strings.Cut(g.APIVersion, "/")
	domain, isOurs := strings.CutSuffix(group, GroupSuffix)
	if !ok || !isOurs || domain == "" || strings.Contains(domain, ".") || version == "" || strings.Contains(version, "/") {
		return "", fmt.Errorf("apiVersion %q: want <domain>%s/<version>, e.g. core%s/v1", g.APIVersion, GroupSuffix, GroupSuffix)
	}
	if g.Kind == "" {
		return "", fmt.Errorf("kind: required")
	}
	name := protoreflect.FullName("pacific." + domain + "." + version + "." + g.Kind)
	if !name.IsValid() {
		return "", fmt.Errorf("kind %q: not a valid kind name", g.Kind)
	}
	return name, nil
}

// KindOf returns the GVK of a message type, or an error if it is not a kind.
func KindOf(m proto.Message) (GVK, error) {
	return KindOfDescriptor(m.ProtoReflect().Descriptor())
}

// KindOfDescriptor is KindOf for a descriptor.
func KindOfDescriptor(d protoreflect.MessageDescriptor) (GVK, error) {
	parts := strings.Split(string(d.FullName()), ".")
	if len(parts) != 4 || parts[0] != "pacific" || !IsKindDescriptor(d) {
		return GVK{}, fmt.Errorf("%s is not a kind (want pacific.<domain>.<version>.<Kind> with metadata)", d.FullName())
	}
	return GVK{APIVersion: parts[1] + GroupSuffix + "/" + parts[2], Kind: parts[3]}, nil
}

// IsKindDescriptor reports whether d has the metadata field every kind has.
func IsKindDescriptor(d protoreflect.MessageDescriptor) bool {
	f := d.Fields().ByName("metadata")
	return f != nil && f.Message() != nil && f.Message().FullName() == (*corev1.ObjectMeta)(nil).ProtoReflect().Descriptor().FullName() && !f.IsList() && !f.IsMap()
}

// Types resolves kinds against a protobuf type registry. The zero value uses
// the global registry, which holds every kind of the generated packages
// linked into the program (this package links pacific.core.v1).
type Types struct {
	Resolver interface {
		FindMessageByName(protoreflect.FullName) (protoreflect.MessageType, error)
	}
}

// New returns a new empty object of the kind, or an error naming the unknown
// apiVersion or kind.
func (t Types) New(g GVK) (Object, error) {
	name, err := g.MessageName()
	if err != nil {
		return nil, err
	}
	r := t.Resolver
	if r == nil {
		r = protoregistry.GlobalTypes
	}
	mt, err := r.FindMessageByName(name)
	if err != nil || !IsKindDescriptor(mt.Descriptor()) {
		return nil, fmt.Errorf("no kind %q in apiVersion %q", g.Kind, g.APIVersion)
	}
	obj, ok := mt.New().Interface().(Object)
	if !ok {
		return nil, fmt.Errorf("no kind %q in apiVersion %q", g.Kind, g.APIVersion)
	}
	return obj, nil
}

// SetTypeMeta fills the api_version and kind fields of obj from its type.
func SetTypeMeta(obj proto.Message) error {
	g, err := KindOf(obj)
	if err != nil {
		return err
	}
	m := obj.ProtoReflect()
	fields := m.Descriptor().Fields()
	if f := fields.ByName("api_version"); f != nil {
		m.Set(f, protoreflect.ValueOfString(g.APIVersion))
	}
	if f := fields.ByName("kind"); f != nil {
		m.Set(f, protoreflect.ValueOfString(g.Kind))
	}
	return nil
}

// Key returns "namespace/name" (or "name" for cluster-scoped objects).
func Key(obj Object) string {
	md := obj.GetMetadata()
	if md.GetNamespace() == "" {
		return md.GetName()
	}
	return md.GetNamespace() + "/" + md.GetName()
}
