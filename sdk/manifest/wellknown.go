package manifest

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"gopkg.in/yaml.v3"
)

// isWellKnown reports whether protojson gives md a special JSON form.
func isWellKnown(name protoreflect.FullName) bool {
	if !strings.HasPrefix(string(name), "google.protobuf.") {
		return false
	}
	switch name.Name() {
	case "Timestamp", "Duration", "FieldMask", "Struct", "Value", "ListValue", "Any",
		"DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value",
		"UInt32Value", "BoolValue", "StringValue", "BytesValue":
		return true
	}
	return false
}

// wellKnown converts a value of a well-known type.
func (w *walker) wellKnown(b *jsonBuf, n *yaml.Node, md protoreflect.MessageDescriptor, path string) {
	switch md.Name() {
	case "Timestamp":
		w.textMessage(b, n, md, path, "an RFC 3339 timestamp, e.g. 2006-01-02T15:04:05Z")
	case "Duration":
		w.textMessage(b, n, md, path, `a duration in seconds with an "s" suffix, e.g. "1.5s"`)
	case "FieldMask":
		w.textMessage(b, n, md, path, `a field mask: comma-separated lowerCamel paths, e.g. "spec.replicas,metadata.labels"`)
	case "Struct":
		if n.Kind != yaml.MappingNode {
			w.typeError(n, path, "a mapping")
			return
		}
		w.generic(b, n, path)
	case "ListValue":
		if n.Kind != yaml.SequenceNode {
			w.typeError(n, path, "a list")
			return
		}
		w.generic(b, n, path)
	case "Value":
		w.generic(b, n, path)
	case "Any":
		w.errorf(n, path, "google.protobuf.Any fields are not supported in manifests")
	default: // wrappers: the JSON form is that of the wrapped value
		w.scalar(b, n, md.Fields().ByName("value").Kind(), path)
	}
}

// textMessage converts a type whose JSON form is a string, checking it with
// protojson itself so exactly what protojson accepts is accepted.
func (w *walker) textMessage(b *jsonBuf, n *yaml.Node, md protoreflect.MessageDescriptor, path, want string) {
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!str" && !(tag == "!!timestamp" && md.Name() == "Timestamp")) {
		w.typeError(n, path, want)
		return
	}
	var s jsonBuf
	s.writeString(n.Value)
	if !utf8.ValidString(n.Value) || protojson.Unmarshal(s.Bytes(), dynamicpb.NewMessage(md)) != nil {
		w.errorf(n, path, "invalid value %q: must be %s", n.Value, want)
		return
	}
	b.Write(s.Bytes())
}

// generic converts any YAML value to JSON for google.protobuf.Value and
// friends. Numbers become JSON numbers (float64, as protojson reads them).
func (w *walker) generic(b *jsonBuf, n *yaml.Node, path string) {
	if !w.checkNode(n, path) {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		if !w.enter(n, path) {
			return
		}
		defer w.leave()
		seen := map[string]int{}
		b.WriteByte('{')
		first := true
		for i := 0; i+1 < len(n.Content) && !w.full(); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key, ok := w.key(k, path)
			if !ok {
				continue
			}
			kpath := join(path, key)
			if line, dup := seen[key]; dup {
				w.errorf(k, kpath, "duplicate key (first at line %d)", line)
				continue
			}
			seen[key] = w.line(k)
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.writeString(key)
			b.WriteByte(':')
			w.generic(b, v, kpath)
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		if !w.enter(n, path) {
			return
		}
		defer w.leave()
		b.WriteByte('[')
		for i, e := range n.Content {
			if w.full() {
				break
			}
			if i > 0 {
				b.WriteByte(',')
			}
			w.generic(b, e, path+"["+strconv.Itoa(i)+"]")
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		w.genericScalar(b, n, path)
	default:
		w.typeError(n, path, "a JSON value")
	}
}

func (w *walker) genericScalar(b *jsonBuf, n *yaml.Node, path string) {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
	case "!!bool":
		w.scalar(b, n, protoreflect.BoolKind, path)
	case "!!int", "!!float":
		var f float64
		if n.Decode(&f) != nil {
			w.typeError(n, path, "a number")
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			w.errorf(n, path, "%s is not a JSON number", n.Value)
			return
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	default:
		w.str(b, n, path)
	}
}
