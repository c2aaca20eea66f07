package rbac

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/sdk/apis"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Store is what the authorizer reads RBAC objects from (the local replica,
// stale reads: a change is seen as soon as this replica applies it).
type Store interface {
	List(ctx context.Context, p store.Prefix, o store.ListOptions) (store.ListResult, error)
	Watch(ctx context.Context, p store.Prefix, fromRevision int64) (*store.Watch, error)
	Revision() int64
	KindRevision(kind string) int64
}

// Authorizer is the RBAC grpcserver.Authorizer.
type Authorizer struct {
	reg     *registry.Registry
	st      Store
	logger  *slog.Logger
	builtin map[string][]*authv1.PolicyRule

	// gen counts RBAC changes; an index built at an older gen is rebuilt.
	gen atomic.Uint64
	mu  sync.Mutex
	idx atomic.Pointer[index]
}

// New returns an authorizer over reg's kinds and st's RBAC objects. Run
// keeps it current.
func New(reg *registry.Registry, st Store, logger *slog.Logger) *Authorizer {
	var namespaced []string
	for _, k := range reg.All() {
		if k.Namespaced {
			namespaced = append(namespaced, k.Plural)
		}
	}
	if logger == nil {
		logger = slog.Default()
	}
	a := &Authorizer{reg: reg, st: st, logger: logger, builtin: builtinRoles(namespaced)}
	a.gen.Store(1)
	return a
}

// Run watches the store and invalidates compiled rules whenever an RBAC
// object changes, until ctx ends.
func (a *Authorizer) Run(ctx context.Context) {
	for ctx.Err() == nil {
		from := a.st.Revision()
		a.gen.Add(1) // whatever happened before this watch is read again
		w, err := a.st.Watch(ctx, store.Prefix{}, from)
		if err != nil {
			a.logger.Warn("rbac: cannot watch the store; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for ev := range w.Events() {
			if strings.HasPrefix(ev.Key.Kind, rbacGroup+"/") {
				a.gen.Add(1)
			}
		}
		if err := w.Err(); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			a.logger.Info("rbac: store watch ended; restarting", "err", err)
		}
		w.Close()
	}
}

const rbacGroup = "auth.pacific.dev"

// changedSince reports whether this replica applied a change to an RBAC
// object (the kinds build reads) after revision rev.
func (a *Authorizer) changedSince(rev int64) bool {
	for _, k := range []string{"ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"} {
		if a.st.KindRevision(rbacGroup+"/"+k) > rev {
			return true
		}
	}
	return false
}

// Authorize implements grpcserver.Authorizer.
func (a *Authorizer) Authorize(ctx context.Context, at grpcserver.Attributes) (grpcserver.Decision, string, error) {
	id := at.Identity
	if !id.Authenticated() {
		return grpcserver.NoOpinion, "not authenticated", nil
	}
	if id.InGroup(grpcserver.GroupMasters) {
		return grpcserver.Allow, "", nil
	}
	if !at.IsResource() {
		if nonResourceAllowed(id, at.Path) {
			return grpcserver.Allow, "", nil
		}
		return grpcserver.NoOpinion, "", nil
	}
	idx, err := a.index(ctx)
	if err != nil {
		return grpcserver.Deny, "", err
	}
	d, reason := idx.decide(at)
	if d != grpcserver.Allow && a.changedSince(idx.rev) {
		// A binding created a moment ago may not have reached Run yet:
		// read again before refusing. Only a change to an RBAC object
		// does this, so a client repeating a refused call reads nothing.
		a.gen.Add(1)
		if idx, err = a.index(ctx); err != nil {
			return grpcserver.Deny, "", err
		}
		d, reason = idx.decide(at)
	}
	return d, reason, nil
}

func (idx *index) decide(at grpcserver.Attributes) (grpcserver.Decision, string) {
	c := idx.compiled(at.Identity)
	if allows(c.cluster, at) {
		return grpcserver.Allow, ""
	}
	if at.Namespace != "" && !at.AllNamespaces && allows(c.byNamespace[at.Namespace], at) {
		return grpcserver.Allow, ""
	}
	if at.AllNamespaces && len(c.byNamespace) > 0 {
		return grpcserver.NoOpinion, "access is granted in some namespaces only; name one with -n"
	}
	return grpcserver.NoOpinion, ""
}

func allows(rules []*authv1.PolicyRule, at grpcserver.Attributes) bool {
	for _, r := range rules {
		if RuleAllows(r, at) {
			return true
		}
	}
	return false
}

// nonResourceAllowed: calls that are not about API objects. Every
// authenticated caller may discover kinds, reflect, ask about its own
// access and log out; replicas may forward store calls; admin calls are for
// system:masters only (handled before).
func nonResourceAllowed(id grpcserver.Identity, path string) bool {
	for _, p := range []string{
		"/pacific.core.v1.DiscoveryService/",
		"/grpc.reflection.v1.ServerReflection/",
		"/grpc.reflection.v1alpha.ServerReflection/",
		"/pacific.auth.v1.AccessService/",
		"/pacific.auth.v1.AuthService/Logout",
	} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return id.InGroup(grpcserver.GroupAPIServers) && strings.HasPrefix(path, "/pacific.internal.store.v1.StoreService/")
}

// index is a snapshot of every RBAC object plus per-subject compiled rules.
type index struct {
	gen uint64
	// rev is the store revision the index was read at.
	rev          int64
	clusterRoles map[string][]*authv1.PolicyRule
	roles        map[string][]*authv1.PolicyRule // "namespace/name"
	clusterBinds []binding
	binds        []binding

	mu       sync.RWMutex
	subjects map[string]*compiled
}

type binding struct {
	namespace string
	spec      *authv1.RoleBindingSpec
}

type compiled struct {
	cluster     []*authv1.PolicyRule
	byNamespace map[string][]*authv1.PolicyRule
}

// maxCachedSubjects bounds the per-subject cache; beyond it rules are
// compiled per call (correct, slower).
const maxCachedSubjects = 10000

func (a *Authorizer) index(ctx context.Context) (*index, error) {
	gen := a.gen.Load()
	if idx := a.idx.Load(); idx != nil && idx.gen == gen {
		return idx, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if idx := a.idx.Load(); idx != nil && idx.gen == gen {
		return idx, nil
	}
	idx, err := a.build(ctx, gen)
	if err != nil {
		return nil, err
	}
	a.idx.Store(idx)
	return idx, nil
}

func (a *Authorizer) build(ctx context.Context, gen uint64) (*index, error) {
	idx := &index{gen: gen, rev: a.st.Revision(), clusterRoles: map[string][]*authv1.PolicyRule{}, roles: map[string][]*authv1.PolicyRule{}, subjects: map[string]*compiled{}}
	for name, rules := range a.builtin {
		idx.clusterRoles[name] = rules
	}
	for _, b := range builtinBindings {
		idx.clusterBinds = append(idx.clusterBinds, binding{spec: &authv1.RoleBindingSpec{Role: b.role, RoleKind: apis.RoleKindCluster, Subjects: []*authv1.Subject{b.subject}}})
	}
	err := a.each(ctx, "ClusterRole", func() proto.Message { return &authv1.ClusterRole{} }, func(m proto.Message) {
		r := m.(*authv1.ClusterRole)
		if _, builtin := a.builtin[r.GetMetadata().GetName()]; !builtin {
			idx.clusterRoles[r.GetMetadata().GetName()] = r.GetSpec().GetRules()
		}
	})
	if err == nil {
		err = a.each(ctx, "Role", func() proto.Message { return &authv1.Role{} }, func(m proto.Message) {
			r := m.(*authv1.Role)
			idx.roles[r.GetMetadata().GetNamespace()+"/"+r.GetMetadata().GetName()] = r.GetSpec().GetRules()
		})
	}
	if err == nil {
		err = a.each(ctx, "ClusterRoleBinding", func() proto.Message { return &authv1.ClusterRoleBinding{} }, func(m proto.Message) {
			idx.clusterBinds = append(idx.clusterBinds, binding{spec: m.(*authv1.ClusterRoleBinding).GetSpec()})
		})
	}
	if err == nil {
		err = a.each(ctx, "RoleBinding", func() proto.Message { return &authv1.RoleBinding{} }, func(m proto.Message) {
			b := m.(*authv1.RoleBinding)
			idx.binds = append(idx.binds, binding{namespace: b.GetMetadata().GetNamespace(), spec: b.GetSpec()})
		})
	}
	if err != nil {
		return nil, fmt.Errorf("rbac: read roles and bindings: %w", err)
	}
	return idx, nil
}

func (a *Authorizer) each(ctx context.Context, kind string, newMsg func() proto.Message, fn func(proto.Message)) error {
	prefix := store.Prefix{Kind: rbacGroup + "/" + kind}
	after := ""
	for {
		page, err := a.st.List(ctx, prefix, store.ListOptions{Stale: true, Limit: 1000, After: after})
		if err != nil {
			return err
		}
		for _, rec := range page.Records {
			after = store.AfterKey(rec.Key)
			m := newMsg()
			if err := proto.Unmarshal(rec.Value, m); err != nil {
				return fmt.Errorf("decode %s %s/%s: %w", kind, rec.Key.Namespace, rec.Key.Name, err)
			}
			fn(m)
		}
		if !page.More {
			return nil
		}
	}
}

func subjectKey(id grpcserver.Identity) string {
	groups := id.Groups
	if !slices.IsSorted(groups) {
		groups = slices.Clone(groups)
		slices.Sort(groups)
	}
	var b strings.Builder
	b.WriteString(id.User)
	for _, g := range groups {
		b.WriteByte(0)
		b.WriteString(g)
	}
	return b.String()
}

func (idx *index) compiled(id grpcserver.Identity) *compiled {
	key := subjectKey(id)
	idx.mu.RLock()
	c, ok := idx.subjects[key]
	idx.mu.RUnlock()
	if ok {
		return c
	}
	c = &compiled{byNamespace: map[string][]*authv1.PolicyRule{}}
	for _, b := range idx.clusterBinds {
		if bindingMatches(b.spec, id) {
			c.cluster = append(c.cluster, idx.clusterRoles[b.spec.GetRole()]...)
		}
	}
	for _, b := range idx.binds {
		if !bindingMatches(b.spec, id) {
			continue
		}
		var rules []*authv1.PolicyRule
		if b.spec.GetRoleKind() == apis.RoleKindRole {
			rules = idx.roles[b.namespace+"/"+b.spec.GetRole()]
		} else {
			rules = idx.clusterRoles[b.spec.GetRole()]
		}
		c.byNamespace[b.namespace] = append(c.byNamespace[b.namespace], rules...)
	}
	idx.mu.Lock()
	if len(idx.subjects) < maxCachedSubjects {
		idx.subjects[key] = c
	}
	idx.mu.Unlock()
	return c
}

func bindingMatches(spec *authv1.RoleBindingSpec, id grpcserver.Identity) bool {
	for _, s := range spec.GetSubjects() {
		if subjectMatches(s, id) {
			return true
		}
	}
	return false
}
