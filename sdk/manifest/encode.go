package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"

	"github.com/openpacific/pacific/sdk/apis"
)

// EncodeJSON writes m as indented protojson with Kubernetes key order. For
// a kind, apiVersion and kind are filled in from its type.
func EncodeJSON(m proto.Message) ([]byte, error) {
	root, err := encodeTree(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := writeJSON(&b, root, ""); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// EncodeYAML writes m as a YAML document (without a leading "---") with
// Kubernetes key order and protojson field names. 64-bit integers are
// written as YAML integers; every other value has its protojson form.
func EncodeYAML(m proto.Message) ([]byte, error) {
	root, err := encodeTree(m)
	if err != nil {
		return nil, err
	}
	styleMessage(root, m.ProtoReflect().Descriptor())
	quoteAmbiguous(root)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	return b.Bytes(), nil
}

// encodeTree marshals m with protojson and returns the JSON as an ordered
// node tree.
func encodeTree(m proto.Message) (*yaml.Node, error) {
	if _, err := apis.KindOf(m); err == nil {
		m = proto.Clone(m)
		if err := apis.SetTypeMeta(m); err != nil {
			return nil, err
		}
	}
	js, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	root, err := newJSONParser(js).value()
	if err != nil {
		return nil, fmt.Errorf("encode %s: reading protojson output: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	if root.Kind == yaml.MappingNode {
		orderKeys(root)
	}
	return root, nil
}

// keyRank orders top-level keys as Kubernetes does: apiVersion, kind,
// metadata, spec, status, then the rest.
func keyRank(key string) int {
	switch key {
	case "apiVersion":
		return 0
	case "kind":
		return 1
	case "metadata":
		return 2
	case "spec":
		return 3
	case "status":
		return 4
	}
	return 5
}

// orderKeys sorts a mapping's keys by keyRank, keeping the others' order.
func orderKeys(n *yaml.Node) {
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		pairs = append(pairs, pair{n.Content[i], n.Content[i+1]})
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return keyRank(a.k.Value) - keyRank(b.k.Value) })
	n.Content = n.Content[:0]
	for _, p := range pairs {
		n.Content = append(n.Content, p.k, p.v)
	}
}

// styleMessage walks a protojson tree alongside md and turns the quoted
// strings protojson writes for 64-bit integers into YAML integers.
func styleMessage(n *yaml.Node, md protoreflect.MessageDescriptor) {
	if isWellKnown(md.FullName()) {
		switch md.Name() {
		case "Int64Value", "UInt64Value":
			styleInt(n)
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		fd := md.Fields().ByJSONName(n.Content[i].Value)
		v := n.Content[i+1]
		switch {
		case fd == nil:
		case fd.IsList():
			for _, e := range v.Content {
				styleValue(e, fd)
			}
		case fd.IsMap():
			for j := 0; j+1 < len(v.Content); j += 2 {
				styleKey(v.Content[j], fd.MapKey())
				styleValue(v.Content[j+1], fd.MapValue())
			}
		default:
			styleValue(v, fd)
		}
	}
}

func styleValue(n *yaml.Node, fd protoreflect.FieldDescriptor) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		styleMessage(n, fd.Message())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		styleInt(n)
	}
}

// styleKey writes integer and boolean map keys, which protojson quotes,
// as YAML integers and booleans.
func styleKey(n *yaml.Node, fd protoreflect.FieldDescriptor) {
	switch fd.Kind() {
	case protoreflect.StringKind:
	case protoreflect.BoolKind:
		if n.Value == "true" || n.Value == "false" {
			n.Tag = "!!bool"
		}
	default:
		styleInt(n)
	}
}

func styleInt(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && decimalRE.MatchString(n.Value) {
		n.Tag = "!!int"
	}
}

// quoteAmbiguous double-quotes strings that yaml.v3 would not read back
// as written: "<<" written plain reads back as a merge key, and some
// multi-line strings (e.g. "\n") lose lines in block style.
func quoteAmbiguous(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && (n.Value == "<<" || (strings.Contains(n.Value, "\n") && !blockSafe(n.Value))) {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		quoteAmbiguous(c)
	}
}

// blockSafe reports whether a multi-line string is plain enough to be
// written as a literal block: no leading blank, no CR or tab, no blank
// before a line break or at the end, no blank lines at the end, and no
// character a block cannot hold as itself (controls, BOM, and NEL, LS and
// PS, which YAML readers may take for line breaks).
func blockSafe(s string) bool {
	switch {
	case s == "", strings.ContainsAny(s[:1], " \n"), strings.ContainsAny(s, "\r\t"),
		strings.Contains(s, " \n"), strings.HasSuffix(s, " "), strings.HasSuffix(s, "\n\n"):
		return false
	}
	for _, r := range s {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == utf8.RuneError) {
			return false
		}
	}
	return true
}

// writeJSON writes a node tree from readJSON as indented JSON.
func writeJSON(w *bytes.Buffer, n *yaml.Node, indent string) error {
	inner := indent + "  "
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			w.WriteString("{}")
			return nil
		}
		w.WriteString("{\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.WriteString(inner)
			appendJSONString(w, n.Content[i].Value)
			w.WriteString(": ")
			if err := writeJSON(w, n.Content[i+1], inner); err != nil {
				return err
			}
			if i+2 < len(n.Content) {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			w.WriteString("[]")
			return nil
		}
		w.WriteString("[\n")
		for i, e := range n.Content {
			w.WriteString(inner)
			if err := writeJSON(w, e, inner); err != nil {
				return err
			}
			if i+1 < len(n.Content) {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(indent + "]")
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			appendJSONString(w, n.Value)
		} else {
			w.WriteString(n.Value)
		}
	default:
		return errors.New("unexpected node in JSON tree")
	}
	return nil
}
