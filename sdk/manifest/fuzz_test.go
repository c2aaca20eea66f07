package manifest

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/openpacific/pacific/sdk/apis"
)

// FuzzDecode checks that Decode never panics, that errors are well-formed
// *Error values and never internal, and that whatever decodes re-encodes
// (YAML and JSON) to something that decodes to an equal object.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(issueManifest))
	f.Add([]byte(issueManifest + "spec: {bogus: 1}\n"))
	f.Add([]byte(richWidget))
	f.Add([]byte("apiVersion: core.pacific.dev/v1\nkind: Event\nmetadata: {name: e, resourceVersion: \"3\"}\ncount: 2\nfirstTimestamp: 2024-01-01T00:00:00Z\n---\n{\"apiVersion\": \"core.pacific.dev/v1\", \"kind\": \"Namespace\"}\n"))
	f.Add([]byte(widgetHeader + "  st: &a {a: *a}\n  byNum: {1: a}\n  dbls: [-0]\n"))
	f.Add([]byte(`{"apiVersion": "test.pacific.dev/v1", "kind": "Widget", "metadata": {"name": "a\/b", "resourceVersion": "7"},` +
		"\n" + `"spec": {"byNum": {"1": "x"}, "st": {"k": [1, null]}, "dbls": ["NaN", -0, 1e300]}} {"kind": "Widget"}`))
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	d := widgetDecoder(f)
	d.MaxDocumentBytes = 64 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := d.DecodeDocuments("f.yaml", data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 || docs != nil {
				t.Fatalf("error %T %v, docs %v", err, err, docs)
			}
			lines := strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") +
				strings.Count(strings.ReplaceAll(string(data), "\r\n", ""), "\r") + 1
			for _, e := range list {
				if e.Source != "f.yaml" || e.Line < 0 || e.Line > lines || e.Msg == "" {
					t.Fatalf("malformed error %#v in\n%q", e, data)
				}
				if strings.Contains(e.Msg, "internal error") {
					t.Fatalf("%v\ninput: %q", e, data)
				}
			}
			return
		}
		for _, doc := range docs {
			for _, enc := range []func(proto.Message) ([]byte, error){EncodeYAML, EncodeJSON} {
				out, err := enc(doc.Object)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				back, err := d.Decode("out", out)
				if err != nil {
					t.Fatalf("re-decode: %v\ninput: %q\nencoded:\n%s", err, data, out)
				}
				if len(back) != 1 || !proto.Equal(back[0], doc.Object) {
					t.Fatalf("round trip differs\ninput: %q\nencoded:\n%s", data, out)
				}
			}
		}
	})
}

// FuzzRoundTrip puts arbitrary values into an object and checks that
// EncodeYAML and EncodeJSON produce manifests that decode to an equal
// object: the encoder must quote and escape whatever a string holds.
func FuzzRoundTrip(f *testing.F) {
	f.Add("team", "a", int64(1), 1.5)
	f.Add("<<", "null", int64(-1), math.Inf(-1))
	f.Add("a: b", "- x\n  y", int64(math.MinInt64), math.NaN())
	f.Add("\u0085", "\ufeff\u2028 \t", int64(0), math.Copysign(0, -1))
	d := widgetDecoder(f)
	f.Fuzz(func(t *testing.T, key, value string, n int64, x float64) {
		if !utf8.ValidString(key) || !utf8.ValidString(value) {
			return // protobuf strings are UTF-8
		}
		obj, err := d.Types.New(widgetGVK)
		if err != nil {
			t.Fatal(err)
		}
		m := obj.ProtoReflect()
		meta := m.Mutable(m.Descriptor().Fields().ByName("metadata")).Message()
		metaFields := meta.Descriptor().Fields()
		meta.Set(metaFields.ByName("name"), protoreflect.ValueOfString(value))
		meta.Set(metaFields.ByName("resource_version"), protoreflect.ValueOfInt64(n))
		meta.Mutable(metaFields.ByName("labels")).Map().Set(protoreflect.ValueOfString(key).MapKey(), protoreflect.ValueOfString(value))
		spec := m.Mutable(m.Descriptor().Fields().ByName("spec")).Message()
		fields := spec.Descriptor().Fields()
		spec.Set(fields.ByName("s"), protoreflect.ValueOfString(key))
		spec.Set(fields.ByName("db"), protoreflect.ValueOfFloat64(x))
		spec.Set(fields.ByName("fl"), protoreflect.ValueOfFloat32(float32(x)))
		spec.Set(fields.ByName("u64"), protoreflect.ValueOfUint64(uint64(n)))
		spec.Set(fields.ByName("by"), protoreflect.ValueOfBytes([]byte(value)))
		spec.Mutable(fields.ByName("tags")).List().Append(protoreflect.ValueOfString(value))
		spec.Mutable(fields.ByName("by_num")).Map().Set(protoreflect.ValueOfInt32(int32(n)).MapKey(), protoreflect.ValueOfString(key))
		st, err := structpb.NewStruct(map[string]any{key: value})
		if err != nil {
			t.Fatal(err)
		}
		stField := fields.ByName("st")
		dyn := spec.NewField(stField).Message()
		b, _ := proto.Marshal(st)
		if err := (proto.UnmarshalOptions{}).Unmarshal(b, dyn.Interface()); err != nil {
			t.Fatal(err)
		}
		spec.Set(stField, protoreflect.ValueOfMessage(dyn))
		if err := apis.SetTypeMeta(obj); err != nil { // decoding sets them too
			t.Fatal(err)
		}
		for _, enc := range []func(proto.Message) ([]byte, error){EncodeYAML, EncodeJSON} {
			out, err := enc(obj)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			back, err := d.Decode("out", out)
			if err != nil {
				t.Fatalf("re-decode: %v\nencoded:\n%s", err, out)
			}
			if len(back) != 1 || !proto.Equal(back[0], obj) {
				t.Fatalf("round trip differs; encoded:\n%s", out)
			}
		}
	})
}
