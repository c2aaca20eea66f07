package apiserver_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/apiserver/podsecurity"
)

// TestPodSecurityAdmission goes through the API: namespaces enforce their
// level on pod create, and only a cluster admin may make one privileged.
func TestPodSecurityAdmission(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
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

	// Anonymous callers (no authenticator configured here) are not cluster admins.
	_, err := a.create(namespace("ops", map[string]string{podsecurity.EnforceLabel: "privileged"}))
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "cluster admin") {
		t.Errorf("privileged namespace by anonymous: %v, want PermissionDenied naming cluster admin", err)
	}
}
