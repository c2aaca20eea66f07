package kinds

import (
	"fmt"
	"slices"
	"strings"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

// RBACVerbs are the verbs rules may name ("*" matches all).
var RBACVerbs = []string{"get", "list", "watch", "create", "update", "updatestatus", "delete", "exec", "logs", "evict"}

// BuiltinClusterRoles cannot be created as objects: the server defines them.
var BuiltinClusterRoles = []string{apis.RoleViewer, apis.RoleEditor, apis.RoleOwner, apis.RoleClusterAdmin}

func rbacGVK(kind string) apis.GVK { return apis.GVK{APIVersion: apis.AuthV1, Kind: kind} }

func roleKind() *registry.Kind {
	return &registry.Kind{
		GVK: rbacGVK("Role"), Plural: "roles", Namespaced: true,
		New:            func() apis.Object { return &authv1.Role{} },
		Validate:       func(obj apis.Object) apierr.FieldErrors { return validateRules(obj.(*authv1.Role).GetSpec()) },
		PrinterColumns: []*corev1.PrinterColumn{ageColumn()},
	}
}

func clusterRoleKind() *registry.Kind {
	return &registry.Kind{
		GVK: rbacGVK("ClusterRole"), Plural: "clusterroles",
		New: func() apis.Object { return &authv1.ClusterRole{} },
		Validate: func(obj apis.Object) apierr.FieldErrors {
			r := obj.(*authv1.ClusterRole)
			fe := validateRules(r.GetSpec())
			for _, b := range BuiltinClusterRoles {
				if r.GetMetadata().GetName() == b {
					fe.Add("metadata.name", "%q is a built-in cluster role", b)
				}
			}
			return fe
		},
		PrinterColumns: []*corev1.PrinterColumn{ageColumn()},
	}
}

func roleBindingKind() *registry.Kind {
	return &registry.Kind{
		GVK: rbacGVK("RoleBinding"), Plural: "rolebindings", Namespaced: true,
		New:     func() apis.Object { return &authv1.RoleBinding{} },
		Default: func(obj apis.Object) { defaultBinding(obj.(*authv1.RoleBinding).GetSpec()) },
		Validate: func(obj apis.Object) apierr.FieldErrors {
			return validateBinding(obj.(*authv1.RoleBinding).GetSpec(), true)
		},
		PrinterColumns: []*corev1.PrinterColumn{
			column("Role", ".spec.role", "string"),
			ageColumn(),
		},
	}
}

func clusterRoleBindingKind() *registry.Kind {
	return &registry.Kind{
		GVK: rbacGVK("ClusterRoleBinding"), Plural: "clusterrolebindings",
		New:     func() apis.Object { return &authv1.ClusterRoleBinding{} },
		Default: func(obj apis.Object) { defaultBinding(obj.(*authv1.ClusterRoleBinding).GetSpec()) },
		Validate: func(obj apis.Object) apierr.FieldErrors {
			return validateBinding(obj.(*authv1.ClusterRoleBinding).GetSpec(), false)
		},
		PrinterColumns: []*corev1.PrinterColumn{
			column("Role", ".spec.role", "string"),
			ageColumn(),
		},
	}
}

func defaultBinding(s *authv1.RoleBindingSpec) {
	if s != nil && s.RoleKind == "" {
		s.RoleKind = apis.RoleKindCluster
	}
}

func validateRules(spec *authv1.RoleSpec) apierr.FieldErrors {
	var fe apierr.FieldErrors
	for i, r := range spec.GetRules() {
		p := fmt.Sprintf("spec.rules[%d]", i)
		if len(r.GetVerbs()) == 0 {
			fe.Required(p + ".verbs")
		}
		for j, v := range r.GetVerbs() {
			if v != "*" && !slices.Contains(RBACVerbs, v) {
				fe.Add(fmt.Sprintf("%s.verbs[%d]", p, j), "unknown verb %q: want one of %s or *", v, strings.Join(RBACVerbs, ", "))
			}
		}
		if len(r.GetResources()) == 0 {
			fe.Required(p + ".resources")
		}
		for j, res := range r.GetResources() {
			if res == "" {
				fe.Add(fmt.Sprintf("%s.resources[%d]", p, j), "must not be empty")
			}
		}
	}
	return fe
}

func validateBinding(s *authv1.RoleBindingSpec, namespaced bool) apierr.FieldErrors {
	var fe apierr.FieldErrors
	if s == nil {
		fe.Required("spec")
		return fe
	}
	if s.GetRole() == "" {
		fe.Required("spec.role")
	}
	switch s.GetRoleKind() {
	case apis.RoleKindCluster:
	case apis.RoleKindRole:
		if !namespaced {
			fe.Add("spec.roleKind", "a ClusterRoleBinding can only name a ClusterRole")
		}
	default:
		fe.Add("spec.roleKind", "%q: want ClusterRole or Role", s.GetRoleKind())
	}
	if len(s.GetSubjects()) == 0 {
		fe.Required("spec.subjects")
	}
	for i, sub := range s.GetSubjects() {
		p := fmt.Sprintf("spec.subjects[%d]", i)
		if sub.GetKind() != apis.SubjectUser && sub.GetKind() != apis.SubjectGroup {
			fe.Add(p+".kind", "%q: want User or Group", sub.GetKind())
		}
		if sub.GetName() == "" {
			fe.Required(p + ".name")
		}
	}
	return fe
}
