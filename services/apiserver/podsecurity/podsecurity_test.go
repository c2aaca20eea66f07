package podsecurity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/internal/grpcserver"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

func ptr[T any](v T) *T { return &v }

// restrictedPod complies with every level.
func restrictedPod() *corev1.Pod {
	return &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: "web", Namespace: "demo"},
		Spec: &corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(1000)), SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"}},
			Containers: []*corev1.Container{{Name: "main", Image: "busybox:1", SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(false),
				Capabilities:             &corev1.Capabilities{Drop: []string{"ALL"}, Add: []string{"NET_BIND_SERVICE"}},
			}}},
		},
	}
}

func paths(fe apierr.FieldErrors) []string {
	var out []string
	for _, f := range fe {
		out = append(out, f.Path)
	}
	return out
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		level  Level
		mutate func(*corev1.Pod)
		want   []string // field paths refused; nil = accepted
	}{
		{"compliant restricted", Restricted, func(*corev1.Pod) {}, nil},
		{"plain pod is baseline", Baseline, func(p *corev1.Pod) { p.Spec.SecurityContext = nil; p.Spec.Containers[0].SecurityContext = nil }, nil},
		{"privileged", Baseline, func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.Privileged = ptr(true) },
			[]string{"spec.containers[0].securityContext.privileged"}},
		{"host namespaces", Baseline, func(p *corev1.Pod) { p.Spec.HostNetwork, p.Spec.HostPid, p.Spec.HostIpc = true, true, true },
			[]string{"spec.hostNetwork", "spec.hostPID", "spec.hostIPC"}},
		{"hostPath", Baseline, func(p *corev1.Pod) {
			p.Spec.Volumes = []*corev1.Volume{{Name: "a", EmptyDir: &corev1.EmptyDirVolumeSource{}}, {Name: "etc", HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}}
		}, []string{"spec.volumes[1].hostPath"}},
		{"extra capability", Baseline, func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []string{"CHOWN", "SYS_ADMIN"}
		},
			[]string{"spec.containers[0].securityContext.capabilities.add[1]"}},
		{"unconfined seccomp", Baseline, func(p *corev1.Pod) { p.Spec.SecurityContext.SeccompProfile.Type = "Unconfined" },
			[]string{"spec.securityContext.seccompProfile.type"}},
		{"everything allowed when privileged", Privileged, func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].SecurityContext.Privileged = ptr(true)
		}, nil},
		{"root pod in restricted", Restricted, func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsNonRoot = nil
			p.Spec.SecurityContext.RunAsUser = ptr(int64(0))
		},
			[]string{"spec.securityContext.runAsUser", "spec.containers[0].securityContext.runAsNonRoot"}},
		{"container overrides runAsNonRoot", Restricted, func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.RunAsNonRoot = ptr(false) },
			[]string{"spec.containers[0].securityContext.runAsNonRoot"}},
		{"escalation and caps in restricted", Restricted, func(p *corev1.Pod) {
			sc := p.Spec.Containers[0].SecurityContext
			sc.AllowPrivilegeEscalation = nil
			sc.Capabilities = &corev1.Capabilities{Add: []string{"CHOWN"}}
		}, []string{"spec.containers[0].securityContext.allowPrivilegeEscalation", "spec.containers[0].securityContext.capabilities.drop", "spec.containers[0].securityContext.capabilities.add[0]"}},
		{"seccomp required in restricted", Restricted, func(p *corev1.Pod) { p.Spec.SecurityContext.SeccompProfile = nil },
			[]string{"spec.containers[0].securityContext.seccompProfile.type"}},
		{"container seccomp suffices", Restricted, func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = nil
			p.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: "RuntimeDefault"}
		}, nil},
		{"plain pod is not restricted", Restricted, func(p *corev1.Pod) { p.Spec.SecurityContext = nil; p.Spec.Containers[0].SecurityContext = nil },
			[]string{"spec.containers[0].securityContext.runAsNonRoot", "spec.containers[0].securityContext.allowPrivilegeEscalation", "spec.containers[0].securityContext.seccompProfile.type", "spec.containers[0].securityContext.capabilities.drop"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := restrictedPod()
			tc.mutate(pod)
			got := paths(Check(tc.level, pod))
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Check(%s) refused %q, want %q", tc.level, got, want)
			}
		})
	}
}

func TestAdmitPodUsesNamespaceLevel(t *testing.T) {
	ns := func(labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "demo", Labels: labels}}
	}
	root := restrictedPod()
	root.Spec.SecurityContext = nil
	root.Spec.Containers[0].SecurityContext = nil
	req := registry.AdmissionRequest{Op: registry.OpCreate, Obj: root}

	req.Namespace = ns(nil)
	if err := AdmitPod(context.Background(), req); err != nil {
		t.Errorf("default (baseline) namespace refused a plain pod: %v", err)
	}
	req.Namespace = ns(map[string]string{EnforceLabel: "restricted"})
	err := AdmitPod(context.Background(), req)
	var apiErr *apierr.Error
	if !errors.As(err, &apiErr) || apiErr.Code != codes.PermissionDenied {
		t.Fatalf("restricted namespace: err = %v, want PermissionDenied", err)
	}
	for _, want := range []string{`"restricted"`, "spec.containers[0].securityContext.runAsNonRoot"} {
		if !strings.Contains(apiErr.Message, want) {
			t.Errorf("message %q does not name %s", apiErr.Message, want)
		}
	}
	req.Namespace = ns(map[string]string{EnforceLabel: "bogus"})
	if err := AdmitPod(context.Background(), req); err == nil {
		t.Error("an unparsable level must fail closed (restricted)")
	}
}

func TestAdmitNamespacePrivilegedNeedsClusterAdmin(t *testing.T) {
	privileged := &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "ops", Labels: map[string]string{EnforceLabel: "privileged"}}}
	baseline := &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "ops"}}
	alice := grpcserver.WithIdentity(context.Background(), grpcserver.Identity{User: "alice", Groups: []string{"devs"}})
	admin := grpcserver.WithIdentity(context.Background(), grpcserver.Identity{User: "root", Groups: []string{ClusterAdminGroup}})

	for _, tc := range []struct {
		name string
		ctx  context.Context
		req  registry.AdmissionRequest
		code codes.Code
	}{
		{"anonymous create", context.Background(), registry.AdmissionRequest{Op: registry.OpCreate, Obj: privileged}, codes.PermissionDenied},
		{"user create", alice, registry.AdmissionRequest{Op: registry.OpCreate, Obj: privileged}, codes.PermissionDenied},
		{"user relabel", alice, registry.AdmissionRequest{Op: registry.OpUpdate, Old: baseline, Obj: privileged}, codes.PermissionDenied},
		{"user keeps privileged", alice, registry.AdmissionRequest{Op: registry.OpUpdate, Old: privileged, Obj: privileged}, codes.OK},
		{"admin create", admin, registry.AdmissionRequest{Op: registry.OpCreate, Obj: privileged}, codes.OK},
		{"user baseline", alice, registry.AdmissionRequest{Op: registry.OpCreate, Obj: baseline}, codes.OK},
		{"bad value", admin, registry.AdmissionRequest{Op: registry.OpCreate, Obj: &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "x", Labels: map[string]string{EnforceLabel: "lax"}}}}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apierr.CodeOf(AdmitNamespace(tc.ctx, tc.req)); got != tc.code {
				t.Errorf("code = %v, want %v", got, tc.code)
			}
		})
	}
}
