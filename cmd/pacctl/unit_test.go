package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func testKinds() []*corev1.KindInfo {
	return []*corev1.KindInfo{
		{ApiVersion: "core.pacific.dev/v1", Kind: "Namespace", Plural: "namespaces", ShortNames: []string{"ns"}},
		{ApiVersion: "core.pacific.dev/v1", Kind: "Event", Plural: "events", ShortNames: []string{"ev"}, Namespaced: true},
		{ApiVersion: "vm.pacific.dev/v1", Kind: "Event", Plural: "events", Namespaced: true},
		{ApiVersion: "vm.pacific.dev/v1", Kind: "VirtualMachine", Plural: "virtualmachines", ShortNames: []string{"vm"}, Namespaced: true},
	}
}

func TestResolveKind(t *testing.T) {
	kinds := testKinds()
	for in, want := range map[string]string{
		"namespaces": "core.pacific.dev/v1 Namespace", "namespace": "core.pacific.dev/v1 Namespace",
		"ns": "core.pacific.dev/v1 Namespace", "Namespace": "core.pacific.dev/v1 Namespace",
		"NS": "core.pacific.dev/v1 Namespace", "namespaces.core": "core.pacific.dev/v1 Namespace",
		"namespaces.core.pacific.dev": "core.pacific.dev/v1 Namespace", "VM": "vm.pacific.dev/v1 VirtualMachine",
		"virtualmachine": "vm.pacific.dev/v1 VirtualMachine", "events.vm": "vm.pacific.dev/v1 Event",
		"ev": "core.pacific.dev/v1 Event",
	} {
		k, err := resolveKind(kinds, in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := k.GetApiVersion() + " " + k.GetKind(); got != want {
			t.Errorf("%q resolved to %s, want %s", in, got, want)
		}
	}
	_, err := resolveKind(kinds, "foo")
	if err == nil || err.Error() != `the server doesn't have a resource type "foo"` {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := resolveKind(kinds, "namespaces.vm"); err == nil {
		t.Error("namespaces.vm resolved")
	}
	_, err = resolveKind(kinds, "events")
	if err == nil || !strings.Contains(err.Error(), "ambiguous") || !strings.Contains(err.Error(), "events.vm.pacific.dev") {
		t.Errorf("ambiguous kind: %v", err)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-5 * time.Second:                "<invalid>",
		-500 * time.Millisecond:         "0s",
		0:                               "0s",
		59 * time.Second:                "59s",
		119 * time.Second:               "119s",
		2 * time.Minute:                 "2m",
		5*time.Minute + 30*time.Second:  "5m30s",
		10*time.Minute + 30*time.Second: "10m",
		179 * time.Minute:               "179m",
		3 * time.Hour:                   "3h",
		7*time.Hour + 59*time.Minute:    "7h59m",
		47 * time.Hour:                  "47h",
		48 * time.Hour:                  "2d",
		2*24*time.Hour + 5*time.Hour:    "2d5h",
		30 * 24 * time.Hour:             "30d",
		(2*365 + 3) * 24 * time.Hour:    "2y3d",
		9 * 365 * 24 * time.Hour:        "9y",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := age(now, "2025-01-02T03:00:00Z"); got != "4m5s" {
		t.Errorf("age = %q", got)
	}
	if got := age(now, ""); got != "<unknown>" {
		t.Errorf("age of nothing = %q", got)
	}
}

func TestTableRemembersWidths(t *testing.T) {
	var buf bytes.Buffer
	tbl := &table{w: &buf}
	if err := tbl.write([]string{"NAME", "STATUS", "AGE"}, []string{"default", "Active", "5m"}); err != nil {
		t.Fatal(err)
	}
	if err := tbl.write([]string{"a", "Terminating", "1s"}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME      STATUS   AGE\n" +
		"default   Active   5m\n" +
		"a         Terminating   1s\n"
	if buf.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := tbl.write([]string{"b", "Active", "2s"}); err != nil {
		t.Fatal(err)
	}
	if want := "b         Active        2s\n"; buf.String() != want {
		t.Fatalf("later row %q, want %q (widths only grow)", buf.String(), want)
	}
}

func TestLookupAndCell(t *testing.T) {
	var obj map[string]any
	dec := json.NewDecoder(strings.NewReader(`{"metadata":{"name":"x","generation":"3","labels":{"b":"2","a":"1"}},
		"spec":{"containers":[{"image":"nginx"},{"image":"redis"}],"replicas":3,"paused":false,"ports":[80,443]},
		"status":{"phase":"Active","startTime":"2025-01-02T03:00:00Z",
		"containerStatuses":[{"ready":true,"restartCount":2},{"ready":false,"restartCount":1}]}}`))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		t.Fatal(err)
	}
	// A pod whose containers exist but are not ready yet (protojson omits
	// ready: false), and one with no statuses at all.
	var starting, fresh map[string]any
	json.Unmarshal([]byte(`{"spec":{"containers":[{},{}]},"status":{"containerStatuses":[{"restartCount":0},{"ready":true}]}}`), &starting)
	json.Unmarshal([]byte(`{"spec":{"containers":[{}]},"status":{"phase":"Pending"}}`), &fresh)
	if got := cell(starting, true, "readycontainers", time.Now()); got != "1/2" {
		t.Errorf("readycontainers of a starting pod: %q, want 1/2", got)
	}
	if got := cell(fresh, true, "readycontainers", time.Now()); got != "0/1" {
		t.Errorf("readycontainers of a new pod: %q, want 0/1", got)
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct{ path, typ, want string }{
		{".status.phase", "string", "Active"},
		{".spec.containers[1].image", "string", "redis"},
		{".spec.containers[2].image", "string", "<none>"},
		{".spec.replicas", "integer", "3"},
		{".metadata.generation", "integer", "3"},
		{".spec.paused", "boolean", "false"},
		{".spec.ports", "string", "80,443"},
		{".status.startTime", "date", "4m5s"},
		{".status.missing", "string", "<none>"},
		{".status.phase.deeper", "string", "<none>"},
		{".spec.containers[0]", "string", `{"image":"nginx"}`},
		{".spec.containers[*].image", "string", "nginx,redis"},
		{".status.containerStatuses[*].ready", "ready", "1/2"},
		{".status.containerStatuses[*].restartCount", "sum", "3"},
		{".status.noStatuses[*].ready", "ready", "0/0"},
		{".spec.unschedulable", "boolean", "false"},
		{".", "readycontainers", "1/2"},
	} {
		v, ok := lookup(obj, tc.path)
		if got := cell(v, ok, tc.typ, now); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, got, tc.want)
		}
	}
	if got := labelsCell(obj); got != "a=1,b=2" {
		t.Errorf("labels = %q", got)
	}
}

func TestColumnsFor(t *testing.T) {
	k := &corev1.KindInfo{Kind: "Namespace", PrinterColumns: []*corev1.PrinterColumn{
		{Name: "Status", JsonPath: ".status.phase", Type: "string"},
		{Name: "Age", JsonPath: ".metadata.creationTimestamp", Type: "date"},
		{Name: "Description", JsonPath: ".spec.description", Type: "string", Priority: 1},
	}}
	now := time.Now
	if got := strings.Join(headers(columnsFor(k, tableOptions{}, now)), " "); got != "NAME STATUS AGE" {
		t.Errorf("columns = %s", got)
	}
	if got := strings.Join(headers(columnsFor(k, tableOptions{wide: true, showLabels: true}, now)), " "); got != "NAME STATUS AGE DESCRIPTION LABELS" {
		t.Errorf("wide columns = %s", got)
	}
	ev := &corev1.KindInfo{Kind: "Thing", Namespaced: true, PrinterColumns: []*corev1.PrinterColumn{{Name: "Reason", JsonPath: ".reason"}}}
	if got := strings.Join(headers(columnsFor(ev, tableOptions{allNamespaces: true}, now)), " "); got != "NAMESPACE NAME REASON AGE" {
		t.Errorf("-A columns without a date column = %s", got)
	}
}

func TestUnreachableMessage(t *testing.T) {
	reason, ok := unreachable(`connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`)
	if !ok || reason != "dial tcp 127.0.0.1:1: connect: connection refused" {
		t.Errorf("reason = %q, %v", reason, ok)
	}
	if _, ok := unreachable("the store has no leader; retry"); ok {
		t.Error("a server's own Unavailable taken for a connection failure")
	}
}

func TestTitle(t *testing.T) {
	for in, want := range map[string]string{"spec": "Spec", "involvedObject": "Involved Object", "firstTimestamp": "First Timestamp"} {
		if got := title(in); got != want {
			t.Errorf("title(%q) = %q", in, got)
		}
	}
}

func TestPodStatusColumn(t *testing.T) {
	for _, tc := range []struct{ js, want string }{
		{`{"status":{"phase":"Pending","containerStatuses":[{"state":{"waiting":{"reason":"ContainerCreating","message":"pulling 1/2 layers"}}}]}}`, "ContainerCreating"},
		{`{"status":{"phase":"Running","containerStatuses":[{"state":{"running":{}}},{"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}`, "CrashLoopBackOff"},
		{`{"status":{"phase":"Failed","containerStatuses":[{"state":{"terminated":{"reason":"OOMKilled"}}}]}}`, "OOMKilled"},
		{`{"status":{"phase":"Succeeded","containerStatuses":[{"state":{"terminated":{"reason":"Completed"}}}]}}`, "Succeeded"},
		{`{"metadata":{"deletionTimestamp":"2025-01-01T00:00:00Z"},"status":{"phase":"Running"}}`, "Terminating"},
		{`{"status":{"phase":"Running"}}`, "Running"},
		{`{"status":{"phase":"Failed","reason":"Evicted","containerStatuses":[{"state":{"terminated":{"reason":"Error"}}}]}}`, "Evicted"},
	} {
		var obj map[string]any
		dec := json.NewDecoder(strings.NewReader(tc.js))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		v, ok := lookup(obj, ".")
		if got := cell(v, ok, "podstatus", time.Now()); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.js, got, tc.want)
		}
	}
}

func TestParseWaitFor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want waitCondition
		bad  bool
	}{
		{in: "delete", want: waitCondition{raw: "delete", deleted: true}},
		{in: "condition=Ready", want: waitCondition{raw: "condition=Ready", condition: "Ready", want: "True"}},
		{in: "condition=Ready=False", want: waitCondition{raw: "condition=Ready=False", condition: "Ready", want: "False"}},
		{in: "jsonpath={.status.phase}=Running", want: waitCondition{raw: "jsonpath={.status.phase}=Running", path: ".status.phase", want: "Running"}},
		{in: "ready", bad: true},
		{in: "condition=", bad: true},
		{in: "jsonpath=status.phase", bad: true},
	} {
		got, err := parseWaitFor(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("parseWaitFor(%q) = %+v, %v", tc.in, got, err)
		}
	}
}
