package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/manifest"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

// The acceptance manifest of issue 3, as is.
const demoManifest = `apiVersion: core.pacific.dev/v1
kind: Namespace
metadata:
  name: demo
  labels: {team: a}
`

type result struct {
	code           int
	stdout, stderr string
}

// pacctl runs the command in-process, as the binary would, with stdin.
func pacctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	// Trust the test servers' CA (what a config's certificateAuthorityData does).
	args = append([]string{"--certificate-authority=" + caFile(t)}, args...)
	code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "stderr:\n" + r.stderr
}

// caFile writes the test CA's certificate for --certificate-authority.
func caFile(t *testing.T) string {
	t.Helper()
	return writeFile(t, "ca.crt", string(testutil.CA(t).CertPEM))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustRun fails the test unless pacctl exits 0 with stdout containing want.
func mustRun(t *testing.T, want string, args ...string) result {
	t.Helper()
	r := pacctl(t, "", args...)
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("pacctl %s: want exit 0 and %q in stdout; got %s", strings.Join(args, " "), want, r)
	}
	return r
}

// mustFail fails the test unless pacctl exits non-zero with stderr
// containing want.
func mustFail(t *testing.T, want string, args ...string) result {
	t.Helper()
	r := pacctl(t, "", args...)
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("pacctl %s: want exit ≠ 0 and %q in stderr; got %s", strings.Join(args, " "), want, r)
	}
	return r
}

func TestApplyGetDescribeDelete(t *testing.T) {
	api, srv := startAPI(t)
	demo := writeFile(t, "demo.yaml", demoManifest)

	if r := mustRun(t, "", srv, "apply", "-f", demo); r.stdout != "namespace/demo created\n" {
		t.Fatalf("first apply printed %q", r.stdout)
	}
	if r := mustRun(t, "", srv, "apply", "-f", demo); r.stdout != "namespace/demo unchanged\n" {
		t.Fatalf("second apply printed %q", r.stdout)
	}
	changed := writeFile(t, "demo.yaml", strings.Replace(demoManifest, "team: a", "team: b", 1)+"spec:\n  description: the demo team\n")
	if r := mustRun(t, "", srv, "apply", "-f", changed); r.stdout != "namespace/demo configured\n" {
		t.Fatalf("changed apply printed %q", r.stdout)
	}
	// From stdin, and unchanged again.
	r := pacctl(t, strings.Replace(demoManifest, "team: a", "team: b", 1)+"spec:\n  description: the demo team\n", srv, "apply", "-f", "-")
	if r.code != 0 || r.stdout != "namespace/demo unchanged\n" {
		t.Fatalf("apply from stdin: %s", r)
	}

	// get: table, wide, json (one object and a List), yaml, name.
	r = mustRun(t, "demo", srv, "get", "namespaces")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME STATUS AGE" || !strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "demo Active ") {
		t.Fatalf("get namespaces:\n%s", r.stdout)
	}
	mustRun(t, "the demo team", srv, "get", "ns", "-o", "wide")
	r = mustRun(t, "", srv, "get", "Namespace", "demo", "-o", "json")
	var one map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &one); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, r.stdout)
	}
	if one["kind"] != "Namespace" || one["metadata"].(map[string]any)["name"] != "demo" {
		t.Fatalf("-o json of one object:\n%s", r.stdout)
	}
	r = mustRun(t, "", srv, "get", "namespaces", "-o", "json")
	var list struct {
		APIVersion, Kind string
		Items            []map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.Kind != "List" || list.APIVersion != "v1" || len(list.Items) != 1 {
		t.Fatalf("-o json of a list (%v):\n%s", err, r.stdout)
	}
	r = mustRun(t, "name: demo", srv, "get", "ns", "demo", "-o", "yaml")
	objs, err := manifest.Decoder{}.Decode("get.yaml", []byte(r.stdout))
	if err != nil || len(objs) != 1 || objs[0].(*corev1.Namespace).GetSpec().GetDescription() != "the demo team" {
		t.Fatalf("-o yaml does not decode back (%v):\n%s", err, r.stdout)
	}
	// What get -o yaml prints can be applied again.
	if r := pacctl(t, r.stdout, srv, "apply", "-f", "-"); r.code != 0 || r.stdout != "namespace/demo unchanged\n" {
		t.Fatalf("apply of get -o yaml output: %s", r)
	}
	if r := mustRun(t, "", srv, "get", "namespaces", "-o", "name"); r.stdout != "namespace/demo\n" {
		t.Fatalf("-o name printed %q", r.stdout)
	}
	mustRun(t, "items:", srv, "get", "namespaces", "-o", "yaml")
	mustRun(t, "demo", srv, "get", "ns", "-l", "team=b")
	if r := pacctl(t, "", srv, "get", "ns", "-l", "team=zzz"); r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "No resources found") {
		t.Fatalf("empty selection: %s", r)
	}

	// Errors.
	if r := mustFail(t, "", srv, "get", "namespaces", "x"); strings.TrimSpace(r.stderr) != `Error: namespaces "x" not found` {
		t.Fatalf("not found printed %q", r.stderr)
	}
	if r := mustFail(t, "", srv, "get", "foo"); strings.TrimSpace(r.stderr) != `error: the server doesn't have a resource type "foo"` {
		t.Fatalf("unknown kind printed %q", r.stderr)
	}
	mustFail(t, "unknown output format", srv, "get", "ns", "-o", "xml")
	mustFail(t, "label", srv, "get", "ns", "-l", "a in (")

	// describe shows metadata, spec, status and the events about the object.
	c := api.Client(t)
	ctx := context.Background()
	if _, err := client.For[*corev1.Namespace](c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "default"}}); err != nil {
		t.Fatal(err)
	}
	_, err = client.For[*corev1.Event](c).Create(ctx, &corev1.Event{
		Metadata:       &corev1.ObjectMeta{Name: "demo.1", Namespace: "default"},
		InvolvedObject: &corev1.ObjectReference{ApiVersion: "core.pacific.dev/v1", Kind: "Namespace", Name: "demo"},
		Reason:         "Tested",
		Message:        "described by the e2e test",
		Source:         &corev1.EventSource{Component: "e2e"},
		LastTimestamp:  timestamppb.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, "demo", srv, "describe", "namespace", "demo")
	for _, want := range []string{"Name:", "Labels:", "team=b", "Spec:", "description: the demo team", "Status:", "phase: Active", "Finalizers:", "Events:", "Tested", "described by the e2e test", "e2e"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}
	mustFail(t, `namespaces "nope" not found`, srv, "describe", "ns", "nope")

	// delete: a namespace waits for its finalizer (the namespace controller)
	// and shows Terminating meanwhile.
	if r := mustRun(t, "", srv, "delete", "namespace", "demo"); r.stdout != "namespace \"demo\" deleted\n" {
		t.Fatalf("delete printed %q", r.stdout)
	}
	mustRun(t, "Terminating", srv, "get", "ns", "demo")
	mustFail(t, `namespaces "nope" not found`, srv, "delete", "ns", "nope")
	mustRun(t, "", srv, "delete", "ns", "nope", "--ignore-not-found")
	// delete -f: the event, named by a manifest.
	evFile := writeFile(t, "ev.yaml", "apiVersion: core.pacific.dev/v1\nkind: Event\nmetadata: {name: demo.1, namespace: default}\n")
	if r := mustRun(t, "", srv, "delete", "-f", evFile); r.stdout != "event \"demo.1\" deleted\n" {
		t.Fatalf("delete -f printed %q", r.stdout)
	}
}

func TestApplyRejectsBadInputAndAppliesNothing(t *testing.T) {
	_, srv := startAPI(t)

	// The acceptance case: an unknown field, found before the server is asked.
	bogus := writeFile(t, "bogus.yaml", demoManifest+"spec:\n  bogus: 1\n")
	r := mustFail(t, "spec.bogus", srv, "apply", "-f", bogus)
	if !strings.Contains(r.stderr, "bogus.yaml:7: spec.bogus: unknown field") {
		t.Fatalf("want file:line: path: message, got %q", r.stderr)
	}

	// A valid document and one the server refuses: nothing is applied.
	mixed := writeFile(t, "mixed.yaml", "apiVersion: core.pacific.dev/v1\nkind: Namespace\nmetadata: {name: fine}\n---\n"+
		"apiVersion: core.pacific.dev/v1\nkind: Namespace\nmetadata: {name: Not_A_DNS_Label}\n")
	r = mustFail(t, "metadata.name", srv, "apply", "-f", mixed)
	if !strings.Contains(r.stderr, "nothing was applied") || r.stdout != "" {
		t.Fatalf("mixed apply: %s", r)
	}
	mustFail(t, `namespaces "fine" not found`, srv, "get", "ns", "fine")

	// Several documents in a directory, a namespaced object after its
	// namespace: the dry run must not trip over the namespace not existing yet.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("apiVersion: core.pacific.dev/v1\nkind: Namespace\nmetadata: {name: team}\n---\n"+
		"apiVersion: core.pacific.dev/v1\nkind: Event\nmetadata: {name: e1, namespace: team}\ninvolvedObject: {kind: Namespace, name: team}\nreason: Created\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := mustRun(t, "", srv, "apply", "-f", dir); r.stdout != "namespace/team created\nevent/e1 created\n" {
		t.Fatalf("apply of a directory printed %q", r.stdout)
	}
	mustRun(t, "e1", srv, "get", "events", "-n", "team")
	mustRun(t, "team", srv, "get", "events", "-A")

	mustFail(t, `k.yaml:2: no kind "Bogus"`, srv, "apply", "-f", writeFile(t, "k.yaml", "apiVersion: core.pacific.dev/v1\nkind: Bogus\nmetadata: {name: x}\n"))
	mustFail(t, "does not exist", srv, "apply", "-f", filepath.Join(t.TempDir(), "missing.yaml"))
	mustFail(t, "invalid YAML", srv, "apply", "-f", writeFile(t, "bad.yaml", "kind: [\n"))
}

func TestGetWatch(t *testing.T) {
	_, srv := startAPI(t)
	mustRun(t, "created", srv, "apply", "-f", writeFile(t, "demo.yaml", demoManifest))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--certificate-authority=" + caFile(t), srv, "get", "namespaces", "-w"}, strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	next := func(want string) string {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("get -w ended before printing %q; stderr: %s", want, stderr.String())
			}
			if !strings.Contains(line, want) {
				t.Fatalf("get -w printed %q, want a line with %q", line, want)
			}
			return line
		case <-deadline:
			t.Fatalf("get -w did not print %q in time", want)
		}
		return ""
	}
	next("NAME")
	next("demo")
	// Created after the watch started: the list is printed before the
	// watch opens, and the watch starts from the list's revision.
	mustRun(t, "created", srv, "apply", "-f", writeFile(t, "later.yaml", strings.Replace(demoManifest, "demo", "later", 1)))
	next("later")
	mustRun(t, "deleted", srv, "delete", "ns", "later")
	next("later") // marked Terminating
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("get -w exited %d after interrupt; stderr: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("get -w did not stop when interrupted")
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnreachableServer(t *testing.T) {
	addr := closedAddr(t)
	start := time.Now()
	r := mustFail(t, "cannot reach the Pacific API at "+addr, "--server", addr, "--token", "s3cret-token", "get", "namespaces")
	if !strings.HasPrefix(r.stderr, "Error: cannot reach the Pacific API at "+addr+": ") {
		t.Fatalf("stderr = %q", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "s3cret-token") {
		t.Fatal("the token was printed")
	}
	t.Logf("failed after %v: %s", time.Since(start), r.stderr)
	mustFail(t, "cannot reach the Pacific API at "+addr, "--server", addr, "apply", "-f", writeFile(t, "demo.yaml", demoManifest))
}

func TestConfigSelectsTarget(t *testing.T) {
	api := apiservertest.StartReplica(t)
	addr, token := api.Addr(), api.Token(t, "admin", grpcserver.GroupMasters)
	dead := closedAddr(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "pacctl.yaml")
	cfg := &client.Config{CurrentContext: "dev", Contexts: []client.Context{
		{Name: "dev", Server: addr, Namespace: "team-a", Token: token},
		{Name: "gone", Server: dead, Token: "never-print-me"},
	}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	demo := writeFile(t, "demo.yaml", demoManifest)
	t.Setenv(client.ConfigEnv, "")
	t.Setenv("HOME", dir) // no ~/.pacific/pacctl.yaml

	mustRun(t, "namespace/demo created", "--config", path, "apply", "-f", demo)
	mustFail(t, "cannot reach the Pacific API at "+dead, "--config", path, "--context", "gone", "get", "ns")
	mustFail(t, `no context named "nope"`, "--config", path, "--context", "nope", "get", "ns")
	// --server overrides the context's server and drops its token: the
	// call is unauthenticated unless --token says what to send.
	mustFail(t, "Unauthenticated", "--config", path, "--context", "gone", "--server", addr, "get", "ns")
	mustRun(t, "demo", "--config", path, "--context", "gone", "--server", addr, "--token", token, "get", "ns")
	// The context's namespace is the default namespace; -n overrides it.
	if r := mustRun(t, "", "--config", path, "get", "events"); !strings.Contains(r.stderr, "No resources found in team-a namespace.") {
		t.Fatalf("get events in the context's namespace: %s", r)
	}
	if r := mustRun(t, "", "--config", path, "get", "events", "-n", "other"); !strings.Contains(r.stderr, "in other namespace") {
		t.Fatalf("get events -n other: %s", r)
	}

	t.Setenv(client.ConfigEnv, path)
	mustRun(t, "demo", "get", "namespaces")
	r := mustFail(t, "cannot reach", "--context", "gone", "get", "namespaces")
	if strings.Contains(r.stderr, "never-print-me") {
		t.Fatal("the token was printed")
	}

	t.Setenv(client.ConfigEnv, filepath.Join(dir, "missing.yaml"))
	mustFail(t, "does not exist", "get", "namespaces")
	t.Setenv(client.ConfigEnv, "")
	mustFail(t, "no API server to talk to", "get", "namespaces")

	bad := writeFile(t, "bad.yaml", "contexts:\n- name: dev\n  server: 127.0.0.1\n")
	mustFail(t, "bad.yaml:3: contexts[0].server", "--config", bad, "get", "ns")
}

// startAPI runs an API server and returns it with a --config flag for a
// cluster-admin config pointing at it.
func startAPI(t *testing.T) (*apiservertest.Replica, string) {
	t.Helper()
	api := apiservertest.StartReplica(t)
	_, flag := startAPIFor(t, api)
	return api, flag
}

func TestUsageErrors(t *testing.T) {
	mustFail(t, "unknown command", "frobnicate")
	mustFail(t, "unknown flag", "get", "ns", "--bogus")
	mustFail(t, "name a kind", "get")
	mustFail(t, "-f", "apply")
	r := mustRun(t, "pacctl", "version")
	if r.stderr != "" {
		t.Fatalf("version wrote to stderr: %q", r.stderr)
	}
	mustRun(t, "apply", "--help")
}
