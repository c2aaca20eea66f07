package rbac

import (
	"strings"
	"testing"

	"github.com/openpacific/pacific/internal/grpcserver"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
)

// FuzzRuleAllows checks rule matching against a simple model: a rule
// allows a call only if verb, group, resource and name each match
// literally or by "*" (names only for single-object verbs).
func FuzzRuleAllows(f *testing.F) {
	f.Add("get,list", "", "pods", "", "get", "core.pacific.dev", "pods", "Pod", "web")
	f.Add("*", "*", "*", "", "delete", "auth.pacific.dev", "rolebindings", "RoleBinding", "x")
	f.Add("get", "", "pods", "web", "list", "core.pacific.dev", "pods", "Pod", "")
	f.Add("create", "*", "namespaces", "pacific-system", "create", "core.pacific.dev", "namespaces", "Namespace", "pacific-system")
	f.Add("get", "core.pacific.dev", "Pod", "", "get", "core.pacific.dev", "pods", "Pod", "a")
	f.Fuzz(func(t *testing.T, verbs, groups, resources, names, verb, group, plural, kind, name string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		r := &authv1.PolicyRule{Verbs: split(verbs), ApiGroups: split(groups), Resources: split(resources), ResourceNames: split(names)}
		at := grpcserver.Attributes{Verb: verb, Group: group, Resource: plural, Kind: kind, Name: name}
		got := RuleAllows(r, at)
		want := modelAllows(r, at)
		if got != want {
			t.Fatalf("RuleAllows(%+v, %+v) = %v, model says %v", r, at, got, want)
		}
		// A non-resource call is never allowed by a resource rule.
		at.Path = "/x/y"
		if RuleAllows(r, at) {
			t.Fatal("resource rule allowed a non-resource call")
		}
	})
}

func modelAllows(r *authv1.PolicyRule, a grpcserver.Attributes) bool {
	anyOf := func(list []string, ok func(string) bool) bool {
		for _, x := range list {
			if ok(x) {
				return true
			}
		}
		return false
	}
	verbOK := anyOf(r.GetVerbs(), func(v string) bool { return v == "*" || v == a.Verb })
	groupOK := anyOf(r.GetApiGroups(), func(g string) bool { return g == "*" || g == a.Group || (g == "" && a.Group == "core.pacific.dev") }) ||
		(len(r.GetApiGroups()) == 0 && a.Group == "core.pacific.dev")
	resOK := anyOf(r.GetResources(), func(x string) bool {
		return x == "*" || x == a.Resource || (a.Kind != "" && strings.EqualFold(x, a.Kind))
	})
	nameOK := len(r.GetResourceNames()) == 0 ||
		(a.Name != "" && a.Verb != "list" && a.Verb != "watch" && anyOf(r.GetResourceNames(), func(n string) bool { return n == a.Name }))
	return verbOK && groupOK && resOK && nameOK
}

func TestBuiltinRoles(t *testing.T) {
	roles := builtinRoles([]string{"pods", "secrets", "roles", "rolebindings", "events"})
	at := func(verb, res, name string) grpcserver.Attributes {
		return grpcserver.Attributes{Verb: verb, Group: "core.pacific.dev", Resource: res, Name: name}
	}
	allows := func(role string, a grpcserver.Attributes) bool { return allows(roles[role], a) }
	cases := []struct {
		role string
		at   grpcserver.Attributes
		want bool
	}{
		{"viewer", at("list", "pods", ""), true},
		{"viewer", at("logs", "pods", "p"), true},
		{"viewer", at("get", "secrets", "s"), false},
		{"viewer", at("create", "pods", "p"), false},
		{"viewer", at("exec", "pods", "p"), false},
		{"editor", at("exec", "pods", "p"), true},
		{"viewer", at("evict", "pods", "p"), false},
		{"editor", at("evict", "pods", "p"), true},
		{"editor", at("get", "secrets", "s"), true},
		{"editor", at("create", "rolebindings", "b"), false},
		{"editor", at("updatestatus", "pods", "p"), false},
		{"owner", at("create", "rolebindings", "b"), true},
		{"owner", at("delete", "namespaces", "demo"), false},
		{"owner", at("get", "namespaces", "demo"), true},
		{"cluster-admin", at("updatestatus", "pods", "p"), true},
		{roleHost, at("create", "namespaces", "pacific-system"), true},
		{roleHost, at("create", "namespaces", "other"), false},
		// The scheduler binds pods and records Events about them (count
		// bumps are updates), nothing more.
		{roleScheduler, at("create", "events", "web.1"), true},
		{roleScheduler, at("update", "events", "web.1"), true},
		{roleScheduler, at("get", "events", "web.1"), true},
		{roleScheduler, at("delete", "events", "web.1"), false},
		{roleScheduler, at("update", "pods", "web"), true},
		{roleScheduler, at("create", "pods", "web"), false},
		{roleScheduler, at("delete", "pods", "web"), false},
		{roleScheduler, at("list", "pods", ""), true},
		{roleScheduler, at("get", "secrets", "s"), false}, // reads only what it places pods by
		{roleScheduler, at("list", "secrets", ""), false},
		{roleScheduler, at("list", "rolebindings", ""), false},
	}
	for _, c := range cases {
		if got := allows(c.role, c.at); got != c.want {
			t.Errorf("%s %s %s %q: %v, want %v", c.role, c.at.Verb, c.at.Resource, c.at.Name, got, c.want)
		}
	}
}
