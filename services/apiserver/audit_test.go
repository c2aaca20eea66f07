package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/internal/audit"
	"github.com/openpacific/pacific/internal/natsembed"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

// syncBuffer collects server logs from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAuditLog checks that mutations and denied requests land in the audit
// file and the PACIFIC_AUDIT stream with user, verb, object, code and
// request id, and that no secret value reaches the audit trail or the
// server's (debug) log.
func TestAuditLog(t *testing.T) {
	nctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nsrv, err := natsembed.Start(nctx, natsembed.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nsrv.Shutdown(context.Background()) })

	logs := &syncBuffer{}
	auditFile := filepath.Join(t.TempDir(), "audit.log")
	replicas := apiservertest.StartCluster(t, 1, apiservertest.Options{
		NATSURL: nsrv.ClientURL(),
		Logger:  slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Tweak:   func(c *apiserver.Config) { c.AuditFile = auditFile },
	})
	a := dial(t, replicas[0])

	const secretValue = "hunter2-s3cr3t-value-b64"
	a.mustCreateNS("demo", nil)
	reqCtx := metadata.AppendToOutgoingContext(ctx(t), "x-request-id", "test-req-42")
	secret := &corev1.Secret{Metadata: &corev1.ObjectMeta{Name: "db", Namespace: "demo"}, Data: map[string][]byte{"password": []byte(secretValue)}}
	if _, err := a.rc.Create(reqCtx, &corev1.CreateRequest{Object: pack(t, secret)}); err != nil {
		t.Fatal(err)
	}
	// A refused create whose object carries the secret in an env var.
	bad := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: "bad", Namespace: "demo"}, Spec: &corev1.PodSpec{
		HostNetwork: true,
		Containers:  []*corev1.Container{{Name: "c", Image: "busybox:1", Env: []*corev1.EnvVar{{Name: "PASSWORD", Value: secretValue}}}},
	}}
	if _, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, bad)}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("hostNetwork pod: %v, want PermissionDenied", err)
	}
	// Reads are not audited.
	if _, err := a.rc.Get(ctx(t), &corev1.GetRequest{ApiVersion: "core.pacific.dev/v1", Kind: "Secret", Namespace: "demo", Name: "db"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.rc.Delete(ctx(t), &corev1.DeleteRequest{ApiVersion: "core.pacific.dev/v1", Kind: "Secret", Namespace: "demo", Name: "db"}); err != nil {
		t.Fatal(err)
	}
	replicas[0].Stop() // flushes the audit log

	raw, err := os.ReadFile(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	var events []audit.Event
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var ev audit.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		events = append(events, ev)
	}
	type key struct{ verb, kind, ns, name, code string }
	got := map[key]audit.Event{}
	for _, ev := range events {
		if ev.User == "" || ev.RequestID == "" || ev.Time.IsZero() || ev.Method == "" {
			t.Errorf("incomplete event %+v", ev)
		}
		got[key{ev.Verb, ev.Kind, ev.Namespace, ev.Name, ev.Code}] = ev
	}
	for _, want := range []key{
		{"create", "Namespace", "", "demo", "OK"},
		{"create", "Secret", "demo", "db", "OK"},
		{"create", "Pod", "demo", "bad", "PermissionDenied"},
		{"delete", "Secret", "demo", "db", "OK"},
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("audit log lacks %+v; have %+v", want, events)
		}
	}
	if ev := got[key{"create", "Secret", "demo", "db", "OK"}]; ev.RequestID != "test-req-42" {
		t.Errorf("caller's request id not kept: %q", ev.RequestID)
	}
	if len(events) != 4 {
		t.Errorf("%d audit events, want 4 (reads are not audited): %+v", len(events), events)
	}
	if strings.Contains(string(raw), secretValue) {
		t.Error("the audit file contains the secret value")
	}
	if strings.Contains(logs.String(), secretValue) {
		t.Error("the server log contains the secret value")
	}
	if !strings.Contains(logs.String(), "rpc") {
		t.Error("the captured server log is empty; the secret check proves nothing")
	}

	nc, err := nsrv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := js.Stream(nctx, audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(nctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 4 {
		t.Errorf("stream %s holds %d events, want 4", audit.StreamName, info.State.Msgs)
	}
	msg, err := stream.GetLastMsgForSubject(nctx, audit.SubjectPrefix+"delete")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(msg.Data, []byte(secretValue)) || !bytes.Contains(msg.Data, []byte(`"name":"db"`)) {
		t.Errorf("stream event: %s", msg.Data)
	}
}
