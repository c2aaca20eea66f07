package rbac

import (
	"slices"
	"strings"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/sdk/apis"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
)

// coreGroup is the group "" stands for in rules.
const coreGroup = "core.pacific.dev"

// RuleAllows reports whether one rule allows the resource call a.
func RuleAllows(r *authv1.PolicyRule, a grpcserver.Attributes) bool {
	if !a.IsResource() {
		return false
	}
	return matchVerb(r.GetVerbs(), a.Verb) &&
		matchGroup(r.GetApiGroups(), a.Group) &&
		matchResource(r.GetResources(), a.Resource, a.Kind) &&
		matchName(r.GetResourceNames(), a.Name, a.Verb)
}

func matchVerb(verbs []string, verb string) bool {
	for _, v := range verbs {
		if v == "*" || v == verb {
			return true
		}
	}
	return false
}

func matchGroup(groups []string, group string) bool {
	if len(groups) == 0 {
		return group == coreGroup
	}
	for _, g := range groups {
		if g == "*" || g == group || (g == "" && group == coreGroup) {
			return true
		}
	}
	return false
}

func matchResource(resources []string, plural, kind string) bool {
	for _, r := range resources {
		if r == "*" || r == plural || (kind != "" && strings.EqualFold(r, kind)) {
			return true
		}
	}
	return false
}

// matchName: a rule limited to names never allows list or watch (which
// name no single object). Unlike Kubernetes it allows create: Pacific
// objects always carry their name on create (no generateName).
func matchName(names []string, name, verb string) bool {
	if len(names) == 0 {
		return true
	}
	if name == "" || verb == "list" || verb == "watch" {
		return false
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// builtinRoles returns the server-defined cluster roles, given the plurals
// of the namespaced kinds. Roles and bindings stay with owners so a viewer
// or editor cannot grant themselves more.
func builtinRoles(namespaced []string) map[string][]*authv1.PolicyRule {
	except := func(drop ...string) []string {
		var out []string
		for _, p := range namespaced {
			if !slices.Contains(drop, p) {
				out = append(out, p)
			}
		}
		return out
	}
	readable := except("secrets", "roles", "rolebindings")
	editable := except("roles", "rolebindings")
	// Services keep their leases in pacific-system and create it if missing.
	systemNamespace := &authv1.PolicyRule{ApiGroups: []string{"*"}, Resources: []string{"namespaces"}, Verbs: []string{"create"}, ResourceNames: []string{"pacific-system"}}
	getNamespace := &authv1.PolicyRule{ApiGroups: []string{"*"}, Resources: []string{"namespaces"}, Verbs: []string{"get"}}
	return map[string][]*authv1.PolicyRule{
		apis.RoleViewer: {
			{ApiGroups: []string{"*"}, Resources: readable, Verbs: []string{"get", "list", "watch", "logs"}},
			getNamespace,
		},
		apis.RoleEditor: {
			{ApiGroups: []string{"*"}, Resources: editable, Verbs: []string{"get", "list", "watch", "logs", "create", "update", "delete", "exec", "evict"}},
			getNamespace,
		},
		apis.RoleOwner: {
			{ApiGroups: []string{"*"}, Resources: namespaced, Verbs: []string{"get", "list", "watch", "logs", "create", "update", "delete", "exec", "evict"}},
			getNamespace,
		},
		apis.RoleClusterAdmin: {{ApiGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
		// Service roles, bound to the service identities below.
		roleScheduler: {
			// Only what it places pods by: never secrets or other objects.
			{ApiGroups: []string{"*"}, Resources: []string{"pods", "hosts", "leases", "namespaces", "events"}, Verbs: []string{"get", "list", "watch"}},
			{ApiGroups: []string{"*"}, Resources: []string{"pods"}, Verbs: []string{"update", "updatestatus"}},
			{ApiGroups: []string{"*"}, Resources: []string{"events"}, Verbs: []string{"create", "update"}},
			// Leader election: a lease in its own namespace.
			{ApiGroups: []string{"*"}, Resources: []string{"leases"}, Verbs: []string{"create", "update", "delete"}},
			systemNamespace,
		},
		roleHost: {
			{ApiGroups: []string{"*"}, Resources: []string{"pods", "hosts", "leases", "namespaces"}, Verbs: []string{"get", "list", "watch"}},
			// By name, and the node authorizer allows only those its pods use.
			{ApiGroups: []string{"*"}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
			{ApiGroups: []string{"*"}, Resources: []string{"hosts", "leases"}, Verbs: []string{"create", "update", "updatestatus"}},
			{ApiGroups: []string{"*"}, Resources: []string{"pods"}, Verbs: []string{"update", "updatestatus", "delete"}},
			{ApiGroups: []string{"*"}, Resources: []string{"events"}, Verbs: []string{"create", "update"}},
			systemNamespace,
		},
		roleReader: {
			{ApiGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
}

// Roles of the service identities (not bindable by users: names with a
// colon are not valid object names).
const (
	roleScheduler = "system:scheduler"
	roleHost      = "system:host"
	roleReader    = "system:reader"
)

// builtinBindings grant service identities their roles cluster-wide.
// Controllers create, update and delete anything (namespaces, garbage
// collection, deployments) and write status; so they get cluster-admin.
var builtinBindings = []struct {
	subject *authv1.Subject
	role    string
}{
	{&authv1.Subject{Kind: apis.SubjectGroup, Name: grpcserver.GroupMasters}, apis.RoleClusterAdmin},
	{&authv1.Subject{Kind: apis.SubjectUser, Name: grpcserver.UserControllers}, apis.RoleClusterAdmin},
	{&authv1.Subject{Kind: apis.SubjectUser, Name: grpcserver.UserScheduler}, roleScheduler},
	{&authv1.Subject{Kind: apis.SubjectGroup, Name: grpcserver.GroupHosts}, roleHost},
	{&authv1.Subject{Kind: apis.SubjectUser, Name: grpcserver.UserImageService}, roleReader},
}

func subjectMatches(s *authv1.Subject, id grpcserver.Identity) bool {
	switch s.GetKind() {
	case apis.SubjectUser:
		return s.GetName() == id.User
	case apis.SubjectGroup:
		return id.InGroup(s.GetName())
	}
	return false
}
