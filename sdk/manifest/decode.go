package manifest

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"

	"github.com/openpacific/pacific/sdk/apis"
)

// DefaultMaxDocumentBytes bounds one YAML document when
// Decoder.MaxDocumentBytes is zero.
const DefaultMaxDocumentBytes = 4 << 20

// Decoder turns manifests into typed objects. The zero value resolves kinds
// in the global protobuf registry and allows 4 MiB per document.
type Decoder struct {
	// Types resolves apiVersion/kind to a message type.
	Types apis.Types
	// MaxDocumentBytes bounds each document; 0 means DefaultMaxDocumentBytes.
	MaxDocumentBytes int
}

// Document is one decoded object and where it came from.
type Document struct {
	Source string
	Line   int // line of the document's first line
	Object apis.Object
}

// Decode decodes every document of a YAML or JSON stream, skipping empty
// ones. source names the input in errors ("-" for stdin). On any problem it
// returns no objects and an ErrorList with every problem of every document.
func (d Decoder) Decode(source string, data []byte) ([]apis.Object, error) {
	docs, err := d.DecodeDocuments(source, data)
	if err != nil {
		return nil, err
	}
	objs := make([]apis.Object, len(docs))
	for i, doc := range docs {
		objs[i] = doc.Object
	}
	return objs, nil
}

// DecodeDocuments is Decode that also says where each object starts.
func (d Decoder) DecodeDocuments(source string, data []byte) ([]Document, error) {
	parsed, errs := d.parse(source, data)
	var out []Document
	for _, doc := range parsed {
		obj, docErrs := d.object(source, doc)
		errs = append(errs, docErrs...)
		if len(docErrs) == 0 {
			out = append(out, Document{Source: source, Line: doc.line, Object: obj})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// object resolves the document's kind and converts it.
func (d Decoder) object(source string, doc document) (apis.Object, ErrorList) {
	w := &walker{source: source, offset: doc.offset}
	root := doc.root
	if root.Kind != yaml.MappingNode {
		w.errorf(root, "", "a manifest must be a mapping with apiVersion and kind, not %s", describe(root))
		return nil, w.errs
	}
	apiVersion, avNode := w.typeMeta(root, "apiVersion")
	kind, kindNode := w.typeMeta(root, "kind")
	if len(w.errs) > 0 {
		return nil, w.errs
	}
	gvk := apis.GVK{APIVersion: apiVersion, Kind: kind}
	if !protoreflect.Name(kind).IsValid() {
		w.add(&Error{Line: w.line(kindNode), Path: "kind", Msg: fmt.Sprintf("%q is not a valid kind name", kind), Err: ErrUnknownKind})
		return nil, w.errs
	}
	if _, err := gvk.MessageName(); err != nil {
		w.add(&Error{Line: w.line(avNode), Msg: err.Error(), Err: ErrUnknownKind})
		return nil, w.errs
	}
	obj, err := d.Types.New(gvk)
	if err != nil {
		w.add(&Error{Line: w.line(kindNode), Msg: err.Error(), Err: ErrUnknownKind})
		return nil, w.errs
	}
	if err := w.convert(root, obj, isTypeMetaKey); err != nil {
		return nil, w.errs
	}
	if err := apis.SetTypeMeta(obj); err != nil {
		w.add(&Error{Line: w.line(root), Msg: fmt.Sprintf("internal error: %v", err), Err: err})
		return nil, w.errs
	}
	return obj, nil
}

func isTypeMetaKey(key string) bool { return key == "apiVersion" || key == "kind" }

// typeMeta returns the string value of the root key apiVersion or kind,
// reporting it as required when missing, empty or not a string.
func (w *walker) typeMeta(root *yaml.Node, key string) (string, *yaml.Node) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" || k.Value != key {
			continue
		}
		switch {
		case v.Kind == yaml.AliasNode:
			w.errorf(v, key, "YAML aliases are not allowed in manifests")
		case isNull(v) || (v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value == ""):
			w.errorf(v, key, "required")
		case v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str":
			w.typeError(v, key, "a string")
		default:
			return v.Value, v
		}
		return "", v
	}
	w.errorf(root, key, "required")
	return "", root
}

// convert checks the node tree against m's descriptor, then fills m through
// protojson. keys for which skip is true are ignored at the top level.
func (w *walker) convert(root *yaml.Node, m protoreflect.ProtoMessage, skip func(string) bool) error {
	var b jsonBuf
	w.message(&b, root, m.ProtoReflect().Descriptor(), "", skip)
	if len(w.errs) > 0 {
		return w.errs
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(b.Bytes(), m); err != nil {
		// The walker accepts only what protojson accepts; this is a bug.
		w.add(&Error{Line: w.line(root), Msg: fmt.Sprintf("internal error: %v", err), Err: err})
		return w.errs
	}
	return nil
}
