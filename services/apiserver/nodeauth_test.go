package apiserver_test

import (
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

// TestStolenHostCertificate: host h1's certificate (no token: the client
// certificate alone identifies it) reaches its own pod but is refused for
// the pod bound to h2, for listing every pod, and for h2's Host.
func TestStolenHostCertificate(t *testing.T) {
	r := apiservertest.StartReplica(t)
	admin := r.Client(t)
	ctx := ctx(t)
	if _, err := admin.Resources().Create(ctx, &corev1.CreateRequest{Object: pack(t, namespace("demo", nil))}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, host string }{{"mine", "h1"}, {"theirs", "h2"}} {
		pod := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: p.name, Namespace: "demo"}, Spec: &corev1.PodSpec{
			NodeName: p.host, Containers: []*corev1.Container{{Name: "c", Image: "busybox:1"}}}}
		if _, err := admin.Resources().Create(ctx, &corev1.CreateRequest{Object: pack(t, pod)}); err != nil {
			t.Fatal(err)
		}
	}
	h1 := asHost(t, r, "h1")
	get := func(kind, ns, name string) error {
		_, err := h1.Get(ctx, &corev1.GetRequest{ApiVersion: apis.CoreV1, Kind: kind, Namespace: ns, Name: name})
		return err
	}
	if err := get("Pod", "demo", "mine"); err != nil {
		t.Fatalf("h1 reading its own pod: %v", err)
	}
	for name, err := range map[string]error{
		"get the pod bound to h2": get("Pod", "demo", "theirs"),
		"updatestatus of the pod bound to h2": func() error {
			pod := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: "theirs", Namespace: "demo"}, Status: &corev1.PodStatus{Phase: "Failed"}}
			_, err := h1.UpdateStatus(ctx, &corev1.UpdateStatusRequest{Object: pack(t, pod)})
			return err
		}(),
		"list every pod": func() error {
			_, err := h1.List(ctx, &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Pod"})
			return err
		}(),
		"list h2's pods": func() error {
			_, err := h1.List(ctx, &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Pod", FieldSelector: "spec.nodeName=h2"})
			return err
		}(),
		"get Host h2": get("Host", "", "h2"),
		"delete the pod bound to h2": func() error {
			_, err := h1.Delete(ctx, &corev1.DeleteRequest{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: "demo", Name: "theirs"})
			return err
		}(),
	} {
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s with h1's certificate: %v, want PermissionDenied", name, err)
		}
	}
	// The pod bound to h2 is untouched.
	resp, err := admin.Resources().Get(ctx, &corev1.GetRequest{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: "demo", Name: "theirs"})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{}
	if err := resp.GetObject().UnmarshalTo(pod); err != nil || pod.GetStatus().GetPhase() == "Failed" {
		t.Errorf("h2's pod changed: %v %v", pod.GetStatus(), err)
	}
}

// asHost is a client that identifies as host by its certificate alone.
func asHost(t *testing.T, r *apiservertest.Replica, host string) corev1.ResourceServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(r.Addr(), testutil.DialTLS(t, grpcserver.HostUserPrefix+host, grpcserver.GroupHosts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return corev1.NewResourceServiceClient(conn)
}

// TestHostReadsOnlyItsPodsSecrets: with h1's certificate, the pull secret
// of h1's pod can be read; the one of h2's pod, and listing secrets, are
// refused.
func TestHostReadsOnlyItsPodsSecrets(t *testing.T) {
	r := apiservertest.StartReplica(t)
	admin := r.Client(t)
	ctx := ctx(t)
	if _, err := admin.Resources().Create(ctx, &corev1.CreateRequest{Object: pack(t, namespace("demo", nil))}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ pod, host, secret string }{{"mine", "h1", "regcred"}, {"theirs", "h2", "their-cred"}} {
		s := &corev1.Secret{Metadata: &corev1.ObjectMeta{Name: p.secret, Namespace: "demo"}, Data: map[string][]byte{"k": []byte("v")}}
		if _, err := admin.Resources().Create(ctx, &corev1.CreateRequest{Object: pack(t, s)}); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: p.pod, Namespace: "demo"}, Spec: &corev1.PodSpec{
			NodeName: p.host, ImagePullSecrets: []string{p.secret}, Containers: []*corev1.Container{{Name: "c", Image: "busybox:1"}}}}
		if _, err := admin.Resources().Create(ctx, &corev1.CreateRequest{Object: pack(t, pod)}); err != nil {
			t.Fatal(err)
		}
	}
	h1 := asHost(t, r, "h1")
	getSecret := func(name string) error {
		_, err := h1.Get(ctx, &corev1.GetRequest{ApiVersion: apis.CoreV1, Kind: "Secret", Namespace: "demo", Name: name})
		return err
	}
	if err := getSecret("regcred"); err != nil {
		t.Fatalf("h1 reading its pod's pull secret: %v", err)
	}
	for name, err := range map[string]error{
		"get the pull secret of h2's pod": getSecret("their-cred"),
		"list secrets": func() error {
			_, err := h1.List(ctx, &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Secret", Namespace: "demo"})
			return err
		}(),
	} {
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s with h1's certificate: %v, want PermissionDenied", name, err)
		}
	}
}
