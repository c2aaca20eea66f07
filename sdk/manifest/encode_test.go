package manifest

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func TestEncodeYAMLNamespace(t *testing.T) {
	ns := &corev1.Namespace{
		Status: &corev1.NamespaceStatus{Phase: "Active"},
		Spec:   &corev1.NamespaceSpec{Description: "123"},
		Metadata: &corev1.ObjectMeta{
			Name:              "demo",
			ResourceVersion:   12,
			Labels:            map[string]string{"team": "a", "n": "1", "b": "true", "e": ""},
			CreationTimestamp: &timestamppb.Timestamp{Seconds: 1714557600},
		},
	}
	got, err := EncodeYAML(ns)
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: core.pacific.dev/v1
kind: Namespace
metadata:
  name: demo
  resourceVersion: 12
  labels:
    b: "true"
    e: ""
    n: "1"
    team: a
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  description: "123"
status:
  phase: Active
`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if ns.GetApiVersion() != "" {
		t.Fatal("EncodeYAML changed its argument")
	}
}

func TestEncodeJSONNamespace(t *testing.T) {
	ns := &corev1.Namespace{
		Metadata: &corev1.ObjectMeta{Name: "demo", ResourceVersion: 12, Annotations: map[string]string{"a": "<&>"}},
	}
	got, err := EncodeJSON(ns)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "apiVersion": "core.pacific.dev/v1",
  "kind": "Namespace",
  "metadata": {
    "name": "demo",
    "resourceVersion": "12",
    "annotations": {
      "a": "<&>"
    }
  }
}
`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEncodeNotAKind(t *testing.T) {
	got, err := EncodeYAML(&corev1.ObjectMeta{Name: "x", Generation: 3})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "name: x\ngeneration: 3\n" {
		t.Fatalf("got %q", got)
	}
	got, err = EncodeJSON(&corev1.ObjectMeta{})
	if err != nil || string(got) != "{}\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// richWidget is a Widget manifest using every field shape, with values
// that are easy to get wrong in YAML.
const richWidget = `apiVersion: test.pacific.dev/v1
kind: Widget
metadata:
  name: w
  namespace: ns
  resourceVersion: 9223372036854775807
  generation: 2
  labels: {"<<": "null", "1": "true", "~": "", "a: b": "- x", "#": "'"}
  annotations: {multi: "line1\nline2\n", tab: "a\tb", uni: "é\u2028\u0085\ufeff", ctl: "\x01"}
  finalizers: [a, "yes"]
  ownerReferences: [{apiVersion: v1, kind: X, name: o, uid: u, controller: true}]
  creationTimestamp: 2024-01-01T00:00:00.123456789Z
spec:
  s: "2024-01-01"
  i32: -2147483648
  i64: -9223372036854775808
  u32: 4294967295
  u64: 18446744073709551615
  s32: -1
  f64: 18446744073709551615
  fl: 3.4028235e38
  db: 5e-324
  b: true
  by: "AP8="
  color: COLOR_BLUE
  tags: ["", " ", "0x10", "1e3", ".inf", "null", "true", "<<", "---", "..."]
  items: [{name: a, port: 1}, {}]
  labels: {a: b}
  byNum: {-1: a, 2: b}
  itemMap: {x: {port: 2}}
  anItem: {name: n}
  ts: "0001-01-01T00:00:00Z"
  dur: -0.000000001s
  st: {a: [1, 2.5, null, true, "s"], b: {c: {}}}
  val: null
  lv: [[], {}]
  w64: -5
  wstr: ""
  fm: a.b,c
  empty: {}
  opt: ""
  child: {child: {s: deep}}
  customName: c
  byBool: {true: 1, false: -1}
  nums: [0, -1, 9223372036854775807]
  dbls: [.nan, .inf, -.inf, -0.0]
  blobs: {0: "", 18446744073709551615: AQI=}
  colors: [COLOR_RED]
  wbool: false
  wdbl: -.inf
  wu64: 18446744073709551615
  wbytes: ""
status: {phase: p, observed: -3}
`

func TestRoundTrip(t *testing.T) {
	d := widgetDecoder(t)
	inputs := map[string]string{"widget": richWidget, "namespace": issueManifest}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			objs, err := d.Decode("in.yaml", []byte(in))
			if err != nil {
				t.Fatal(err)
			}
			obj := objs[0]
			for _, enc := range []struct {
				name string
				fn   func(proto.Message) ([]byte, error)
			}{{"yaml", EncodeYAML}, {"json", EncodeJSON}} {
				out, err := enc.fn(obj)
				if err != nil {
					t.Fatalf("%s: %v", enc.name, err)
				}
				back, err := d.Decode("out", out)
				if err != nil {
					t.Fatalf("%s output does not decode: %v\n%s", enc.name, err, out)
				}
				if len(back) != 1 || !proto.Equal(back[0], obj) {
					t.Fatalf("%s round trip differs:\n%s", enc.name, out)
				}
				again, err := enc.fn(back[0])
				if err != nil || string(again) != string(out) {
					t.Fatalf("%s encoding not stable:\n%s\n---\n%s", enc.name, out, again)
				}
				if !strings.HasPrefix(string(out), map[string]string{"yaml": "apiVersion:", "json": "{\n  \"apiVersion\":"}[enc.name]) {
					t.Fatalf("%s does not start with apiVersion:\n%s", enc.name, out)
				}
			}
		})
	}
}

func TestEncodeKeyOrder(t *testing.T) {
	d := widgetDecoder(t)
	objs, err := d.Decode("in.yaml", []byte("status: {phase: p}\nspec: {s: x}\nmetadata: {name: w}\nkind: Widget\napiVersion: test.pacific.dev/v1\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := EncodeYAML(objs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := "apiVersion: test.pacific.dev/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  s: x\nstatus:\n  phase: p\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if _, err := apis.KindOf(objs[0]); err != nil {
		t.Fatal(err)
	}
}
