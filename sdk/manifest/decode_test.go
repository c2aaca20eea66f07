package manifest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// issueManifest is the manifest issue 3 says must work as is.
const issueManifest = `apiVersion: core.pacific.dev/v1
kind: Namespace
metadata:
  name: demo
  labels: {team: a}
`

func TestDecodeIssueManifest(t *testing.T) {
	objs, err := Decoder{}.Decode("demo.yaml", []byte(issueManifest))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects", len(objs))
	}
	ns, ok := objs[0].(*corev1.Namespace)
	if !ok {
		t.Fatalf("got %T, want *corev1.Namespace", objs[0])
	}
	want := &corev1.Namespace{
		ApiVersion: "core.pacific.dev/v1",
		Kind:       "Namespace",
		Metadata:   &corev1.ObjectMeta{Name: "demo", Labels: map[string]string{"team": "a"}},
	}
	if !proto.Equal(ns, want) {
		t.Fatalf("got %v\nwant %v", ns, want)
	}
}

func TestDecodeIssueManifestBogusSpec(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{issueManifest + "spec: {bogus: 1}\n", "demo.yaml:6: spec.bogus: unknown field"},
		{issueManifest + "spec:\n  bogus: 1\n", "demo.yaml:7: spec.bogus: unknown field"},
	} {
		objs, err := Decoder{}.Decode("demo.yaml", []byte(tt.in))
		if objs != nil {
			t.Errorf("got objects %v with an error", objs)
		}
		if err == nil || err.Error() != tt.want {
			t.Fatalf("got %v, want %s", err, tt.want)
		}
		var e *Error
		if !errors.As(err, &e) || e.Path != "spec.bogus" || e.Line == 0 {
			t.Fatalf("errors.As: %#v", e)
		}
	}
}

// checkErrors asserts that err is an ErrorList whose lines contain want, in
// order, one for one.
func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got %T %v, want ErrorList", err, err)
	}
	if len(list) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(list), len(want), err)
	}
	for i, e := range list {
		if !strings.Contains(e.Error(), want[i]) {
			t.Errorf("error %d = %q, want it to contain %q", i, e.Error(), want[i])
		}
	}
}

func TestDecodeTopLevel(t *testing.T) {
	ns := "apiVersion: core.pacific.dev/v1\nkind: Namespace\n"
	tests := []struct {
		name string
		in   string
		want []string // errors; nil means success
		objs int
	}{
		{"missing apiVersion", "kind: Namespace\nmetadata: {name: a}\n", []string{"x.yaml:1: apiVersion: required"}, 0},
		{"missing kind", "apiVersion: core.pacific.dev/v1\n", []string{"x.yaml:1: kind: required"}, 0},
		{"missing both", "metadata: {name: a}\n", []string{"x.yaml:1: apiVersion: required", "x.yaml:1: kind: required"}, 0},
		{"empty apiVersion", "apiVersion: ''\nkind: Namespace\n", []string{"x.yaml:1: apiVersion: required"}, 0},
		{"null kind", "apiVersion: core.pacific.dev/v1\nkind:\n", []string{"x.yaml:2: kind: required"}, 0},
		{"apiVersion not a string", "apiVersion: 1\nkind: Namespace\n", []string{`x.yaml:1: apiVersion: must be a string, not the integer 1`}, 0},
		{"kind a list", "apiVersion: core.pacific.dev/v1\nkind: [a]\n", []string{`x.yaml:2: kind: must be a string, not a list`}, 0},
		{"unknown kind", "apiVersion: core.pacific.dev/v1\nkind: Foo\n", []string{`x.yaml:2: no kind "Foo" in apiVersion "core.pacific.dev/v1"`}, 0},
		{"unknown group", "apiVersion: nope.pacific.dev/v1\nkind: Namespace\n", []string{`x.yaml:2: no kind "Namespace" in apiVersion "nope.pacific.dev/v1"`}, 0},
		{"foreign apiVersion", "kind: Namespace\napiVersion: apps/v1\n", []string{`x.yaml:2: apiVersion "apps/v1": want <domain>.pacific.dev/<version>`}, 0},
		{"bad kind name", "apiVersion: core.pacific.dev/v1\nkind: a-b\n", []string{`x.yaml:2: kind: "a-b" is not a valid kind name`}, 0},
		{"not a kind", "apiVersion: core.pacific.dev/v1\nkind: ObjectMeta\n", []string{`no kind "ObjectMeta"`}, 0},
		{"document is a list", "- a\n- b\n", []string{"x.yaml:1: a manifest must be a mapping with apiVersion and kind, not a list"}, 0},
		{"document is a string", "hello\n", []string{`x.yaml:1: a manifest must be a mapping with apiVersion and kind, not the string "hello"`}, 0},
		{"malformed YAML", ns + "metadata:\n  name: a\n name: b\n", []string{"x.yaml:4: invalid YAML: did not find expected key"}, 0},
		{"tab indentation", ns + "metadata:\n\tname: a\n", []string{"x.yaml:4: invalid YAML: found character that cannot start any token"}, 0},
		{"unclosed flow", ns + "metadata: {name: a\n", []string{"x.yaml:", "invalid YAML"}[1:], 0},
		{"duplicate apiVersion", ns + "apiVersion: core.pacific.dev/v1\n", []string{"x.yaml:3: apiVersion: duplicate field (first at line 1)"}, 0},
		{"snake_case field", ns + "metadata: {name: a, resource_version: 3}\n", []string{`x.yaml:3: metadata.resource_version: unknown field (did you mean "resourceVersion"?)`}, 0},
		{"wrong case field", ns + "Metadata: {name: a}\n", []string{`x.yaml:3: Metadata: unknown field (did you mean "metadata"?)`}, 0},
		{"unknown top-level field", ns + "specs: {}\n", []string{"x.yaml:3: specs: unknown field"}, 0},
		{"label value not a string", ns + "metadata:\n  labels:\n    a: 1\n    b: true\n    c: \"1\"\n",
			[]string{`x.yaml:5: metadata.labels["a"]: must be a string, not the integer 1 (quote it: "1")`,
				`x.yaml:6: metadata.labels["b"]: must be a string, not the boolean true (quote it: "true")`}, 0},
		{"label value null", ns + "metadata: {labels: {a: }}\n", []string{`metadata.labels["a"]: must be a string, not null`}, 0},
		{"label key not a string", ns + "metadata: {labels: {1: a}}\n", []string{"x.yaml:3: metadata.labels: keys must be strings, not the integer 1"}, 0},
		{"labels a list", ns + "metadata: {labels: [a]}\n", []string{"x.yaml:3: metadata.labels: must be a mapping, not a list"}, 0},
		{"duplicate label", ns + "metadata:\n  labels:\n    a: x\n    a: y\n", []string{`x.yaml:6: metadata.labels["a"]: duplicate key (first at line 5)`}, 0},
		{"finalizers not a list", ns + "metadata: {finalizers: a}\n", []string{`metadata.finalizers: must be a list, not the string "a"`}, 0},
		{"resourceVersion number", ns + "metadata: {name: a, resourceVersion: 12}\n", nil, 1},
		{"resourceVersion string", ns + "metadata: {name: a, resourceVersion: \"12\"}\n", nil, 1},
		{"resourceVersion text", ns + "metadata: {name: a, resourceVersion: abc}\n", []string{`metadata.resourceVersion: must be an integer, not the string "abc"`}, 0},
		{"creationTimestamp plain", ns + "metadata: {creationTimestamp: 2024-05-01T10:00:00Z}\n", nil, 1},
		{"status allowed", ns + "status: {phase: Active, conditions: [{type: Ready, status: \"True\"}]}\n", nil, 1},
		{"condition status unquoted", ns + "status: {conditions: [{type: Ready, status: True}]}\n", []string{`x.yaml:3: status.conditions[0].status: must be a string, not the boolean True (quote it: "True")`}, 0},
		{"spec a list", ns + "spec: []\n", []string{"x.yaml:3: spec: must be a mapping (object), not a list"}, 0},
		{"null spec is unset", ns + "spec:\n", nil, 1},
		{"alias", ns + "metadata: {name: &n a, namespace: *n}\n", []string{"x.yaml:3: metadata.namespace: YAML aliases (*n) are not allowed in manifests"}, 0},
		{"merge key", ns + "metadata:\n  <<: {name: a}\n", []string{"x.yaml:4: metadata: YAML merge keys (<<) are not supported in manifests"}, 0},
		{"custom tag", ns + "metadata: {name: !secret a}\n", []string{"x.yaml:3: metadata.name: YAML tag !secret is not supported in manifests"}, 0},
		{"explicit str tag", ns + "metadata: {name: !!str 123}\n", nil, 1},
		{"every problem at once", ns + "metadata:\n  name: 1\n  bogus: x\nspec: {description: [a]}\nstatus: {phase: {}}\n",
			[]string{"x.yaml:4: metadata.name: must be a string", "x.yaml:5: metadata.bogus: unknown field",
				"x.yaml:6: spec.description: must be a string, not a list", "x.yaml:7: status.phase: must be a string, not a mapping"}, 0},
		{"JSON", `{"apiVersion": "core.pacific.dev/v1", "kind": "Namespace",` + "\n" + `"metadata": {"name": "a", "resourceVersion": "7"}}`, nil, 1},
		{"JSON unknown field", `{"apiVersion": "core.pacific.dev/v1", "kind": "Namespace",` + "\n\n" + `"spec": {"bogus": 1}}`, []string{"x.yaml:3: spec.bogus: unknown field"}, 0},
		{"JSON escaped slash", `{"apiVersion": "core.pacific.dev/v1", "kind": "Namespace", "metadata": {"name": "a\/b"}}`, nil, 1},
		{"JSON long key", `{"apiVersion": "core.pacific.dev/v1", "kind": "Namespace", "metadata": {"annotations": {"` + strings.Repeat("k", 2000) + `": "v"}}}`, nil, 1},
		{"JSON stream", "{\"apiVersion\": \"core.pacific.dev/v1\", \"kind\": \"Namespace\"}\n[]\nnull\n{\"kind\": \"Namespace\"}",
			[]string{"x.yaml:2: a manifest must be a mapping with apiVersion and kind, not a list", "x.yaml:4: apiVersion: required"}, 0},
		{"JSON duplicate key", "{\"apiVersion\": \"core.pacific.dev/v1\", \"kind\": \"Namespace\",\n \"kind\": \"Namespace\"}", []string{"x.yaml:2: kind: duplicate field (first at line 1)"}, 0},
		{"JSON int64 overflow", ns + `metadata: {"generation": 99999999999999999999}`, []string{"x.yaml:3: metadata.generation: 99999999999999999999 is out of range for int64"}, 0},
		{"JSON syntax error reported by YAML", "{\"apiVersion\": \"core.pacific.dev/v1\",\n\"kind\" \"Namespace\"}", []string{"x.yaml:1: invalid YAML"}, 0},
		{"JSON invalid UTF-8 reported by YAML", "{\"kind\": \"\xff\"}", []string{"x.yaml:1: invalid YAML"}, 0},
		{"CRLF", strings.ReplaceAll(issueManifest+"---\n"+issueManifest, "\n", "\r\n"), nil, 2},
		{"BOM", "\ufeff" + issueManifest, nil, 1},
		{"CR line endings", strings.ReplaceAll(issueManifest+"---\n"+ns+"spec: {bogus: 1}\n", "\n", "\r"), []string{"x.yaml:9: spec.bogus: unknown field"}, 0},
		{"mixed line endings", "# c\r" + strings.ReplaceAll(issueManifest, "\n", "\r\n") + "---\n" + ns + "spec: {bogus: 1}\n", []string{"x.yaml:10: spec.bogus: unknown field"}, 0},
		{"empty input", "", nil, 0},
		{"only comments and separators", "# hi\n---\n---\n# c\n...\n", nil, 0},
		{"explicit null document", "null\n---\n~\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decoder{}.Decode("x.yaml", []byte(tt.in))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(objs) != tt.objs {
					t.Fatalf("got %d objects, want %d", len(objs), tt.objs)
				}
				return
			}
			if objs != nil {
				t.Errorf("objects returned with an error: %v", objs)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

func TestDecodeUnknownKindSentinel(t *testing.T) {
	_, err := Decoder{}.Decode("x.yaml", []byte("apiVersion: core.pacific.dev/v1\nkind: Foo\n"))
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("%v does not wrap ErrUnknownKind", err)
	}
}

func TestDecodeMultiDocument(t *testing.T) {
	in := "# leading comment\n" + // 1
		"---\n" + // 2
		"apiVersion: core.pacific.dev/v1\n" + // 3
		"kind: Namespace\n" + // 4
		"metadata: {name: a}\n" + // 5
		"---\n" + // 6
		"# only a comment\n" + // 7
		"--- {apiVersion: core.pacific.dev/v1, kind: Namespace, metadata: {name: b}}\n" + // 8
		"...\n" + // 9
		"%YAML 1.1\n" + // 10
		"---\n" + // 11
		"apiVersion: core.pacific.dev/v1\n" + // 12
		"kind: Event\n" + // 13
		"metadata: {name: c, namespace: a}\n" + // 14
		"count: 2\n" // 15
	docs, err := Decoder{}.DecodeDocuments("m.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.Object.GetMetadata().GetName()+"@"+d.Source+":"+strconv.Itoa(d.Line))
	}
	if want := "a@m.yaml:2 b@m.yaml:8 c@m.yaml:10"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if ev, ok := docs[2].Object.(*corev1.Event); !ok || ev.GetCount() != 2 {
		t.Fatalf("third object: %v", docs[2].Object)
	}
}

func TestDecodeErrorsFromEveryDocument(t *testing.T) {
	in := issueManifest + // 1-5
		"---\n" + // 6
		"apiVersion: core.pacific.dev/v1\n" + // 7
		"kind: Namespace\n" + // 8
		"spec: {bogus: 1}\n" + // 9
		"---\n" + // 10
		issueManifest + // 11-15
		"---\n" + // 16
		"kind: Nope\n" // 17
	objs, err := Decoder{}.Decode("-", []byte(in))
	if objs != nil {
		t.Fatalf("partial result %v", objs)
	}
	checkErrors(t, err, []string{"-:9: spec.bogus: unknown field", "-:17: apiVersion: required"})
}

func TestDecodeDocumentSizeLimit(t *testing.T) {
	big := issueManifest + "spec: {description: " + strings.Repeat("x", 2000) + "}\n"
	in := issueManifest + "---\n" + big + "---\n" + "kind: Namespace\n"
	_, err := Decoder{MaxDocumentBytes: 1024}.Decode("x.yaml", []byte(in))
	checkErrors(t, err, []string{fmt.Sprintf("x.yaml:6: document is %d bytes, over the limit of 1024", len("---\n"+big)), "x.yaml:14: apiVersion: required"})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("%v does not wrap ErrTooLarge", err)
	}
	if _, err := (Decoder{MaxDocumentBytes: 4096}).Decode("x.yaml", []byte(big)); err != nil {
		t.Fatalf("under the limit: %v", err)
	}
	if _, err := (Decoder{}).Decode("x.yaml", []byte(issueManifest+"spec: {description: "+strings.Repeat("x", DefaultMaxDocumentBytes)+"}\n")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("default limit not applied: %v", err)
	}
}

func TestDecodeAliasBomb(t *testing.T) {
	// The "billion laughs": rejected at the first alias, never expanded.
	in := issueManifest + "spec:\n  description: &a [x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'j'; i++ {
		prev := string(i - 1)
		in += "  " + string(i) + ": &" + string(i) + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
	}
	_, err := Decoder{}.Decode("x.yaml", []byte(in))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 10 {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(list[0].Error(), "spec.description: must be a string, not a list") ||
		!strings.Contains(list[1].Error(), "spec.b: unknown field") {
		t.Fatalf("got %v", err)
	}
}

func TestDecodeTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString(issueManifest + "spec:\n")
	for i := range 150 {
		b.WriteString("  f" + strings.Repeat("x", i) + ": 1\n")
	}
	_, err := Decoder{}.Decode("x.yaml", []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != maxErrors+1 || !strings.Contains(list[maxErrors].Msg, "too many errors") {
		t.Fatalf("got %d errors, last %v", len(list), list[len(list)-1])
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Source: "a.yaml", Line: 7, Path: "spec.bogus", Msg: "unknown field"}, "a.yaml:7: spec.bogus: unknown field"},
		{Error{Source: "a.yaml", Line: 7, Msg: "invalid YAML: x"}, "a.yaml:7: invalid YAML: x"},
		{Error{Source: "-", Path: "kind", Msg: "required"}, "-: kind: required"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	list := ErrorList{&tests[0].e, &tests[1].e}
	if got := list.Error(); got != tests[0].want+"\n"+tests[1].want {
		t.Errorf("ErrorList.Error() = %q", got)
	}
	if !errors.Is(list, &tests[1].e) {
		t.Error("errors.Is does not see the second error")
	}
}

// widgetHeader starts a Widget manifest; spec fields start on line 5.
const widgetHeader = "apiVersion: test.pacific.dev/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n"

func TestDecodeWidgetValues(t *testing.T) {
	d := widgetDecoder(t)
	tests := []struct {
		name string
		spec string // YAML lines under spec:, indented by the test
		want string // protojson of the spec
	}{
		{"string", "s: hello", `{"s":"hello"}`},
		{"quoted number string", `s: "123"`, `{"s":"123"}`},
		{"date-like string", "s: 2024-01-01", `{"s":"2024-01-01"}`},
		{"yes is a string", "s: yes", `{"s":"yes"}`},
		{"explicit str tag", "s: !!str 1.5", `{"s":"1.5"}`},
		{"empty string", `s: ""`, `{}`},
		{"null unsets", "s: null", `{}`},
		{"block scalar", "s: |\n  a\n  b", `{"s":"a\nb\n"}`},
		{"int32", "i32: -2147483648", `{"i32":-2147483648}`},
		{"int32 hex", "i32: 0x10", `{"i32":16}`},
		{"int32 underscores", "i32: 1_000", `{"i32":1000}`},
		{"int64 max", "i64: 9223372036854775807", `{"i64":"9223372036854775807"}`},
		{"int64 quoted", `i64: "-5"`, `{"i64":"-5"}`},
		{"uint32 max", "u32: 4294967295", `{"u32":4294967295}`},
		{"uint64 max", "u64: 18446744073709551615", `{"u64":"18446744073709551615"}`},
		{"uint64 quoted max", `u64: "18446744073709551615"`, `{"u64":"18446744073709551615"}`},
		{"sint32 fixed64", "s32: -3\nf64: 7", `{"s32":-3,"f64":"7"}`},
		{"float", "fl: 1.5", `{"fl":1.5}`},
		{"float from int", "fl: 3", `{"fl":3}`},
		{"double big", "db: 1e300", `{"db":1e300}`},
		{"double inf", "db: -.inf", `{"db":"-Infinity"}`},
		{"double NaN string", `db: "NaN"`, `{"db":"NaN"}`},
		{"double list", "dbls: [1, 2.5, .inf]", `{"dbls":[1,2.5,"Infinity"]}`},
		{"bool", "b: True", `{"b":true}`},
		{"bytes", "by: aGVsbG8=", `{"by":"aGVsbG8="}`},
		{"bytes unpadded", "by: aGVsbG8", `{"by":"aGVsbG8="}`},
		{"bytes url", "by: _-8", `{"by":"/+8="}`},
		{"bytes binary tag", "by: !!binary |\n  aGVs\n  bG8=", `{"by":"aGVsbG8="}`},
		{"enum", "color: COLOR_RED", `{"color":"COLOR_RED"}`},
		{"enum list", "colors: [COLOR_BLUE, COLOR_UNSPECIFIED]", `{"colors":["COLOR_BLUE","COLOR_UNSPECIFIED"]}`},
		{"string list", "tags: [a, 'b']", `{"tags":["a","b"]}`},
		{"block list", "tags:\n- a\n- b", `{"tags":["a","b"]}`},
		{"empty list", "tags: []", `{}`},
		{"message list", "items:\n- name: a\n  port: 80\n- {}", `{"items":[{"name":"a","port":80},{}]}`},
		{"string map", "labels: {a: x, 'b/c': ''}", `{"labels":{"a":"x","b/c":""}}`},
		{"int map", "byNum: {1: a, -2: b, 0x3: c}", `{"byNum":{"1":"a","-2":"b","3":"c"}}`},
		{"bool map", "byBool: {true: 5, false: '6'}", `{"byBool":{"true":"5","false":"6"}}`},
		{"uint64 map of bytes", "blobs: {18446744073709551615: aGk=}", `{"blobs":{"18446744073709551615":"aGk="}}`},
		{"message map", "itemMap: {x: {port: 1}}", `{"itemMap":{"x":{"port":1}}}`},
		{"oneof string", "aStr: x", `{"aStr":"x"}`},
		{"oneof message", "anItem: {name: n}", `{"anItem":{"name":"n"}}`},
		{"oneof one null", "aStr: null\nanItem: {}", `{"anItem":{}}`},
		{"timestamp", "ts: 2024-01-01T00:00:00Z", `{"ts":"2024-01-01T00:00:00Z"}`},
		{"timestamp offset", `ts: "2024-01-01T01:02:03.5+02:00"`, `{"ts":"2023-12-31T23:02:03.500Z"}`},
		{"duration", "dur: 1.5s", `{"dur":"1.500s"}`},
		{"negative duration", "dur: -3s", `{"dur":"-3s"}`},
		{"field mask", "fm: a.b,c", `{"fm":"a.b,c"}`},
		{"struct", "st: {a: 1, b: [true, null, x], c: {d: 2024-01-01}}", `{"st":{"a":1,"b":[true,null,"x"],"c":{"d":"2024-01-01"}}}`},
		{"value null", "val: null", `{"val":null}`},
		{"value number", "val: 5", `{"val":5}`},
		{"value string", "val: x", `{"val":"x"}`},
		{"list value", "lv: [1, a, {}]", `{"lv":[1,"a",{}]}`},
		{"null value enum", "nul: null", `{}`},
		{"wrappers", "w64: 5\nwstr: x\nwbool: false\nwdbl: 2.5\nwu64: '9'\nwbytes: aGk=", `{"w64":"5","wstr":"x","wbool":false,"wdbl":2.5,"wu64":"9","wbytes":"aGk="}`},
		{"wrapper of empty string is set", `wstr: ""`, `{"wstr":""}`},
		{"empty message", "empty: {}", `{"empty":{}}`},
		{"optional empty string is set", `opt: ""`, `{"opt":""}`},
		{"custom json name", "customName: x", `{"customName":"x"}`},
		{"nested", "child: {s: x, child: {i32: 1}}", `{"child":{"s":"x","child":{"i32":1}}}`},
	}
	specMD := func() *dynamicpb.Message {
		obj, err := d.Types.New(widgetGVK)
		if err != nil {
			t.Fatal(err)
		}
		return dynamicpb.NewMessage(specOf(t, obj).Descriptor())
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := widgetHeader + indent(tt.spec)
			objs, err := d.Decode("w.yaml", []byte(in))
			if err != nil {
				t.Fatalf("Decode:\n%s\n%v", in, err)
			}
			got := specOf(t, objs[0]).Interface()
			want := specMD()
			if err := protojson.Unmarshal([]byte(tt.want), want); err != nil {
				t.Fatalf("bad want %s: %v", tt.want, err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", protojson.Format(got), protojson.Format(want))
			}
		})
	}
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}

func TestDecodeWidgetErrors(t *testing.T) {
	d := widgetDecoder(t)
	deep := func(field string, n int, open, close string) string {
		return field + ": " + strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	tests := []struct {
		name string
		spec string
		want []string
	}{
		{"unknown", "bogus: 1", []string{"w.yaml:5: spec.bogus: unknown field"}},
		{"snake case", "by_num: {}", []string{`w.yaml:5: spec.by_num: unknown field (did you mean "byNum"?)`}},
		{"proto name of custom json name", "custom: x", []string{`spec.custom: unknown field (did you mean "customName"?)`}},
		{"string from float", "s: 1.5", []string{`spec.s: must be a string, not the number 1.5 (quote it: "1.5")`}},
		{"string from null in list", "tags: [a, null]", []string{`spec.tags[1]: must be a string, not null`}},
		{"string from mapping", "s: {a: b}", []string{"spec.s: must be a string, not a mapping"}},
		{"string in list", "tags: [a, 1]", []string{"w.yaml:5: spec.tags[1]: must be a string, not the integer 1"}},
		{"list from string", "tags: a", []string{`spec.tags: must be a list, not the string "a"`}},
		{"nested unknown", "items:\n- name: a\n  prt: 1", []string{"w.yaml:7: spec.items[0].prt: unknown field"}},
		{"nested type", "items: [{}, {port: x}]", []string{`spec.items[1].port: must be an integer, not the string "x"`}},
		{"null list item", "items: [null]", []string{`spec.items[0]: must be a mapping (object), not null`}},
		{"int32 overflow", "i32: 2147483648", []string{"spec.i32: 2147483648 is out of range for int32"}},
		{"int32 underflow", "i32: -2147483649", []string{"spec.i32: -2147483649 is out of range for int32"}},
		{"int32 quoted", `i32: "5"`, []string{`spec.i32: must be an integer, not the string "5"`}},
		{"int64 overflow", "i64: 9223372036854775808", []string{"spec.i64: 9223372036854775808 is out of range for int64"}},
		{"int64 huge", "i64: 99999999999999999999999", []string{"spec.i64: 99999999999999999999999 is out of range for int64"}},
		{"int64 quoted overflow", `i64: "9223372036854775808"`, []string{"is out of range for int64"}},
		{"int64 quoted exponent", `i64: "1e3"`, []string{`spec.i64: must be an integer, not the string "1e3"`}},
		{"int64 quoted padded", `i64: " 1"`, []string{`must be an integer`}},
		{"uint32 negative", "u32: -1", []string{"spec.u32: -1 is out of range for uint32: must not be negative"}},
		{"uint32 overflow", "u32: 4294967296", []string{"spec.u32: 4294967296 is out of range for uint32"}},
		{"uint64 float", "u64: 1.5", []string{"spec.u64: must be an integer, not the number 1.5"}},
		{"uint64 quoted negative", `u64: "-1"`, []string{"out of range for uint64"}},
		{"int from bool", "i32: true", []string{"spec.i32: must be an integer, not the boolean true"}},
		{"float overflow", "fl: 1e39", []string{"spec.fl: 1e39 is out of range for float"}},
		{"double from string", "db: abc", []string{`spec.db: must be a number, not the string "abc"`}},
		{"double quoted number", `db: "1.5"`, []string{`spec.db: must be a number, not the string "1.5"`}},
		{"bool from string", "b: yes", []string{`spec.b: must be a boolean (true or false), not the string "yes"`}},
		{"bool from int", "b: 1", []string{"spec.b: must be a boolean (true or false), not the integer 1"}},
		{"bytes invalid", "by: '!!!'", []string{"spec.by: invalid base64"}},
		{"bytes from int", "by: 5", []string{"spec.by: must be base64-encoded bytes, not the integer 5"}},
		{"enum unknown", "color: RED", []string{`spec.color: invalid value "RED": must be one of COLOR_UNSPECIFIED, COLOR_RED, COLOR_BLUE`}},
		{"enum number", "color: 1", []string{"spec.color: must be one of COLOR_UNSPECIFIED, COLOR_RED, COLOR_BLUE, not the integer 1"}},
		{"enum in list", "colors: [COLOR_RED, blue]", []string{`spec.colors[1]: invalid value "blue"`}},
		{"int map key", "byNum: {a: x}", []string{`spec.byNum[a]: must be an integer, not the string "a"`}},
		{"int map key overflow", "byNum: {4294967296: x}", []string{"out of range for int32"}},
		{"bool map key", "byBool: {yes: 1}", []string{`spec.byBool[yes]: must be a boolean (true or false), not the string "yes"`}},
		{"map key a mapping", "byNum: {{a: b}: x}", []string{"spec.byNum: map keys must be scalars, not a mapping"}},
		{"duplicate int map key", "byNum: {1: a, 0x1: b}", []string{`spec.byNum["1"]: duplicate key (first at line 5)`}},
		{"message map value", "itemMap: {x: 5}", []string{`spec.itemMap["x"]: must be a mapping (object), not the integer 5`}},
		{"oneof twice", "aStr: x\nanItem: {}", []string{"w.yaml:6: spec.anItem: only one of aStr and anItem may be set"}},
		{"duplicate field", "s: a\nb: true\ns: b", []string{"w.yaml:7: spec.s: duplicate field (first at line 5)"}},
		{"timestamp date only", "ts: 2024-01-01", []string{`spec.ts: invalid value "2024-01-01": must be an RFC 3339 timestamp`}},
		{"timestamp words", "ts: yesterday", []string{`spec.ts: invalid value "yesterday": must be an RFC 3339 timestamp`}},
		{"timestamp space separated", "ts: 2001-12-14 21:59:43.10 -5", []string{"spec.ts: invalid value"}},
		{"timestamp out of range", `ts: "10000-01-01T00:00:00Z"`, []string{"spec.ts: invalid value"}},
		{"timestamp number", "ts: 5", []string{"spec.ts: must be an RFC 3339 timestamp, e.g. 2006-01-02T15:04:05Z, not the integer 5"}},
		{"duration go style", "dur: 1m30s", []string{`spec.dur: invalid value "1m30s": must be a duration`}},
		{"duration number", "dur: 5", []string{"spec.dur: must be a duration"}},
		{"field mask list", "fm: [a]", []string{"spec.fm: must be a field mask"}},
		{"any", "any: {'@type': x}", []string{"spec.any: google.protobuf.Any fields are not supported in manifests"}},
		{"struct from list", "st: [a]", []string{"spec.st: must be a mapping, not a list"}},
		{"struct duplicate", "st: {a: 1, a: 2}", []string{"spec.st.a: duplicate key (first at line 5)"}},
		{"struct NaN", "val: .nan", []string{"spec.val: .nan is not a JSON number"}},
		{"struct non-string key", "st: {1: a}", []string{"spec.st: keys must be strings, not the integer 1"}},
		{"list value from mapping", "lv: {}", []string{"spec.lv: must be a list, not a mapping"}},
		{"null value enum", "nul: 0", []string{"spec.nul: must be null, not the integer 0"}},
		{"wrapper type", "w64: x", []string{`spec.w64: must be an integer, not the string "x"`}},
		{"empty message not empty", "empty: {a: 1}", []string{"spec.empty.a: unknown field"}},
		{"explicit int tag", "i32: !!int 5", []string{"spec.i32: explicit YAML tag !!int is not supported"}},
		{"alias in list", "tags: [&x a, *x]", []string{"spec.tags[1]: YAML aliases (*x) are not allowed"}},
		{"alias as key", "labels: {&k a: b, *k : c}", []string{"spec.labels: YAML aliases (*k) are not allowed"}},
		{"deep messages", strings.Repeat("child:\n  ", 0) + deep("child", 101, "{child: ", "}"), []string{"nested too deeply (more than 100 levels)"}},
		{"deep struct", deep("val", 150, "[", "]"), []string{"nested too deeply (more than 100 levels)"}},
		{"many problems", "s: 1\ni32: x\ncolor: RED\nbogus: 1",
			[]string{"w.yaml:5: spec.s:", "w.yaml:6: spec.i32:", "w.yaml:7: spec.color:", "w.yaml:8: spec.bogus: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := widgetHeader + indent(tt.spec)
			objs, err := d.Decode("w.yaml", []byte(in))
			if objs != nil {
				t.Errorf("objects returned with an error")
			}
			checkErrors(t, err, tt.want)
		})
	}
}

func TestDecodeTestdataMulti(t *testing.T) {
	docs, err := Decoder{}.DecodePaths([]string{"testdata/multi.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.Object.GetMetadata().GetName()+"@"+strconv.Itoa(d.Line))
	}
	if want := "demo@2 e@16 e2@18"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	ns := docs[0].Object.(*corev1.Namespace)
	if ns.GetSpec().GetDescription() != "folded text\n" || ns.GetMetadata().GetAnnotations()["note"] != "multi-line\ntext\n" {
		t.Fatalf("got %v", ns)
	}
	if ev := docs[1].Object.(*corev1.Event); ev.GetMetadata().GetResourceVersion() != 42 || ev.GetCount() != 3 {
		t.Fatalf("got %v", ev)
	}
}
