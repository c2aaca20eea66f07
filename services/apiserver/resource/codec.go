package resource

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// kindFor resolves the api_version/kind pair of a request.
func (s *Service) kindFor(apiVersion, kind string) (*registry.Kind, error) {
	var fe apierr.FieldErrors
	if apiVersion == "" {
		fe.Required("apiVersion")
	}
	if kind == "" {
		fe.Required("kind")
	}
	if err := fe.Err("request"); err != nil {
		return nil, err
	}
	k, ok := s.reg.Lookup(apis.GVK{APIVersion: apiVersion, Kind: kind})
	if !ok {
		return nil, apierr.Invalid("kind", "no kind %q in apiVersion %q", kind, apiVersion)
	}
	return k, nil
}

// decodeObject unpacks a request's object, refusing unknown kinds, size
// overruns, fields this server does not know, and mismatched type meta.
func (s *Service) decodeObject(a *anypb.Any) (*registry.Kind, apis.Object, error) {
	if a == nil {
		return nil, nil, apierr.Invalid("object", "required")
	}
	if len(a.GetValue()) > s.maxBytes {
		return nil, nil, apierr.New(codes.ResourceExhausted, "object: %d bytes exceeds the limit of %d bytes", len(a.GetValue()), s.maxBytes)
	}
	k, ok := s.reg.ByMessage(a.MessageName())
	if !ok {
		return nil, nil, apierr.Invalid("object", "unknown kind (type %q)", a.GetTypeUrl())
	}
	obj := k.New()
	if err := proto.Unmarshal(a.GetValue(), obj); err != nil {
		return nil, nil, apierr.Invalid("object", "cannot decode %s: %v", k.GVK.Kind, err)
	}
	if path := unknownFieldPath(obj.ProtoReflect(), ""); path != "" {
		return nil, nil, apierr.Invalid(path, "unknown field (client newer than server?)")
	}
	var fe apierr.FieldErrors
	m := obj.ProtoReflect()
	if v := stringField(m, "api_version"); v != "" && v != k.GVK.APIVersion {
		fe.Add("apiVersion", "%q does not match the object type %s", v, k.GVK.APIVersion)
	}
	if v := stringField(m, "kind"); v != "" && v != k.GVK.Kind {
		fe.Add("kind", "%q does not match the object type %s", v, k.GVK.Kind)
	}
	if obj.GetMetadata() == nil {
		fe.Required("metadata")
	}
	if err := fe.Err(k.GVK.Kind); err != nil {
		return nil, nil, err
	}
	return k, obj, nil
}

func stringField(m protoreflect.Message, name protoreflect.Name) string {
	f := m.Descriptor().Fields().ByName(name)
	if f == nil || f.Kind() != protoreflect.StringKind {
		return ""
	}
	return m.Get(f).String()
}

// unknownFieldPath returns the path of the first message holding unknown
// fields, or "".
func unknownFieldPath(m protoreflect.Message, prefix string) string {
	if len(m.GetUnknown()) > 0 {
		if prefix == "" {
			return "object"
		}
		return prefix
	}
	found := ""
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil {
			return true
		}
		path := joinPath(prefix, fd.JSONName())
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && found == ""; i++ {
				found = unknownFieldPath(l.Get(i).Message(), fmt.Sprintf("%s[%d]", path, i))
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					found = unknownFieldPath(mv.Message(), fmt.Sprintf("%s[%q]", path, k.String()))
					return found == ""
				})
			}
		default:
			found = unknownFieldPath(v.Message(), path)
		}
		return found == ""
	})
	return found
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// encodeValue is the stored form: deterministic bytes without resource_version
// (the store's mod revision is the resource_version).
func encodeValue(obj apis.Object) ([]byte, error) {
	c := proto.Clone(obj).(apis.Object)
	c.GetMetadata().ResourceVersion = 0
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", apis.Key(obj), err)
	}
	return b, nil
}

// decodeValue turns stored bytes back into an object at revision rev.
func decodeValue(k *registry.Kind, value []byte, rev int64) (apis.Object, error) {
	obj := k.New()
	if err := proto.Unmarshal(value, obj); err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", k.GVK.Kind, err)
	}
	if obj.GetMetadata() == nil {
		return nil, fmt.Errorf("decode stored %s: no metadata", k.GVK.Kind)
	}
	obj.GetMetadata().ResourceVersion = rev
	if err := apis.SetTypeMeta(obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func (s *Service) decodeRecord(k *registry.Kind, r store.Record) (apis.Object, error) {
	return decodeValue(k, r.Value, r.ModRevision)
}

func toAny(obj apis.Object) (*anypb.Any, error) {
	a, err := anypb.New(obj)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", apis.Key(obj), err)
	}
	return a, nil
}

func keyOf(k *registry.Kind, namespace, name string) store.Key {
	return store.Key{Kind: k.GroupKind(), Namespace: namespace, Name: name}
}
