package apiserver_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

func TestDeletePropagationAddsGarbageCollectorFinalizer(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
	a.mustCreateNS("gc", nil)
	for _, tc := range []struct {
		policy    corev1.PropagationPolicy
		finalizer string
	}{
		{corev1.PropagationPolicy_PROPAGATION_POLICY_FOREGROUND, apis.ForegroundDeletionFinalizer},
		{corev1.PropagationPolicy_PROPAGATION_POLICY_ORPHAN, apis.OrphanFinalizer},
	} {
		name := strings.ToLower("ns-" + tc.finalizer)
		if _, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, namespace(name, nil))}); err != nil {
			t.Fatal(err)
		}
		resp, err := a.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Name: name, PropagationPolicy: tc.policy})
		if err != nil {
			t.Fatalf("delete %s: %v", tc.policy, err)
		}
		ns := &corev1.Namespace{}
		if err := resp.GetObject().UnmarshalTo(ns); err != nil {
			t.Fatal(err)
		}
		md := ns.GetMetadata()
		if resp.GetDeleted() || md.GetDeletionTimestamp() == nil || !slices.Contains(md.GetFinalizers(), tc.finalizer) {
			t.Fatalf("%s: deleted=%v deletionTimestamp=%v finalizers=%v; want marked with %s", tc.policy, resp.GetDeleted(), md.GetDeletionTimestamp(), md.GetFinalizers(), tc.finalizer)
		}
		// Asking again changes nothing.
		again, err := a.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Name: name, PropagationPolicy: tc.policy})
		if err != nil {
			t.Fatal(err)
		}
		ns2 := &corev1.Namespace{}
		if err := again.GetObject().UnmarshalTo(ns2); err != nil {
			t.Fatal(err)
		}
		if ns2.GetMetadata().GetResourceVersion() != md.GetResourceVersion() {
			t.Fatalf("a repeated delete wrote the object again")
		}
	}
	_, err := a.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", Name: "gc", PropagationPolicy: 7})
	if err == nil {
		t.Fatal("an unknown propagation policy was accepted")
	}
}

func TestEvictValidatesAndReportsMissingPods(t *testing.T) {
	addr := apiservertest.Start(t)
	conn, err := grpc.NewClient(addr, testutil.DialTLS(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ev := corev1.NewEvictionServiceClient(conn)
	_, err = ev.Evict(ctx(t), &corev1.EvictRequest{Name: "web"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "namespace") {
		t.Fatalf("evict without namespace: %v", err)
	}
	_, err = ev.Evict(ctx(t), &corev1.EvictRequest{Namespace: "demo", Name: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("evict of a missing pod: %v", err)
	}
}

// Evicting is its own verb: editors may, viewers may not.
func TestEvictIsAuthorized(t *testing.T) {
	r := apiservertest.StartReplica(t)
	admin := dial(t, r)
	admin.mustCreateNS("demo", nil)
	if _, err := admin.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, pod("demo", "web"))}); err != nil {
		t.Fatal(err)
	}
	applyManifest(t, admin, aliceView)
	if _, err := admin.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, binding("demo", "bob-edit", "editor", "bob"))}); err != nil {
		t.Fatal(err)
	}
	evict := func(a *api) error {
		_, err := corev1.NewEvictionServiceClient(a.conn).Evict(ctx(t), &corev1.EvictRequest{Namespace: "demo", Name: "web"})
		return err
	}
	wantCode(t, evict(dialToken(t, r.Addr(), r.Token(t, "alice"))), codes.PermissionDenied, "cannot evict pods")
	if err := evict(dialToken(t, r.Addr(), r.Token(t, "bob"))); err != nil {
		t.Fatalf("editor evicting: %v", err)
	}
}
