package podsecurity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/internal/grpcserver"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

// EnforceLabel is the namespace label that selects the level.
const EnforceLabel = "pod-security.pacific.dev/enforce"

// Level is a Pod Security Standards level.
type Level string

// The levels, from least to most restrictive.
const (
	Privileged Level = "privileged"
	Baseline   Level = "baseline"
	Restricted Level = "restricted"
)

// DefaultLevel applies to namespaces without the label.
const DefaultLevel = Baseline

// ClusterAdminGroup is the group whose members are cluster admins.
const ClusterAdminGroup = grpcserver.GroupMasters

// baselineCapabilities may be added under baseline: Docker's default set,
// which containers have anyway.
var baselineCapabilities = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

// ParseLevel parses a label value.
func ParseLevel(s string) (Level, error) {
	switch l := Level(s); l {
	case Privileged, Baseline, Restricted:
		return l, nil
	}
	return "", fmt.Errorf("%q: want privileged, baseline or restricted", s)
}

// LevelOf returns the level a namespace enforces.
func LevelOf(ns *corev1.Namespace) (Level, error) {
	v, ok := ns.GetMetadata().GetLabels()[EnforceLabel]
	if !ok {
		return DefaultLevel, nil
	}
	return ParseLevel(v)
}

// IsClusterAdmin reports whether the caller is a cluster admin.
func IsClusterAdmin(ctx context.Context) bool {
	return slices.Contains(grpcserver.IdentityFrom(ctx).Groups, ClusterAdminGroup)
}

// AdmitPod refuses a new pod that its namespace's level forbids.
func AdmitPod(_ context.Context, req registry.AdmissionRequest) error {
	if req.Op != registry.OpCreate || req.Namespace == nil {
		return nil
	}
	level, err := LevelOf(req.Namespace)
	if err != nil {
		// Namespace admission keeps bad values out; fail closed if one slipped in.
		level = Restricted
	}
	pod := req.Obj.(*corev1.Pod)
	fe := Check(level, pod)
	if len(fe) == 0 {
		return nil
	}
	parts := make([]string, len(fe))
	for i, f := range fe {
		parts[i] = f.String()
	}
	return &apierr.Error{
		Code: codes.PermissionDenied,
		Message: fmt.Sprintf("pod %q violates pod security level %q of namespace %q: %s",
			pod.GetMetadata().GetName(), level, req.Namespace.GetMetadata().GetName(), strings.Join(parts, "; ")),
		Fields: fe,
	}
}

// AdmitNamespace validates the enforce label and lets only cluster admins
// set privileged (on create, or when changing the level to it).
func AdmitNamespace(ctx context.Context, req registry.AdmissionRequest) error {
	if req.Op == registry.OpDelete {
		return nil
	}
	path := fmt.Sprintf("metadata.labels[%q]", EnforceLabel)
	level, err := LevelOf(req.Obj.(*corev1.Namespace))
	if err != nil {
		return apierr.Invalid(path, "%v", err)
	}
	if level != Privileged {
		return nil
	}
	if req.Old != nil {
		if old, err := LevelOf(req.Old.(*corev1.Namespace)); err == nil && old == Privileged {
			return nil
		}
	}
	if IsClusterAdmin(ctx) {
		return nil
	}
	fe := apierr.FieldErrors{}
	fe.Add(path, "only a cluster admin may set pod security level %q", Privileged)
	return &apierr.Error{
		Code:    codes.PermissionDenied,
		Message: fmt.Sprintf("namespace %q: %s: only a cluster admin may set pod security level %q", req.Obj.GetMetadata().GetName(), path, Privileged),
		Fields:  fe,
	}
}
