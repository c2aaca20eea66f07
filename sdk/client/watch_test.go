package client

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// scriptedWatch serves each Watch call with the next script entry: events
// to send, then the error to end the stream with. It records each
// request's resource version and authorization header.
type scriptedWatch struct {
	corev1.UnimplementedResourceServiceServer
	mu       sync.Mutex
	scripts  []watchScript
	requests chan *corev1.WatchRequest
	auth     chan []string
}

type watchScript struct {
	events []*corev1.WatchResponse
	end    error
}

func (s *scriptedWatch) Watch(req *corev1.WatchRequest, stream corev1.ResourceService_WatchServer) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	s.auth <- md.Get("authorization")
	s.requests <- req
	s.mu.Lock()
	if len(s.scripts) == 0 {
		s.mu.Unlock()
		<-stream.Context().Done()
		return nil
	}
	sc := s.scripts[0]
	s.scripts = s.scripts[1:]
	s.mu.Unlock()
	for _, ev := range sc.events {
		if err := stream.Send(ev); err != nil {
			return err
		}
	}
	return sc.end
}

// startFake serves srv over TLS and returns its address and the PEM a
// client must trust (Options.CAPEM).
func startFake(t *testing.T, srv corev1.ResourceServiceServer) (string, []byte) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, caPEM := selfSigned(t)
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)))
	corev1.RegisterResourceServiceServer(gs, srv)
	go gs.Serve(l)
	t.Cleanup(gs.Stop)
	return l.Addr().String(), caPEM
}

func nsEvent(t *testing.T, typ corev1.EventType, name string, rv int64) *corev1.WatchResponse {
	t.Helper()
	a, err := anypb.New(&corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: name, ResourceVersion: rv}})
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.WatchResponse{Type: typ, Object: a, ResourceVersion: rv}
}

func bookmark(rv int64) *corev1.WatchResponse {
	return &corev1.WatchResponse{Type: corev1.EventType_EVENT_TYPE_BOOKMARK, ResourceVersion: rv}
}

const (
	added    = corev1.EventType_EVENT_TYPE_ADDED
	modified = corev1.EventType_EVENT_TYPE_MODIFIED
	deleted  = corev1.EventType_EVENT_TYPE_DELETED
	bookmk   = corev1.EventType_EVENT_TYPE_BOOKMARK
)

func TestWatchResumesAndEndsWithRelist(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "leader changed")
	fake := &scriptedWatch{
		requests: make(chan *corev1.WatchRequest, 10),
		auth:     make(chan []string, 10),
		scripts: []watchScript{
			// The initial listing breaks half-way.
			{events: []*corev1.WatchResponse{nsEvent(t, added, "a", 3), nsEvent(t, added, "b", 4)}, end: unavailable},
			// The second listing: a unchanged, b deleted, c new, d changed meanwhile.
			{events: []*corev1.WatchResponse{nsEvent(t, added, "a", 3), nsEvent(t, added, "c", 9), bookmark(10), nsEvent(t, modified, "a", 11)}, end: unavailable},
			// Resumed after revision 11.
			{events: []*corev1.WatchResponse{nsEvent(t, deleted, "c", 12)}, end: status.Error(codes.Unavailable, "again")},
			{end: status.Error(codes.OutOfRange, "revision 12 is compacted")},
		},
	}
	addr, caPEM := startFake(t, fake)
	c, err := New(Options{Servers: []string{addr}, Token: "s3cret", CAPEM: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	w, err := For[*corev1.Namespace](c).Watch(ctx, WatchOptions{Bookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	type got struct {
		typ  corev1.EventType
		name string
		rv   int64
	}
	var events []got
	for ev := range w.Events() {
		events = append(events, got{ev.Type, ev.Object.GetMetadata().GetName(), ev.ResourceVersion})
	}
	want := []got{
		{added, "a", 3}, {added, "b", 4}, // first listing
		{added, "c", 9}, {deleted, "b", 10}, {bookmk, "", 10}, // second listing, as a difference
		{modified, "a", 11}, {deleted, "c", 12},
	}
	if len(events) != len(want) {
		t.Fatalf("events:\n got %v\nwant %v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("event %d: got %v, want %v (all: %v)", i, events[i], want[i], events)
		}
	}
	err = w.Err()
	if !errors.Is(err, ErrRelist) || status.Code(err) != codes.OutOfRange || !IsRelist(err) {
		t.Fatalf("Err() = %v, want ErrRelist and OutOfRange", err)
	}
	var froms []int64
	for range 4 {
		req := <-fake.requests
		froms = append(froms, req.GetResourceVersion())
		if !req.GetAllowBookmarks() {
			t.Errorf("request %d does not allow bookmarks", len(froms))
		}
		if auth := <-fake.auth; len(auth) != 1 || auth[0] != "Bearer s3cret" {
			t.Errorf("authorization = %q", auth)
		}
	}
	if want := []int64{0, 0, 11, 12}; !equalInts(froms, want) {
		t.Fatalf("watched from %v, want %v", froms, want)
	}
}

func TestWatchEndsOnPermanentError(t *testing.T) {
	fake := &scriptedWatch{
		requests: make(chan *corev1.WatchRequest, 10),
		auth:     make(chan []string, 10),
		scripts:  []watchScript{{events: []*corev1.WatchResponse{nsEvent(t, added, "a", 5)}, end: status.Error(codes.InvalidArgument, "watch request is invalid: labelSelector: bad")}},
	}
	addr, caPEM := startFake(t, fake)
	c, err := New(Options{Servers: []string{addr}, CAPEM: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := For[*corev1.Namespace](c).Watch(ctx, WatchOptions{ResourceVersion: 4})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for range w.Events() {
		n++
	}
	if n != 1 || !IsInvalid(w.Err()) {
		t.Fatalf("got %d events, Err() = %v; want 1 and InvalidArgument", n, w.Err())
	}
	if auth := <-fake.auth; len(auth) != 0 {
		t.Fatalf("authorization sent without a token: %q", auth)
	}
}

func TestWatchStop(t *testing.T) {
	fake := &scriptedWatch{requests: make(chan *corev1.WatchRequest, 10), auth: make(chan []string, 10)}
	addr, caPEM := startFake(t, fake)
	c, err := New(Options{Servers: []string{addr}, CAPEM: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := For[*corev1.Namespace](c).Watch(context.Background(), WatchOptions{ResourceVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	<-fake.requests // the stream is open
	w.Stop()
	if _, open := <-w.Events(); open {
		t.Fatal("Events still open after Stop")
	}
	if w.Err() != nil {
		t.Fatalf("Err() after Stop = %v, want nil", w.Err())
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWatchDropsReplayedRevisions(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "restarting")
	fake := &scriptedWatch{
		requests: make(chan *corev1.WatchRequest, 10),
		auth:     make(chan []string, 10),
		scripts: []watchScript{
			{events: []*corev1.WatchResponse{nsEvent(t, added, "a", 5), nsEvent(t, added, "b", 6)}, end: unavailable},
			// A restarted replica replays revisions up to the resume point.
			{events: []*corev1.WatchResponse{nsEvent(t, added, "a", 5), nsEvent(t, added, "b", 6), bookmark(6), nsEvent(t, added, "c", 7)}, end: status.Error(codes.PermissionDenied, "done")},
		},
	}
	addr, caPEM := startFake(t, fake)
	c, err := New(Options{Servers: []string{addr}, CAPEM: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := For[*corev1.Namespace](c).Watch(ctx, WatchOptions{ResourceVersion: 4, Bookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for ev := range w.Events() {
		names = append(names, ev.Object.GetMetadata().GetName())
	}
	if strings.Join(names, ",") != "a,b,c" || !IsForbidden(w.Err()) {
		t.Fatalf("events %v, Err() = %v; want a,b,c once and PermissionDenied", names, w.Err())
	}
}
