package apiserver_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/apiserver/podsecurity"
)

// TestPodSecurityAdmission goes through the API: namespaces enforce their
// level on pod create, and only a cluster admin may make one privileged.
func TestPodSecurityAdmission(t *testing.T) {
	r := apiservertest.StartReplica(t)
	a := dial(t, r)
	a.mustCreateNS("plain", nil)
	a.mustCreateNS("strict", map[string]string{podsecurity.EnforceLabel: "restricted"})

	yes, no, uid := true, false, int64(1000)
	pod := func(ns string, mutate func(*corev1.PodSpec)) *corev1.Pod {
		p := &corev1.Pod{
			Metadata: &corev1.ObjectMeta{Name: "p", Namespace: ns},
			Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "main", Image: "busybox:1"}}},
		}
		mutate(p.Spec)
		return p
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		code codes.Code
		msg  []string
	}{
		{"privileged in default namespace", pod("plain", func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		}), codes.PermissionDenied, []string{"spec.containers[0].securityContext.privileged", `"baseline"`}},
		{"hostPath in default namespace", pod("plain", func(s *corev1.PodSpec) {
			s.Volumes = []*corev1.Volume{{Name: "root", HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}
		}), codes.PermissionDenied, []string{"spec.volumes[0].hostPath", `"baseline"`}},
		{"root pod in restricted namespace", pod("strict", func(s *corev1.PodSpec) {}), codes.PermissionDenied,
			[]string{"spec.containers[0].securityContext.runAsNonRoot", `"restricted"`}},
		{"compliant pod in restricted namespace", pod("strict", func(s *corev1.PodSpec) {
			s.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"}}
			s.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []string{"ALL"}}}
		}), codes.OK, nil},
		{"plain pod in default namespace", pod("plain", func(s *corev1.PodSpec) {}), codes.OK, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, tc.pod)})
			if status.Code(err) != tc.code {
				t.Fatalf("create: %v, want code %v", err, tc.code)
			}
			for _, want := range tc.msg {
				if !strings.Contains(status.Convert(err).Message(), want) {
					t.Errorf("error %q does not name %s", status.Convert(err).Message(), want)
				}
			}
			if tc.code == codes.OK {
				if _, err := a.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: "core.pacific.dev/v1", Kind: "Pod", Namespace: tc.pod.GetMetadata().GetNamespace(), Name: "p"}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}

	// A user who may create namespaces is still no cluster admin.
	for _, m := range []proto.Message{
		&authv1.ClusterRole{Metadata: &corev1.ObjectMeta{Name: "ns-creator"}, Spec: &authv1.RoleSpec{Rules: []*authv1.PolicyRule{{Resources: []string{"namespaces"}, Verbs: []string{"create"}}}}},
		&authv1.ClusterRoleBinding{Metadata: &corev1.ObjectMeta{Name: "ns-creator"}, Spec: &authv1.RoleBindingSpec{Role: "ns-creator", Subjects: []*authv1.Subject{{Kind: "User", Name: "nina"}}}},
	} {
		if _, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, m)}); err != nil {
			t.Fatal(err)
		}
	}
	nina := dialToken(t, r.Addr(), r.Token(t, "nina"))
	if _, err := nina.create(namespace("ninas", nil)); err != nil {
		t.Fatalf("namespace creator: %v", err)
	}
	_, err := nina.create(namespace("ops", map[string]string{podsecurity.EnforceLabel: "privileged"}))
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "cluster admin") {
		t.Errorf("privileged namespace by a non-admin: %v, want PermissionDenied naming cluster admin", err)
	}
	if _, err := a.create(namespace("ops", map[string]string{podsecurity.EnforceLabel: "privileged"})); err != nil {
		t.Errorf("privileged namespace by a cluster admin: %v", err)
	}
}
