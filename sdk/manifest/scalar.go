package manifest

import (
	"encoding/base64"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"
)

var (
	// decimalRE is how protojson writes 64-bit integers as strings.
	decimalRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	// integerLikeRE matches plain integers too large for yaml.v3's !!int.
	integerLikeRE = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)
)

// scalar converts a YAML scalar to a JSON value of the given kind.
func (w *walker) scalar(b *jsonBuf, n *yaml.Node, kind protoreflect.Kind, path string) {
	switch kind {
	case protoreflect.StringKind:
		w.str(b, n, path)
	case protoreflect.BoolKind:
		var v bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
			w.typeError(n, path, "a boolean (true or false)")
			return
		}
		b.WriteString(strconv.FormatBool(v))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		w.integer(b, n, path, true, 32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		w.integer(b, n, path, true, 64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		w.integer(b, n, path, false, 32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		w.integer(b, n, path, false, 64)
	case protoreflect.FloatKind:
		w.float(b, n, path, 32)
	case protoreflect.DoubleKind:
		w.float(b, n, path, 64)
	case protoreflect.BytesKind:
		w.bytes(b, n, path)
	default:
		w.errorf(n, path, "unsupported field kind %v", kind)
	}
}

// str accepts YAML strings, and plain timestamps (which are text too), but
// not numbers, booleans or null: those must be quoted, as in Kubernetes.
func (w *walker) str(b *jsonBuf, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
		w.typeError(n, path, "a string")
		return
	}
	if !utf8.ValidString(n.Value) {
		w.errorf(n, path, "string is not valid UTF-8")
		return
	}
	b.writeString(n.Value)
}

func intType(signed bool, bits int) string {
	if signed {
		return fmt.Sprintf("int%d", bits)
	}
	return fmt.Sprintf("uint%d", bits)
}

// integer accepts YAML integers and, for 64-bit fields, the quoted decimal
// strings protojson writes for them.
func (w *walker) integer(b *jsonBuf, n *yaml.Node, path string, signed bool, bits int) {
	if n.Kind != yaml.ScalarNode {
		w.typeError(n, path, "an integer")
		return
	}
	outOfRange := func() {
		w.errorf(n, path, "%s is out of range for %s", n.Value, intType(signed, bits))
	}
	var (
		i   int64
		u   uint64
		err error
	)
	switch tag := n.ShortTag(); {
	case tag == "!!int" && signed:
		err = n.Decode(&i)
	case tag == "!!int":
		if strings.HasPrefix(n.Value, "-") {
			w.errorf(n, path, "%s is out of range for %s: must not be negative", n.Value, intType(signed, bits))
			return
		}
		err = n.Decode(&u)
	case tag == "!!str" && bits == 64 && decimalRE.MatchString(n.Value):
		if signed {
			i, err = strconv.ParseInt(n.Value, 10, 64)
		} else {
			u, err = strconv.ParseUint(n.Value, 10, 64)
		}
	case tag == "!!float" && integerLikeRE.MatchString(n.Value):
		outOfRange()
		return
	default:
		w.typeError(n, path, "an integer")
		return
	}
	if err != nil {
		// The text is an integer (by its tag or decimalRE), so only its
		// size can be wrong.
		outOfRange()
		return
	}
	switch {
	case signed && bits == 32 && (i < math.MinInt32 || i > math.MaxInt32):
		outOfRange()
	case !signed && bits == 32 && u > math.MaxUint32:
		outOfRange()
	case signed:
		b.WriteString(strconv.FormatInt(i, 10))
	default:
		b.WriteString(strconv.FormatUint(u, 10))
	}
}

// float accepts YAML numbers (including .inf and .nan) and the strings
// protojson writes for special values.
func (w *walker) float(b *jsonBuf, n *yaml.Node, path string, bits int) {
	var f float64
	switch tag := n.ShortTag(); {
	case n.Kind != yaml.ScalarNode:
		w.typeError(n, path, "a number")
		return
	case tag == "!!float" || tag == "!!int":
		if n.Decode(&f) != nil {
			w.typeError(n, path, "a number")
			return
		}
		if f == 0 && strings.HasPrefix(n.Value, "-") {
			f = math.Copysign(0, -1) // -0 is an integer to YAML; keep its sign
		}
	case tag == "!!str" && n.Value == "NaN":
		f = math.NaN()
	case tag == "!!str" && n.Value == "Infinity":
		f = math.Inf(1)
	case tag == "!!str" && n.Value == "-Infinity":
		f = math.Inf(-1)
	default:
		w.typeError(n, path, "a number")
		return
	}
	switch {
	case math.IsNaN(f):
		b.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		b.WriteString(`"Infinity"`)
	case math.IsInf(f, -1):
		b.WriteString(`"-Infinity"`)
	case bits == 32:
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) {
			w.errorf(n, path, "%s is out of range for float", n.Value)
			return
		}
		b.WriteString(strconv.FormatFloat(float64(f32), 'g', -1, 32))
	default:
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	}
}

// bytes accepts base64 (standard or URL alphabet, padded or not) in a
// string, or a !!binary scalar.
func (w *walker) bytes(b *jsonBuf, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		w.typeError(n, path, "base64-encoded bytes")
		return
	}
	var data []byte
	var err error
	switch n.ShortTag() {
	case "!!binary":
		data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
	case "!!str":
		data, err = decodeBase64(n.Value)
	default:
		w.typeError(n, path, "base64-encoded bytes")
		return
	}
	if err != nil {
		w.errorf(n, path, "invalid base64: %v", err)
		return
	}
	b.writeString(base64.StdEncoding.EncodeToString(data))
}

func decodeBase64(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	return enc.Strict().DecodeString(s)
}

// enum accepts a value name (numbers are rejected: names are stable and
// readable).
func (w *walker) enum(b *jsonBuf, n *yaml.Node, ed protoreflect.EnumDescriptor, path string) {
	if ed.FullName() == "google.protobuf.NullValue" {
		if !isNull(n) {
			w.typeError(n, path, "null")
			return
		}
		b.WriteString("null")
		return
	}
	names := enumNames(ed)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		w.typeError(n, path, "one of "+names)
		return
	}
	if ed.Values().ByName(protoreflect.Name(n.Value)) == nil {
		w.errorf(n, path, "invalid value %q: must be one of %s", n.Value, names)
		return
	}
	b.writeString(n.Value)
}

func enumNames(ed protoreflect.EnumDescriptor) string {
	vals := ed.Values()
	names := make([]string, 0, vals.Len())
	for i := range vals.Len() {
		if i == 20 {
			names = append(names, "...")
			break
		}
		names = append(names, string(vals.Get(i).Name()))
	}
	return strings.Join(names, ", ")
}
