package events

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/openpacific/pacific/internal/natsembed"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func TestSubject(t *testing.T) {
	for _, tc := range []struct {
		gk, ns, want string
	}{
		{"core.pacific.dev/Namespace", "", "pacific.v1.events.namespace._"},
		{"core.pacific.dev/Event", "demo", "pacific.v1.events.event.demo"},
		{"vm.pacific.dev/VirtualMachine", "team-a", "pacific.v1.events.virtualmachine.team-a"},
		{"Pod", "x", "pacific.v1.events.pod.x"},
	} {
		got, err := Subject(tc.gk, tc.ns)
		if err != nil || got != tc.want {
			t.Errorf("Subject(%q, %q) = %q, %v; want %q", tc.gk, tc.ns, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ gk, ns string }{
		{"", "a"},
		{"core.pacific.dev/", "a"},
		{"core.pacific.dev/Na.me", "a"},
		{"core.pacific.dev/Pod", "a.b"},
		{"core.pacific.dev/Pod", "a*"},
		{"core.pacific.dev/Pod", ">"},
		{"core.pacific.dev/Pod", "a b"},
		{"core.pacific.dev/Pod", "a\tb"},
		{"core.pacific.dev/Pod", "_"},
		{"core.pacific.dev/_resync", ""},
		{"core.pacific.dev/Po d", ""},
	} {
		if got, err := Subject(tc.gk, tc.ns); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Subject(%q, %q) = %q, %v; want ErrInvalidToken", tc.gk, tc.ns, got, err)
		}
	}
}

func TestSubjectFilter(t *testing.T) {
	for _, tc := range []struct {
		kind, ns, want string
	}{
		{"", "", "pacific.v1.events.*.*"},
		{"core.pacific.dev/Namespace", "", "pacific.v1.events.namespace.*"},
		{"Pod", "demo", "pacific.v1.events.pod.demo"},
		{"", "demo", "pacific.v1.events.*.demo"},
		{"core.pacific.dev/Namespace", ClusterScoped, "pacific.v1.events.namespace._"},
	} {
		got, err := SubjectFilter(tc.kind, tc.ns)
		if err != nil || got != tc.want {
			t.Errorf("SubjectFilter(%q, %q) = %q, %v; want %q", tc.kind, tc.ns, got, err, tc.want)
		}
	}
	if _, err := SubjectFilter("Pod", "a.>"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("SubjectFilter with a wildcard namespace: %v; want ErrInvalidToken", err)
	}
	fs, err := ConsumerFilters("Pod", "")
	if err != nil || len(fs) != 2 || fs[1] != ResyncSubject {
		t.Errorf("ConsumerFilters(Pod) = %v, %v; want the kind filter and %s", fs, err, ResyncSubject)
	}
	fs, err = ConsumerFilters("", "")
	if err != nil || len(fs) != 1 {
		t.Errorf("ConsumerFilters(all) = %v, %v; want one filter", fs, err)
	}
}

func namespaceEvent(t *testing.T, typ corev1.EventType, name string, rev int64) *corev1.WatchResponse {
	t.Helper()
	obj, err := anypb.New(&corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: name, ResourceVersion: rev}})
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.WatchResponse{Type: typ, Object: obj, ResourceVersion: rev}
}

func cloneHeader(h nats.Header) nats.Header {
	c := nats.Header{}
	for k, v := range h {
		c[k] = append([]string(nil), v...)
	}
	return c
}

func TestMsgRoundTrip(t *testing.T) {
	in := namespaceEvent(t, corev1.EventType_EVENT_TYPE_MODIFIED, "demo", 42)
	m, err := NewMsg(in, "core.pacific.dev/Namespace", "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "pacific.v1.events.namespace._" {
		t.Errorf("subject %q", m.Subject)
	}
	for h, want := range map[string]string{
		"Nats-Msg-Id":      "42",
		"Pacific-Revision": "42",
		"Pacific-Kind":     "core.pacific.dev/Namespace",
		"Pacific-Type":     "MODIFIED",
	} {
		if got := m.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	out, rev, err := DecodeParts(m.Header, m.Data)
	if err != nil || rev != 42 || !proto.Equal(in, out) {
		t.Fatalf("DecodeParts = %v, %d, %v; want the input back at 42", out, rev, err)
	}

	// Bad input is rejected, never half-decoded.
	if _, err := NewMsg(namespaceEvent(t, corev1.EventType_EVENT_TYPE_BOOKMARK, "x", 1), "Namespace", ""); err == nil {
		t.Error("NewMsg(BOOKMARK) succeeded")
	}
	if _, err := NewMsg(namespaceEvent(t, corev1.EventType_EVENT_TYPE_ADDED, "x", 0), "Namespace", ""); err == nil {
		t.Error("NewMsg(revision 0) succeeded")
	}
	h := cloneHeader(m.Header)
	h.Set(HeaderRevision, "41")
	if _, _, err := DecodeParts(h, m.Data); err == nil {
		t.Error("DecodeParts with a header revision differing from the payload succeeded")
	}
	h = cloneHeader(m.Header)
	h.Set(HeaderType, TypeDeleted)
	if _, _, err := DecodeParts(h, m.Data); err == nil {
		t.Error("DecodeParts with a header type differing from the payload succeeded")
	}
	h = cloneHeader(m.Header)
	h.Del(HeaderRevision)
	if _, _, err := DecodeParts(h, m.Data); err == nil {
		t.Error("DecodeParts without a revision header succeeded")
	}
	if _, _, err := DecodeParts(m.Header, []byte{0xff, 0xff}); err == nil {
		t.Error("DecodeParts of garbage succeeded")
	}

	r := NewResyncMsg(77)
	if r.Subject != ResyncSubject || r.Header.Get(HeaderMsgID) != "resync-77" {
		t.Errorf("resync marker %s %v", r.Subject, r.Header)
	}
	if resp, rev, err := DecodeParts(r.Header, r.Data); !errors.Is(err, ErrResync) || rev != 77 || resp != nil {
		t.Errorf("DecodeParts(resync) = %v, %d, %v; want nil, 77, ErrResync", resp, rev, err)
	}
}

// TestStreamAndFilters runs against a real embedded server: EnsureStream is
// idempotent, and a consumer filtered to one kind gets that kind's changes
// and resync markers, nothing else.
func TestStreamAndFilters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := natsembed.Start(ctx, natsembed.Config{StoreDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := EnsureStream(ctx, js); err != nil {
			t.Fatal(err)
		}
	}
	st, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.CachedInfo().Config; c.Duplicates < 2*time.Minute || c.MaxAge <= 0 || c.MaxBytes <= 0 || c.Discard != jetstream.DiscardOld || c.Storage != jetstream.FileStorage {
		t.Fatalf("stream config %+v", c)
	}

	msgs := []struct {
		resp *corev1.WatchResponse
		gk   string
		ns   string
	}{
		{namespaceEvent(t, corev1.EventType_EVENT_TYPE_ADDED, "a", 5), "core.pacific.dev/Namespace", ""},
		{namespaceEvent(t, corev1.EventType_EVENT_TYPE_ADDED, "e", 6), "core.pacific.dev/Event", "a"},
		{namespaceEvent(t, corev1.EventType_EVENT_TYPE_DELETED, "a", 9), "core.pacific.dev/Namespace", ""},
	}
	for _, x := range msgs {
		m, err := NewMsg(x.resp, x.gk, x.ns)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.PublishMsg(ctx, NewResyncMsg(9)); err != nil {
		t.Fatal(err)
	}
	// Republishing revision 5 is a duplicate.
	m, _ := NewMsg(msgs[0].resp, msgs[0].gk, msgs[0].ns)
	if ack, err := js.PublishMsg(ctx, m); err != nil || !ack.Duplicate {
		t.Fatalf("republish of revision 5: %+v, %v; want a duplicate", ack, err)
	}

	filters, err := ConsumerFilters("core.pacific.dev/Namespace", "")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: filters})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	var resyncs int
	for len(got)+resyncs < 3 {
		batch, err := cons.Fetch(3-len(got)-resyncs, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for msg := range batch.Messages() {
			resp, rev, err := Decode(msg)
			switch {
			case errors.Is(err, ErrResync):
				resyncs++
				if rev != 9 {
					t.Errorf("resync revision %d, want 9", rev)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if resp.GetObject().GetTypeUrl() != "type.googleapis.com/pacific.core.v1.Namespace" {
					t.Errorf("object %s", resp.GetObject().GetTypeUrl())
				}
				got = append(got, rev)
			}
		}
		if ctx.Err() != nil {
			t.Fatal("timed out")
		}
	}
	if len(got) != 2 || got[0] != 5 || got[1] != 9 || resyncs != 1 {
		t.Fatalf("namespace consumer got revisions %v and %d resyncs; want [5 9] and 1", got, resyncs)
	}
}
