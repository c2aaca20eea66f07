package apiserver_test

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/apis"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/manifest"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

func pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: name, Namespace: ns},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox:1"}}}}
}

func get(a *api, kind, ns, name string) error {
	_, err := a.rc.Get(ctx(a.t), &corev1.GetRequest{ApiVersion: apis.CoreV1, Kind: kind, Namespace: ns, Name: name})
	return err
}

func list(a *api, kind, ns string) error {
	_, err := a.rc.List(ctx(a.t), &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: kind, Namespace: ns})
	return err
}

// watchFirst opens a watch and returns the error of its first receive.
func watchFirst(a *api, kind, ns string) error {
	w, err := a.rc.Watch(ctx(a.t), &corev1.WatchRequest{ApiVersion: apis.CoreV1, Kind: kind, Namespace: ns})
	if err != nil {
		return err
	}
	_, err = w.Recv()
	return err
}

func TestNoCredentialsIsUnauthenticated(t *testing.T) {
	r := apiservertest.StartReplica(t)
	anon := dialToken(t, r.Addr(), "")
	wantCode(t, get(anon, "Namespace", "", "default"), codes.Unauthenticated, "pacctl login")
	wantCode(t, list(anon, "Pod", "default"), codes.Unauthenticated)
	wantCode(t, watchFirst(anon, "Pod", "default"), codes.Unauthenticated)
	_, err := anon.dc.ListKinds(ctx(t), &corev1.ListKindsRequest{})
	wantCode(t, err, codes.Unauthenticated)
	forged := dialToken(t, r.Addr(), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.")
	wantCode(t, get(forged, "Namespace", "", "default"), codes.Unauthenticated)

	// Health stays open for probes; reflection is for authenticated callers.
	if _, err := healthpb.NewHealthClient(anon.conn).Check(ctx(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health: %v", err)
	}
	reflect := func(a *api) error {
		s, err := reflectionpb.NewServerReflectionClient(a.conn).ServerReflectionInfo(ctx(t))
		if err != nil {
			return err
		}
		if err := s.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil && err != io.EOF {
			return err // io.EOF: refused already; Recv has the status
		}
		_, err = s.Recv()
		return err
	}
	wantCode(t, reflect(anon), codes.Unauthenticated)
	if err := reflect(dialToken(t, r.Addr(), r.Token(t, "alice"))); err != nil {
		t.Fatalf("reflection for an authenticated user: %v", err)
	}
}

// The acceptance manifest makes alice a viewer of demo and nothing more.
const aliceView = `apiVersion: auth.pacific.dev/v1
kind: RoleBinding
metadata: {name: alice-view, namespace: demo}
spec:
  role: viewer
  subjects: [{kind: User, name: alice}]
`

func applyManifest(t *testing.T, a *api, doc string) {
	t.Helper()
	objs, err := manifest.Decoder{}.Decode("test.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if _, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, o)}); err != nil {
			t.Fatalf("create %s: %v", o.GetMetadata().GetName(), err)
		}
	}
}

func binding(ns, name, role string, user string) *authv1.RoleBinding {
	return &authv1.RoleBinding{Metadata: &corev1.ObjectMeta{Name: name, Namespace: ns},
		Spec: &authv1.RoleBindingSpec{Role: role, Subjects: []*authv1.Subject{{Kind: "User", Name: user}}}}
}

func TestRBACNamespaceRoles(t *testing.T) {
	r := apiservertest.StartReplica(t)
	admin := dial(t, r)
	for _, ns := range []string{"demo", "other"} {
		admin.mustCreateNS(ns, nil)
		if _, err := admin.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, pod(ns, "web"))}); err != nil {
			t.Fatal(err)
		}
	}
	applyManifest(t, admin, aliceView)
	for _, b := range []*authv1.RoleBinding{binding("demo", "bob-edit", "editor", "bob"), binding("demo", "olga-own", "owner", "olga")} {
		if _, err := admin.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, b)}); err != nil {
			t.Fatal(err)
		}
	}
	alice := dialToken(t, r.Addr(), r.Token(t, "alice"))
	bob := dialToken(t, r.Addr(), r.Token(t, "bob"))
	olga := dialToken(t, r.Addr(), r.Token(t, "olga"))
	nobody := dialToken(t, r.Addr(), r.Token(t, "nobody"))

	// alice reads demo, and only demo.
	for _, err := range []error{get(alice, "Pod", "demo", "web"), list(alice, "Pod", "demo"), watchFirst(alice, "Pod", "demo"), get(alice, "Namespace", "", "demo")} {
		if err != nil {
			t.Fatalf("viewer reading demo: %v", err)
		}
	}
	wantCode(t, get(alice, "Pod", "other", "web"), codes.PermissionDenied, `user "alice" cannot get pods "web" in namespace "other"`)
	wantCode(t, list(alice, "Pod", "other"), codes.PermissionDenied)
	wantCode(t, watchFirst(alice, "Pod", "other"), codes.PermissionDenied)
	wantCode(t, list(alice, "Pod", ""), codes.PermissionDenied, "all namespaces", "-n")
	wantCode(t, watchFirst(alice, "Pod", ""), codes.PermissionDenied)
	wantCode(t, get(alice, "Namespace", "", "other"), codes.PermissionDenied)
	wantCode(t, list(alice, "Namespace", ""), codes.PermissionDenied)
	wantCode(t, get(alice, "Secret", "demo", "x"), codes.PermissionDenied) // viewers do not read secrets
	_, err := alice.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, pod("demo", "mine"))})
	wantCode(t, err, codes.PermissionDenied, "cannot create pods")
	_, err = alice.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, namespace("alices", nil))})
	wantCode(t, err, codes.PermissionDenied)
	_, err = alice.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: "demo", Name: "web"})
	wantCode(t, err, codes.PermissionDenied)
	wantCode(t, get(nobody, "Pod", "demo", "web"), codes.PermissionDenied)

	// Logs and exec have their own verbs and follow the namespace.
	pods := func(a *api) corev1.PodServiceClient { return corev1.NewPodServiceClient(a.conn) }
	logsErr := func(a *api, ns string) error {
		s, err := pods(a).Logs(ctx(t), &corev1.LogsRequest{Namespace: ns, Name: "web", Container: "c"})
		if err != nil {
			return err
		}
		_, err = s.Recv()
		return err
	}
	execErr := func(a *api, ns string) error {
		s, err := pods(a).Exec(ctx(t))
		if err != nil {
			return err
		}
		if err := s.Send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_Start{Start: &corev1.ExecStart{Namespace: ns, Name: "web", Container: "c", Command: []string{"true"}}}}); err != nil && err != io.EOF {
			return err // io.EOF: refused already; Recv has the status
		}
		_, err = s.Recv()
		return err
	}
	wantCode(t, logsErr(alice, "other"), codes.PermissionDenied)
	wantCode(t, execErr(alice, "other"), codes.PermissionDenied)
	wantCode(t, execErr(alice, "demo"), codes.PermissionDenied, "cannot exec")
	if err := logsErr(alice, "demo"); status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.Unauthenticated {
		t.Fatalf("viewer logs in demo refused by auth: %v", err) // the pod is not running: another error is fine
	}
	if err := execErr(bob, "demo"); status.Code(err) == codes.PermissionDenied {
		t.Fatalf("editor exec in demo: %v", err)
	}

	// bob edits demo but neither writes status nor grants access.
	created, err := bob.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, pod("demo", "bobs"))})
	if err != nil {
		t.Fatalf("editor create: %v", err)
	}
	p := &corev1.Pod{}
	if err := created.GetObject().UnmarshalTo(p); err != nil {
		t.Fatal(err)
	}
	p.Status = &corev1.PodStatus{Phase: "Running"}
	_, err = bob.rc.UpdateStatus(ctx(t), &corev1.UpdateStatusRequest{Object: pack(t, p)})
	wantCode(t, err, codes.PermissionDenied, "cannot updatestatus pods")
	_, err = bob.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, binding("demo", "bob-own", "owner", "bob"))})
	wantCode(t, err, codes.PermissionDenied)
	if _, err := admin.rc.UpdateStatus(ctx(t), &corev1.UpdateStatusRequest{Object: pack(t, p)}); err != nil {
		t.Fatalf("admin status update: %v", err)
	}

	// olga owns demo: she may grant roles there, not elsewhere.
	if _, err := olga.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, binding("demo", "nobody-view", "viewer", "nobody"))}); err != nil {
		t.Fatalf("owner granting viewer: %v", err)
	}
	if err := get(nobody, "Pod", "demo", "web"); err != nil {
		t.Fatalf("new binding not in effect: %v", err)
	}
	_, err = olga.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, binding("other", "olga-own", "owner", "olga"))})
	wantCode(t, err, codes.PermissionDenied)

	// Removing the binding removes the access.
	if _, err := admin.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: apis.AuthV1, Kind: "RoleBinding", Namespace: "demo", Name: "alice-view"}); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, func() bool { return status.Code(get(alice, "Pod", "demo", "web")) == codes.PermissionDenied })

	// Access questions answer with the same rules.
	access := authv1.NewAccessServiceClient(bob.conn)
	for _, c := range []struct {
		verb, res, ns string
		all, want     bool
	}{
		{"create", "pods", "demo", false, true},
		{"create", "po", "other", false, false},
		{"updatestatus", "Pod", "demo", false, false},
		{"list", "pods", "", true, false},
	} {
		resp, err := access.CheckAccess(ctx(t), &authv1.CheckAccessRequest{Verb: c.verb, Resource: c.res, Namespace: c.ns, AllNamespaces: c.all})
		if err != nil || resp.GetAllowed() != c.want {
			t.Fatalf("can-i %s %s -n %q: %v %v, want %v", c.verb, c.res, c.ns, resp.GetAllowed(), err, c.want)
		}
	}
	if _, err := access.CheckAccess(ctx(t), &authv1.CheckAccessRequest{Verb: "fly", Resource: "pods"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("unknown verb: %v", err)
	}
}

func TestClusterRolesAndBindings(t *testing.T) {
	r := apiservertest.StartReplica(t)
	admin := dial(t, r)
	admin.mustCreateNS("demo", nil)
	// A custom cluster role bound cluster-wide to a group.
	role := &authv1.ClusterRole{Metadata: &corev1.ObjectMeta{Name: "ns-reader"}, Spec: &authv1.RoleSpec{Rules: []*authv1.PolicyRule{
		{ApiGroups: []string{""}, Resources: []string{"namespaces", "pods"}, Verbs: []string{"get", "list"}},
	}}}
	crb := &authv1.ClusterRoleBinding{Metadata: &corev1.ObjectMeta{Name: "auditors"}, Spec: &authv1.RoleBindingSpec{Role: "ns-reader", Subjects: []*authv1.Subject{{Kind: "Group", Name: "auditors"}}}}
	for _, m := range []proto.Message{role, crb} {
		if _, err := admin.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, m)}); err != nil {
			t.Fatal(err)
		}
	}
	aud := dialToken(t, r.Addr(), r.Token(t, "ann", "auditors"))
	if err := list(aud, "Namespace", ""); err != nil {
		t.Fatalf("cluster-wide list: %v", err)
	}
	if err := list(aud, "Pod", ""); err != nil {
		t.Fatalf("list pods -A: %v", err)
	}
	wantCode(t, watchFirst(aud, "Pod", ""), codes.PermissionDenied) // no watch verb
	// Built-in roles cannot be redefined.
	_, err := admin.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, &authv1.ClusterRole{Metadata: &corev1.ObjectMeta{Name: "viewer"}, Spec: &authv1.RoleSpec{}})})
	wantCode(t, err, codes.InvalidArgument, "built-in")
	// Bad bindings are refused with field paths.
	_, err = admin.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, &authv1.RoleBinding{Metadata: &corev1.ObjectMeta{Name: "b", Namespace: "demo"},
		Spec: &authv1.RoleBindingSpec{Subjects: []*authv1.Subject{{Kind: "Robot", Name: "x"}}}})})
	wantCode(t, err, codes.InvalidArgument, "spec.role: required", "spec.subjects[0].kind")
	// Users are admin business.
	_, err = authv1.NewAuthServiceClient(aud.conn).CreateUser(ctx(t), &authv1.CreateUserRequest{Name: "eve", Password: "long enough pw"})
	wantCode(t, err, codes.PermissionDenied, "cannot create users")
}

func pollUntil(t *testing.T, cond func() bool) {
	t.Helper()
	c := ctx(t)
	for !cond() {
		select {
		case <-c.Done():
			t.Fatal("condition not met before the deadline")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// syncWriter is a concurrency-safe log sink.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// The password, the tokens and the refresh token of a whole session never
// reach the server log, even at debug level and on failures.
func TestNoSecretsInServerLogs(t *testing.T) {
	logs := &syncWriter{}
	r := apiservertest.StartCluster(t, 1, apiservertest.Options{Logger: slog.New(slog.NewJSONHandler(io.MultiWriter(logs), &slog.HandlerOptions{Level: slog.LevelDebug}))})[0]
	admin := dial(t, r)
	const password = "Tr0ub4dor&3-correct-horse"
	auth := authv1.NewAuthServiceClient(admin.conn)
	if _, err := auth.CreateUser(ctx(t), &authv1.CreateUserRequest{Name: "alice", Password: password}); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(r.Addr(), testutil.DialTLS(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	anon := authv1.NewAuthServiceClient(conn)
	if _, err := anon.Login(ctx(t), &authv1.LoginRequest{Username: "alice", Password: password + "x"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong password: %v", err)
	}
	resp, err := anon.Login(ctx(t), &authv1.LoginRequest{Username: "alice", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	tok := resp.GetTokens()
	alice := dialToken(t, r.Addr(), tok.GetAccessToken())
	wantCode(t, get(alice, "Pod", "default", "x"), codes.PermissionDenied)
	if _, err := authv1.NewAuthServiceClient(alice.conn).Logout(ctx(t), &authv1.LogoutRequest{RefreshToken: tok.GetRefreshToken()}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, get(alice, "Pod", "default", "x"), codes.Unauthenticated)
	out := logs.String()
	if !strings.Contains(out, `"login"`) || !strings.Contains(out, "alice") {
		t.Fatalf("the captured log lacks the login; the check proves nothing:\n%s", out)
	}
	for name, secret := range map[string]string{"password": password, "access token": tok.GetAccessToken(), "refresh token": tok.GetRefreshToken(),
		"token signature": tok.GetAccessToken()[strings.LastIndexByte(tok.GetAccessToken(), '.')+1:]} {
		if strings.Contains(out, secret) {
			t.Errorf("the server log contains the %s", name)
		}
	}
}
