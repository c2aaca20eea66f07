package rbac

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/sdk/apis"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/kinds"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// countingStore is an in-memory Store that counts the lists it serves. It
// has no Watch: these tests never start Run, so only Authorize's own check
// can notice a change.
type countingStore struct {
	mu       sync.Mutex
	rev      int64
	kindRev  map[string]int64
	records  map[string][]store.Record
	listCall int
}

func newCountingStore() *countingStore {
	return &countingStore{kindRev: map[string]int64{}, records: map[string][]store.Record{}}
}

func (s *countingStore) List(_ context.Context, p store.Prefix, _ store.ListOptions) (store.ListResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listCall++
	return store.ListResult{Records: s.records[p.Kind], Revision: s.rev}, nil
}

func (s *countingStore) Watch(context.Context, store.Prefix, int64) (*store.Watch, error) {
	panic("not used")
}

func (s *countingStore) Revision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

func (s *countingStore) KindRevision(kind string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kindRev[kind]
}

// write records a change to kind; msg, when set, is stored under it.
func (s *countingStore) write(t *testing.T, kind string, msg proto.Message) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rev++
	s.kindRev[kind] = s.rev
	if msg != nil {
		b, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		s.records[kind] = append(s.records[kind], store.Record{Key: store.Key{Kind: kind, Name: "x"}, Value: b})
	}
}

func (s *countingStore) lists() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listCall
}

func TestRefusalRereadsOnlyAfterAnRBACChange(t *testing.T) {
	ctx := context.Background()
	st := newCountingStore()
	reg, err := kinds.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	a := New(reg, st, nil)
	getPod := grpcserver.Attributes{
		Identity: grpcserver.Identity{User: "alice", Method: "jwt"},
		Verb:     "get", Group: "core.pacific.dev", Kind: "Pod", Resource: "pods",
		Namespace: "demo", Name: "web",
	}
	authorize := func() grpcserver.Decision {
		t.Helper()
		d, _, err := a.Authorize(ctx, getPod)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	if d := authorize(); d == grpcserver.Allow {
		t.Fatal("alice allowed with no binding")
	}
	built := st.lists()
	if built == 0 {
		t.Fatal("the first call read no RBAC objects")
	}
	// Writes to other kinds move the store's revision; a client repeating
	// the refused call must not make the authorizer read RBAC again.
	for range 20 {
		st.write(t, "core.pacific.dev/Pod", nil)
		if d := authorize(); d == grpcserver.Allow {
			t.Fatal("alice allowed with no binding")
		}
	}
	if n := st.lists(); n != built {
		t.Fatalf("20 refused calls after unrelated writes listed RBAC objects %d more times, want 0", n-built)
	}

	// A binding applied here but not yet seen by Run is read before refusing.
	st.write(t, rbacGroup+"/RoleBinding", &authv1.RoleBinding{
		Metadata: &corev1.ObjectMeta{Name: "alice-view", Namespace: "demo"},
		Spec: &authv1.RoleBindingSpec{
			Role: "viewer", RoleKind: apis.RoleKindCluster,
			Subjects: []*authv1.Subject{{Kind: "User", Name: "alice"}},
		},
	})
	if d := authorize(); d != grpcserver.Allow {
		t.Fatalf("alice refused right after her binding was applied: %v", d)
	}
}
