package apiserver_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

// api is a thin raw client so these tests exercise the wire API exactly.
type api struct {
	t    *testing.T
	conn *grpc.ClientConn
	rc   corev1.ResourceServiceClient
	dc   corev1.DiscoveryServiceClient
}

// dial connects to r as a cluster admin.
func dial(t *testing.T, r *apiservertest.Replica) *api {
	t.Helper()
	return dialToken(t, r.Addr(), r.Token(t, "admin", grpcserver.GroupMasters))
}

// dialToken connects with a bearer token ("" for none).
func dialToken(t *testing.T, addr, token string) *api {
	t.Helper()
	opts := []grpc.DialOption{testutil.DialTLS(t, "")}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &api{t: t, conn: conn, rc: corev1.NewResourceServiceClient(conn), dc: corev1.NewDiscoveryServiceClient(conn)}
}

// bearer sends a token on every call (plaintext, as the tests run).
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func pack(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: name, Labels: labels}, Spec: &corev1.NamespaceSpec{}}
}

func (a *api) create(obj proto.Message) (*corev1.Namespace, error) {
	resp, err := a.rc.Create(ctx(a.t), &corev1.CreateRequest{Object: pack(a.t, obj)})
	if err != nil {
		return nil, err
	}
	out := &corev1.Namespace{}
	if err := resp.GetObject().UnmarshalTo(out); err != nil {
		a.t.Fatal(err)
	}
	return out, nil
}

func (a *api) mustCreateNS(name string, labels map[string]string) *corev1.Namespace {
	a.t.Helper()
	ns, err := a.create(namespace(name, labels))
	if err != nil {
		a.t.Fatalf("create namespace %s: %v", name, err)
	}
	return ns
}

func (a *api) getNS(name string) (*corev1.Namespace, error) {
	resp, err := a.rc.Get(ctx(a.t), &corev1.GetRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Name: name})
	if err != nil {
		return nil, err
	}
	out := &corev1.Namespace{}
	return out, resp.GetObject().UnmarshalTo(out)
}

func (a *api) updateNS(ns *corev1.Namespace) (*corev1.Namespace, error) {
	resp, err := a.rc.Update(ctx(a.t), &corev1.UpdateRequest{Object: pack(a.t, ns)})
	if err != nil {
		return nil, err
	}
	out := &corev1.Namespace{}
	return out, resp.GetObject().UnmarshalTo(out)
}

func wantCode(t *testing.T, err error, code codes.Code, mentions ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	for _, m := range mentions {
		if !strings.Contains(status.Convert(err).Message(), m) {
			t.Fatalf("error %q does not mention %q", status.Convert(err).Message(), m)
		}
	}
}

func TestCreateStampsMetadataAndDefaults(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
	ns := a.mustCreateNS("demo", map[string]string{"team": "a"})
	md := ns.GetMetadata()
	if md.GetUid() == "" || md.GetResourceVersion() <= 0 || md.GetGeneration() != 1 || md.GetCreationTimestamp() == nil {
		t.Fatalf("server-owned metadata not stamped: %v", md)
	}
	if ns.GetApiVersion() != apis.CoreV1 || ns.GetKind() != "Namespace" {
		t.Fatalf("type meta = %q %q", ns.GetApiVersion(), ns.GetKind())
	}
	if ns.GetStatus().GetPhase() != apis.NamespaceActive || len(md.GetFinalizers()) != 1 {
		t.Fatalf("defaults not applied: status=%v finalizers=%v", ns.GetStatus(), md.GetFinalizers())
	}
	got, err := a.getNS("demo")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, ns) {
		t.Fatalf("Get = %v, want %v", got, ns)
	}
	_, err = a.create(namespace("demo", nil))
	wantCode(t, err, codes.AlreadyExists, `namespaces "demo" already exists`)
	_, err = a.getNS("nope")
	wantCode(t, err, codes.NotFound, `namespaces "nope" not found`)
}

func TestBadInputIsRejectedWithFieldPaths(t *testing.T) {
	a := dial(t, apiservertest.StartCluster(t, 1, apiservertest.Options{Tweak: func(c *apiserver.Config) { c.MaxObjectBytes = 2048 }})[0])

	bad := namespace("Bad_Name", map[string]string{"ok": "a", "bad key!": "v"})
	bad.Metadata.ResourceVersion = 7
	_, err := a.create(bad)
	wantCode(t, err, codes.InvalidArgument, "metadata.name", `metadata.labels["bad key!"]`, "metadata.resourceVersion")
	if st := status.Convert(err); len(st.Details()) == 0 {
		t.Fatalf("no field violation details in %v", st)
	}

	_, err = a.create(&corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "x", Namespace: "y"}})
	wantCode(t, err, codes.InvalidArgument, "metadata.namespace", "cluster-scoped")

	big := namespace("big", nil)
	big.Spec.Description = strings.Repeat("x", 3000)
	_, err = a.create(big)
	wantCode(t, err, codes.ResourceExhausted, "exceeds")

	_, err = a.rc.Get(ctx(t), &corev1.GetRequest{ApiVersion: "core.pacific.dev/v1", Kind: "Bogus", Name: "x"})
	wantCode(t, err, codes.InvalidArgument, "kind", "Bogus")

	_, err = a.rc.Create(ctx(t), &corev1.CreateRequest{})
	wantCode(t, err, codes.InvalidArgument, "object")

	// A field this server does not know (a newer client) is refused, not dropped.
	b, _ := proto.Marshal(namespace("future", nil))
	b = protowire.AppendTag(b, 99, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	_, err = a.rc.Create(ctx(t), &corev1.CreateRequest{Object: &anypb.Any{TypeUrl: "type.googleapis.com/pacific.core.v1.Namespace", Value: b}})
	wantCode(t, err, codes.InvalidArgument, "unknown field")

	for _, limit := range []int32{-1, 1001} {
		_, err = a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Limit: limit})
		wantCode(t, err, codes.InvalidArgument, "limit")
	}
	_, err = a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", LabelSelector: "a in (b"})
	wantCode(t, err, codes.InvalidArgument, "labelSelector")
	_, err = a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Continue: "garbage"})
	wantCode(t, err, codes.InvalidArgument, "continue")

	// Nothing of the rejected objects was written.
	list, err := a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Namespace"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetItems()); n != 0 {
		t.Fatalf("%d objects stored after only bad requests", n)
	}
}

func TestUpdateSemantics(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
	ns := a.mustCreateNS("demo", nil)

	// Labels only: no generation bump. Status in Update is ignored.
	ns.Metadata.Labels = map[string]string{"a": "b"}
	ns.Status = &corev1.NamespaceStatus{Phase: apis.NamespaceTerminating}
	v2, err := a.updateNS(ns)
	if err != nil {
		t.Fatal(err)
	}
	if v2.GetMetadata().GetGeneration() != 1 || v2.GetStatus().GetPhase() != apis.NamespaceActive {
		t.Fatalf("generation=%d phase=%q", v2.GetMetadata().GetGeneration(), v2.GetStatus().GetPhase())
	}
	if v2.GetMetadata().GetResourceVersion() <= ns.GetMetadata().GetResourceVersion() {
		t.Fatal("resource version did not advance")
	}
	// Spec change bumps generation.
	v2.Spec.Description = "hello"
	v3, err := a.updateNS(v2)
	if err != nil {
		t.Fatal(err)
	}
	if v3.GetMetadata().GetGeneration() != 2 {
		t.Fatalf("generation = %d, want 2", v3.GetMetadata().GetGeneration())
	}
	// A no-op update writes nothing.
	v4, err := a.updateNS(v3)
	if err != nil {
		t.Fatal(err)
	}
	if v4.GetMetadata().GetResourceVersion() != v3.GetMetadata().GetResourceVersion() {
		t.Fatal("no-op update changed the resource version")
	}
	// Stale resource version → Aborted; nothing written.
	_, err = a.updateNS(v2)
	wantCode(t, err, codes.Aborted, "modified")
	// Identity is immutable.
	v3.Metadata.Uid = "other"
	_, err = a.updateNS(v3)
	wantCode(t, err, codes.InvalidArgument, "metadata.uid")
	// UpdateStatus touches only status.
	v4.Spec.Description = "ignored"
	v4.Status = &corev1.NamespaceStatus{Phase: apis.NamespaceActive, Conditions: []*corev1.Condition{{Type: "Ready", Status: "True"}}}
	resp, err := a.rc.UpdateStatus(ctx(t), &corev1.UpdateStatusRequest{Object: pack(t, v4)})
	if err != nil {
		t.Fatal(err)
	}
	v5 := &corev1.Namespace{}
	if err := resp.GetObject().UnmarshalTo(v5); err != nil {
		t.Fatal(err)
	}
	if v5.GetSpec().GetDescription() != "hello" || len(v5.GetStatus().GetConditions()) != 1 {
		t.Fatalf("UpdateStatus result: spec=%v status=%v", v5.GetSpec(), v5.GetStatus())
	}
	// Delete with a stale resource version → Aborted.
	_, err = a.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Name: "demo", ResourceVersion: v2.GetMetadata().GetResourceVersion()})
	wantCode(t, err, codes.Aborted)
}

func TestListPagesAreConsistentAndFiltered(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
	for i := range 25 {
		team := "a"
		if i%5 == 0 {
			team = "b"
		}
		a.mustCreateNS(fmt.Sprintf("ns-%02d", i), map[string]string{"team": team})
	}
	var names []string
	cont := ""
	var rev int64
	for page := 0; ; page++ {
		resp, err := a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Limit: 10, Continue: cont})
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 {
			rev = resp.GetResourceVersion()
			// Changes after the first page must not show up in later pages.
			a.mustCreateNS("ns-99", nil)
			if _, err := a.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Name: "ns-24"}); err != nil {
				t.Fatal(err)
			}
		} else if resp.GetResourceVersion() != rev {
			t.Fatalf("page %d at revision %d, first page at %d", page, resp.GetResourceVersion(), rev)
		}
		for _, item := range resp.GetItems() {
			ns := &corev1.Namespace{}
			if err := item.UnmarshalTo(ns); err != nil {
				t.Fatal(err)
			}
			names = append(names, ns.GetMetadata().GetName())
		}
		if cont = resp.GetContinue(); cont == "" {
			break
		}
	}
	if len(names) != 25 || names[0] != "ns-00" || names[24] != "ns-24" {
		t.Fatalf("paged list = %v", names)
	}
	resp, err := a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", LabelSelector: "team=b"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetItems()); n != 5 {
		t.Fatalf("team=b matched %d, want 5", n)
	}
	// A continue token only works for the listing it came from.
	first, err := a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Limit: 2, LabelSelector: "team=a", Continue: first.GetContinue()})
	wantCode(t, err, codes.InvalidArgument, "continue")
}

func TestFinalizersDelayDeletion(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
	ns := a.mustCreateNS("fin", nil)
	resp, err := a.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Name: "fin"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetDeleted() {
		t.Fatal("namespace with a finalizer was deleted at once")
	}
	got, err := a.getNS("fin")
	if err != nil {
		t.Fatal(err)
	}
	if got.GetMetadata().GetDeletionTimestamp() == nil || got.GetStatus().GetPhase() != apis.NamespaceTerminating {
		t.Fatalf("not marked for deletion: %v", got)
	}
	// No new objects in a terminating namespace.
	ev := &corev1.Event{Metadata: &corev1.ObjectMeta{Name: "e", Namespace: "fin"}, InvolvedObject: &corev1.ObjectReference{Kind: "Namespace", Name: "fin"}, Reason: "Test"}
	_, err = a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, ev)})
	wantCode(t, err, codes.FailedPrecondition, "being deleted")
	// Finalizers cannot be added while deleting; removing the last one deletes.
	got.Metadata.Finalizers = append(got.Metadata.Finalizers, "example.com/more")
	_, err = a.updateNS(got)
	wantCode(t, err, codes.InvalidArgument, "metadata.finalizers[1]")
	got.Metadata.Finalizers = nil
	if _, err := a.updateNS(got); err != nil {
		t.Fatal(err)
	}
	_, err = a.getNS("fin")
	wantCode(t, err, codes.NotFound)
	_ = ns
}

func TestDiscoveryListsKinds(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
	resp, err := a.dc.ListKinds(ctx(t), &corev1.ListKindsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]*corev1.KindInfo{}
	for _, k := range resp.GetKinds() {
		found[k.GetKind()] = k
	}
	if ns := found["Namespace"]; ns == nil || ns.GetNamespaced() || ns.GetPlural() != "namespaces" || len(ns.GetPrinterColumns()) == 0 {
		t.Fatalf("Namespace kind info = %v", ns)
	}
	if ev := found["Event"]; ev == nil || !ev.GetNamespaced() {
		t.Fatalf("Event kind info = %v", ev)
	}
}

func codesOf(err error) codes.Code { return status.Code(err) }

func TestFieldSelectorsOnPods(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
	a.mustCreateNS("demo", nil)
	for i, host := range []string{"host-a", "host-b", "host-a", ""} {
		pod := &corev1.Pod{
			Metadata: &corev1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "demo"},
			Spec:     &corev1.PodSpec{NodeName: host, Containers: []*corev1.Container{{Name: "c", Image: "busybox:1"}}},
		}
		if _, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, pod)}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(sel string) int {
		resp, err := a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: "demo", FieldSelector: sel})
		if err != nil {
			t.Fatalf("field selector %q: %v", sel, err)
		}
		return len(resp.GetItems())
	}
	if n := count("spec.nodeName=host-a"); n != 2 {
		t.Fatalf("spec.nodeName=host-a matched %d, want 2", n)
	}
	if n := count("spec.nodeName="); n != 1 {
		t.Fatalf("unbound pods: %d, want 1", n)
	}
	if n := count("spec.nodeName!=host-a,metadata.name!=p3"); n != 1 {
		t.Fatalf("negated selector matched %d, want 1", n)
	}
	_, err := a.rc.List(ctx(t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Pod", FieldSelector: "spec.image=x"})
	wantCode(t, err, codes.InvalidArgument, "fieldSelector", "spec.nodeName")
	// A watch with a field selector sees only its host's pods.
	stream, err := a.rc.Watch(ctx(t), &corev1.WatchRequest{ApiVersion: apis.CoreV1, Kind: "Pod", FieldSelector: "spec.nodeName=host-b"})
	if err != nil {
		t.Fatal(err)
	}
	got := recvN(t, stream, 2)
	if got[0].typ != corev1.EventType_EVENT_TYPE_ADDED || got[0].name != "p1" || got[1].typ != corev1.EventType_EVENT_TYPE_BOOKMARK {
		t.Fatalf("watch = %v", got)
	}
}

func TestSchedulingFieldsThroughTheAPI(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
	a.mustCreateNS("demo", nil)
	pod := &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: "web", Namespace: "demo"},
		Spec: &corev1.PodSpec{
			Containers: []*corev1.Container{{Name: "c", Image: "busybox:1"}},
			TopologySpreadConstraints: []*corev1.TopologySpreadConstraint{{
				MaxSkew: 0, TopologyKey: "topology.pacific.dev/zone", LabelSelector: &corev1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			}},
			Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
				TopologyKey: "pacific.dev/hostname", LabelSelector: &corev1.LabelSelector{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}},
			}}}},
		},
	}
	_, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, pod)})
	wantCode(t, err, codes.InvalidArgument, "spec.topologySpreadConstraints[0].maxSkew",
		"spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].operator")

	pod.Spec.TopologySpreadConstraints[0].MaxSkew = 1
	pod.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchExpressions[0].Operator = "In"
	pod.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchExpressions[0].Values = []string{"web"}
	resp, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, pod)})
	if err != nil {
		t.Fatal(err)
	}
	created := &corev1.Pod{}
	if err := resp.GetObject().UnmarshalTo(created); err != nil {
		t.Fatal(err)
	}

	// Binding is an Update of spec.nodeName with the read resource_version:
	// it also marks the pod scheduled, and a second binder loses.
	bind := proto.Clone(created).(*corev1.Pod)
	bind.Spec.NodeName = "host-a"
	up, err := a.rc.Update(ctx(t), &corev1.UpdateRequest{Object: pack(t, bind)})
	if err != nil {
		t.Fatal(err)
	}
	bound := &corev1.Pod{}
	if err := up.GetObject().UnmarshalTo(bound); err != nil {
		t.Fatal(err)
	}
	conds := bound.GetStatus().GetConditions()
	if len(conds) != 1 || conds[0].GetType() != "PodScheduled" || conds[0].GetStatus() != "True" {
		t.Fatalf("conditions after binding: %v", conds)
	}
	// Bound, the pod waits for its host agent when deleted; unbound it did not.
	if slices.Contains(created.GetMetadata().GetFinalizers(), apis.HostAgentFinalizer) ||
		!slices.Contains(bound.GetMetadata().GetFinalizers(), apis.HostAgentFinalizer) {
		t.Fatalf("finalizers before binding %v, after %v: want %s added by the binding", created.GetMetadata().GetFinalizers(), bound.GetMetadata().GetFinalizers(), apis.HostAgentFinalizer)
	}
	rival := proto.Clone(created).(*corev1.Pod)
	rival.Spec.NodeName = "host-b"
	_, err = a.rc.Update(ctx(t), &corev1.UpdateRequest{Object: pack(t, rival)})
	wantCode(t, err, codes.Aborted)
}
