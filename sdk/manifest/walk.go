package manifest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"
)

const (
	// maxErrors bounds the problems reported per document.
	maxErrors = 100
	// maxDepth bounds the nesting of mappings and lists.
	maxDepth = 100
)

// walker checks one document's node tree against a message descriptor and
// writes the equivalent protojson into a buffer. Problems are collected,
// not returned, so one pass reports all of them.
type walker struct {
	source string
	offset int // added to node lines to get source lines
	errs   ErrorList
	depth  int
}

// jsonBuf is the JSON being built.
type jsonBuf struct{ bytes.Buffer }

func (b *jsonBuf) writeString(s string) { appendJSONString(&b.Buffer, s) }

func (w *walker) line(n *yaml.Node) int { return n.Line + w.offset }

func (w *walker) add(e *Error) {
	if len(w.errs) > maxErrors {
		return
	}
	e.Source = w.source
	if len(w.errs) == maxErrors {
		e = &Error{Source: w.source, Line: e.Line, Msg: fmt.Sprintf("too many errors (more than %d); stopping", maxErrors)}
	}
	w.errs = append(w.errs, e)
}

// full reports whether the error limit was reached, so walking can stop.
func (w *walker) full() bool { return len(w.errs) > maxErrors }

func (w *walker) errorf(n *yaml.Node, path, format string, args ...any) {
	w.add(&Error{Line: w.line(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// typeError reports that n is not what the field wants.
func (w *walker) typeError(n *yaml.Node, path, want string) {
	msg := fmt.Sprintf("must be %s, not %s", want, describe(n))
	if want == "a string" && n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int", "!!float", "!!bool", "!!null":
			msg += fmt.Sprintf(" (quote it: %q)", n.Value)
		}
	}
	w.add(&Error{Line: w.line(n), Path: path, Msg: msg})
}

// describe names what a node is, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
	default:
		return "a YAML document"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", v)
	case "!!int":
		return "the integer " + v
	case "!!float":
		return "the number " + v
	case "!!bool":
		return "the boolean " + v
	case "!!null":
		return "null"
	case "!!timestamp":
		return "the timestamp " + v
	case "!!binary":
		return "binary data"
	}
	return "a value tagged " + n.ShortTag()
}

// enter bounds nesting; every successful enter needs a leave.
func (w *walker) enter(n *yaml.Node, path string) bool {
	if w.depth >= maxDepth {
		w.errorf(n, path, "nested too deeply (more than %d levels)", maxDepth)
		return false
	}
	w.depth++
	return true
}

func (w *walker) leave() { w.depth-- }

// checkNode rejects aliases and tags this package does not support.
func (w *walker) checkNode(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode {
		w.errorf(n, path, "YAML aliases (*%s) are not allowed in manifests", n.Value)
		return false
	}
	tag := n.ShortTag()
	switch tag {
	case "!!str", "!!binary", "!!map", "!!seq":
		return true
	case "!!int", "!!float", "!!bool", "!!null", "!!timestamp":
		if n.Style&yaml.TaggedStyle == 0 {
			return true
		}
		w.errorf(n, path, "explicit YAML tag %s is not supported; write the plain value", tag)
	case "!!merge":
		w.errorf(n, path, "YAML merge keys (<<) are not supported in manifests")
	default:
		w.errorf(n, path, "YAML tag %s is not supported in manifests", tag)
	}
	return false
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// key returns the string value of a mapping key (a field name, a string map
// key or a Struct key).
func (w *walker) key(k *yaml.Node, path string) (string, bool) {
	if !w.checkNode(k, path) {
		return "", false
	}
	if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
		w.errorf(k, path, "keys must be strings, not %s", describe(k))
		return "", false
	}
	if !utf8.ValidString(k.Value) {
		w.errorf(k, path, "key is not valid UTF-8")
		return "", false
	}
	return k.Value, true
}

// message converts a mapping to a message's JSON object.
func (w *walker) message(b *jsonBuf, n *yaml.Node, md protoreflect.MessageDescriptor, path string, skip func(string) bool) {
	if isWellKnown(md.FullName()) {
		w.wellKnown(b, n, md, path)
		return
	}
	if n.Kind != yaml.MappingNode {
		w.typeError(n, path, "a mapping (object)")
		return
	}
	if !w.enter(n, path) {
		return
	}
	defer w.leave()
	b.WriteByte('{')
	first := true
	seen := map[string]int{}
	oneofs := map[protoreflect.FullName]string{}
	for i := 0; i+1 < len(n.Content) && !w.full(); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := w.key(k, path)
		if !ok {
			continue
		}
		fpath := join(path, name)
		if line, dup := seen[name]; dup {
			w.errorf(k, fpath, "duplicate field (first at line %d)", line)
			continue
		}
		seen[name] = w.line(k)
		if skip != nil && skip(name) {
			continue
		}
		fd := md.Fields().ByJSONName(name)
		if fd == nil {
			w.unknownField(k, fpath, md, name)
			continue
		}
		if isNull(v) && !acceptsNull(fd) {
			continue // null means unset, as in protojson
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if other, set := oneofs[od.FullName()]; set {
				w.errorf(k, fpath, "only one of %s and %s may be set", other, name)
				continue
			}
			oneofs[od.FullName()] = name
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.writeString(fd.JSONName())
		b.WriteByte(':')
		w.field(b, v, fd, fpath)
	}
	b.WriteByte('}')
}

func (w *walker) unknownField(k *yaml.Node, path string, md protoreflect.MessageDescriptor, name string) {
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if string(fd.Name()) == name || strings.EqualFold(fd.JSONName(), name) {
			w.errorf(k, path, "unknown field (did you mean %q?)", fd.JSONName())
			return
		}
	}
	w.errorf(k, path, "unknown field")
}

// acceptsNull reports whether null is a value of fd rather than "unset".
func acceptsNull(fd protoreflect.FieldDescriptor) bool {
	if fd.IsList() || fd.IsMap() {
		return false
	}
	if m := fd.Message(); m != nil {
		return m.FullName() == "google.protobuf.Value"
	}
	if e := fd.Enum(); e != nil {
		return e.FullName() == "google.protobuf.NullValue"
	}
	return false
}

// field converts the value of a field: list, map or single value.
func (w *walker) field(b *jsonBuf, n *yaml.Node, fd protoreflect.FieldDescriptor, path string) {
	switch {
	case !w.checkNode(n, path):
	case fd.IsList():
		w.list(b, n, fd, path)
	case fd.IsMap():
		w.mapField(b, n, fd, path)
	default:
		w.single(b, n, fd, path)
	}
}

func (w *walker) list(b *jsonBuf, n *yaml.Node, fd protoreflect.FieldDescriptor, path string) {
	if n.Kind != yaml.SequenceNode {
		w.typeError(n, path, "a list")
		return
	}
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
		w.single(b, e, fd, fmt.Sprintf("%s[%d]", path, i))
	}
	b.WriteByte(']')
}

func (w *walker) mapField(b *jsonBuf, n *yaml.Node, fd protoreflect.FieldDescriptor, path string) {
	if n.Kind != yaml.MappingNode {
		w.typeError(n, path, "a mapping")
		return
	}
	if !w.enter(n, path) {
		return
	}
	defer w.leave()
	kfd, vfd := fd.MapKey(), fd.MapValue()
	seen := map[string]int{}
	b.WriteByte('{')
	first := true
	for i := 0; i+1 < len(n.Content) && !w.full(); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key, ok := w.mapKey(k, kfd, path)
		if !ok {
			continue
		}
		kpath := path + "[" + strconv.Quote(key) + "]"
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
		w.single(b, v, vfd, kpath)
	}
	b.WriteByte('}')
}

// mapKey returns a map key in its canonical JSON form.
func (w *walker) mapKey(k *yaml.Node, kfd protoreflect.FieldDescriptor, path string) (string, bool) {
	if kfd.Kind() == protoreflect.StringKind {
		return w.key(k, path)
	}
	if !w.checkNode(k, path) {
		return "", false
	}
	if k.Kind != yaml.ScalarNode {
		w.errorf(k, path, "map keys must be scalars, not %s", describe(k))
		return "", false
	}
	// JSON object keys are strings, so EncodeJSON writes integer and
	// boolean keys quoted; accept them quoted as well as plain.
	kn := k
	if k.ShortTag() == "!!str" {
		kn = &yaml.Node{Kind: yaml.ScalarNode, Line: k.Line, Column: k.Column, Value: k.Value}
		switch {
		case kfd.Kind() == protoreflect.BoolKind && (k.Value == "true" || k.Value == "false"):
			kn.Tag = "!!bool"
		case kfd.Kind() != protoreflect.BoolKind && decimalRE.MatchString(k.Value):
			kn.Tag = "!!int"
		default:
			kn = k
		}
	}
	var b jsonBuf
	before := len(w.errs)
	w.scalar(&b, kn, kfd.Kind(), fmt.Sprintf("%s[%s]", path, k.Value))
	if len(w.errs) > before {
		return "", false
	}
	return b.String(), true
}

// single converts one value of fd's type (a list element, a map value or a
// singular field).
func (w *walker) single(b *jsonBuf, n *yaml.Node, fd protoreflect.FieldDescriptor, path string) {
	if !w.checkNode(n, path) {
		return
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(b, n, fd.Message(), path, nil)
	case protoreflect.EnumKind:
		w.enum(b, n, fd.Enum(), path)
	default:
		w.scalar(b, n, fd.Kind(), path)
	}
}
