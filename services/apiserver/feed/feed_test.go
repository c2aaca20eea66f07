package feed_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/openpacific/pacific/internal/events"
	"github.com/openpacific/pacific/internal/natsembed"
	"github.com/openpacific/pacific/internal/testutil"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/feed"
	"github.com/openpacific/pacific/services/apiserver/store"
	"github.com/openpacific/pacific/services/apiserver/store/storetest"
)

const nsKind = "core.pacific.dev/Namespace"

func logger() *slog.Logger {
	if os.Getenv("PACIFIC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// encode is a minimal stand-in for the API server's encoder: a Namespace
// named after the key, its value as description, resource_version stamped.
func encode(ev store.Event) (*corev1.WatchResponse, error) {
	typ := corev1.EventType_EVENT_TYPE_MODIFIED
	switch {
	case ev.Type == store.EventDelete:
		typ = corev1.EventType_EVENT_TYPE_DELETED
	case ev.PrevValue == nil:
		typ = corev1.EventType_EVENT_TYPE_ADDED
	}
	obj, err := anypb.New(&corev1.Namespace{
		Metadata: &corev1.ObjectMeta{Name: ev.Key.Name, ResourceVersion: ev.Revision},
		Spec:     &corev1.NamespaceSpec{Description: string(ev.Value)},
	})
	if err != nil {
		return nil, err
	}
	return &corev1.WatchResponse{Type: typ, Object: obj, ResourceVersion: ev.Revision}, nil
}

func startNATS(t *testing.T) *natsembed.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := natsembed.Start(ctx, natsembed.Config{StoreDir: t.TempDir(), Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

func connect(t *testing.T, srv *natsembed.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// runPublisher runs a Publisher for src until stop is called (or the test
// ends) and returns it.
func runPublisher(t *testing.T, srv *natsembed.Server, src feed.Source, name string) (p *feed.Publisher, stop func()) {
	t.Helper()
	p, err := feed.New(feed.Config{NATS: connect(t, srv), Source: src, Encode: encode,
		Logger: logger().With("publisher", name), MaxInFlight: 32})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, feed.ErrSourceClosed) {
					t.Errorf("publisher %s: %v", name, err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("publisher %s did not stop within 20s", name)
			}
		})
	}
	t.Cleanup(stop)
	return p, stop
}

// entry is one message the consumer saw.
type entry struct {
	rev    int64
	resync bool
	name   string
}

// consumer reads the whole stream with an ordered JetStream consumer.
type consumer struct {
	t    *testing.T
	cons jetstream.Consumer
	got  []entry
}

func newConsumer(t *testing.T, ctx context.Context, srv *natsembed.Server) *consumer {
	t.Helper()
	js, err := jetstream.New(connect(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	if err := events.EnsureStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	filters, err := events.ConsumerFilters("", "")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: filters})
	if err != nil {
		t.Fatal(err)
	}
	return &consumer{t: t, cons: cons}
}

// until fetches messages until done(got) or the deadline.
func (c *consumer) until(what string, done func([]entry) bool) []entry {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !done(c.got) {
		if time.Now().After(deadline) {
			c.t.Fatalf("consumer: %s: not reached within 30s; got %d messages", what, len(c.got))
		}
		batch, err := c.cons.Fetch(100, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			c.t.Fatalf("fetch: %v", err)
		}
		for msg := range batch.Messages() {
			resp, rev, err := events.Decode(msg)
			switch {
			case errors.Is(err, events.ErrResync):
				c.got = append(c.got, entry{rev: rev, resync: true})
			case err != nil:
				c.t.Fatalf("decode message: %v", err)
			default:
				ns := &corev1.Namespace{}
				if err := resp.GetObject().UnmarshalTo(ns); err != nil {
					c.t.Fatalf("revision %d: %v", rev, err)
				}
				if ns.GetMetadata().GetResourceVersion() != rev {
					c.t.Fatalf("revision %d carries an object at resource_version %d", rev, ns.GetMetadata().GetResourceVersion())
				}
				c.got = append(c.got, entry{rev: rev, name: ns.GetMetadata().GetName()})
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			c.t.Fatalf("fetch batch: %v", err)
		}
	}
	return c.got
}

// checkOrdered fails on any revision that is not strictly greater than the
// one before it (which also rules out duplicates).
func checkOrdered(t *testing.T, got []entry) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i].rev <= got[i-1].rev {
			t.Fatalf("message %d has revision %d after %d: not strictly increasing", i, got[i].rev, got[i-1].rev)
		}
	}
}

func revisions(got []entry) map[int64]bool {
	m := map[int64]bool{}
	for _, e := range got {
		if !e.resync {
			m[e.rev] = true
		}
	}
	return m
}

func containsAll(want []int64) func([]entry) bool {
	return func(got []entry) bool {
		have := revisions(got)
		for _, r := range want {
			if !have[r] {
				return false
			}
		}
		return true
	}
}

func create(ctx context.Context, s *store.Store, name string) (int64, error) {
	rec, err := s.Create(ctx, store.Key{Kind: nsKind, Name: name}, []byte("value of "+name))
	return rec.ModRevision, err
}

// waitAcked polls until p has processed the ack of revision rev.
func waitAcked(t *testing.T, p *feed.Publisher, rev int64) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("publisher saw the ack of revision %d", rev), func() (bool, string) {
		st := p.Stats()
		return st.LastRevision >= rev, fmt.Sprintf("%+v", st)
	})
}

// TestLeaderChangeExactlyOnce writes concurrently to a 3-replica store with
// a publisher on every replica, closes the leader in the middle, and checks
// that an ordered consumer sees every acknowledged write exactly once, in
// strictly increasing revision order.
func TestLeaderChangeExactlyOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	srv := startNATS(t)
	c := storetest.NewCluster(t, 3)
	c.Leader()
	pubs := map[string]*feed.Publisher{}
	for _, r := range c.Replicas() {
		pubs[r.ID], _ = runPublisher(t, srv, r.Store(), r.ID)
	}

	const writers, perWriter = 8, 60
	var (
		mu       sync.Mutex
		acked    []int64
		failed   atomic.Int64
		ackCount atomic.Int64
		wg       sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				running := c.Running()
				if len(running) == 0 {
					failed.Add(1)
					continue
				}
				st := running[(w+i)%len(running)].Store()
				if st == nil {
					failed.Add(1)
					continue
				}
				wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
				rev, err := create(wctx, st, fmt.Sprintf("w%d-%d", w, i))
				wcancel()
				if err != nil {
					failed.Add(1) // outcome unknown: may or may not be committed
					continue
				}
				mu.Lock()
				acked = append(acked, rev)
				mu.Unlock()
				ackCount.Add(1)
			}
		}()
	}

	// Close the leader once a third of the writes are acknowledged.
	testutil.Eventually(t, 60*time.Second, "a third of the writes acknowledged", func() (bool, string) {
		n := ackCount.Load()
		return n >= writers*perWriter/3, fmt.Sprintf("%d acknowledged", n)
	})
	old := c.Leader()
	t.Logf("closing leader %s after %d acknowledged writes", old.ID, ackCount.Load())
	c.Stop(old)
	wg.Wait()
	newLeader := c.Leader()
	if newLeader.ID == old.ID {
		t.Fatalf("leader %s still leads after being closed", old.ID)
	}
	// A few writes after the change, all of which must be acknowledged.
	for i := range 20 {
		rev, err := create(ctx, newLeader.Store(), fmt.Sprintf("after-%d", i))
		if err != nil {
			t.Fatalf("write after the leader change: %v", err)
		}
		acked = append(acked, rev)
	}
	t.Logf("%d writes acknowledged, %d failed or unknown", len(acked), failed.Load())
	if len(acked) < writers*perWriter/2 {
		t.Fatalf("only %d of %d writes acknowledged; the test would prove little", len(acked), writers*perWriter)
	}

	got := newConsumer(t, ctx, srv).until("every acknowledged write", containsAll(acked))
	checkOrdered(t, got)
	for _, e := range got {
		if e.resync {
			t.Fatalf("unexpected resync marker at revision %d", e.rev)
		}
	}
	waitAcked(t, pubs[newLeader.ID], acked[len(acked)-1])
	if pubs[newLeader.ID].Stats().Published == 0 {
		t.Errorf("the new leader %s published nothing", newLeader.ID)
	}
	for id, p := range pubs {
		t.Logf("publisher %s: %+v", id, p.Stats())
	}
}

// TestRestartResumes stops the publisher, writes while it is down, starts a
// new one, and checks it resumes after the stream's last message: nothing
// missing, nothing republished.
func TestRestartResumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := startNATS(t)
	c := storetest.NewCluster(t, 1)
	st := c.Leader().Store()
	cons := newConsumer(t, ctx, srv)

	var acked []int64
	write := func(prefix string, n int) {
		for i := range n {
			rev, err := create(ctx, st, fmt.Sprintf("%s-%d", prefix, i))
			if err != nil {
				t.Fatal(err)
			}
			acked = append(acked, rev)
		}
	}
	p1, stop1 := runPublisher(t, srv, st, "first")
	write("a", 40)
	cons.until("first batch", containsAll(acked))
	waitAcked(t, p1, acked[len(acked)-1])
	stop1()
	write("b", 40) // no publisher running
	p2, _ := runPublisher(t, srv, st, "second")
	write("c", 20)
	got := cons.until("all batches", containsAll(acked))
	checkOrdered(t, got)
	if len(got) != len(acked) {
		t.Fatalf("consumer saw %d messages for %d writes", len(got), len(acked))
	}
	waitAcked(t, p2, acked[len(acked)-1])
	if s := p2.Stats(); s.Duplicates != 0 || s.Resyncs != 0 || s.Published != 60 {
		t.Fatalf("second publisher %+v; want 60 published, no duplicates, no resync", s)
	}
	if s := p1.Stats(); s.Published != 40 {
		t.Fatalf("first publisher %+v; want 40 published", s)
	}
}

// TestConcurrentPublishers runs two publishers on the same leader, as when a
// deposed leader has not noticed yet: the stream still holds every change
// once, in order.
func TestConcurrentPublishers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := startNATS(t)
	c := storetest.NewCluster(t, 1)
	st := c.Leader().Store()
	cons := newConsumer(t, ctx, srv)
	p1, _ := runPublisher(t, srv, st, "one")
	p2, _ := runPublisher(t, srv, st, "two")

	var acked []int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				rev, err := create(ctx, st, fmt.Sprintf("w%d-%d", w, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, rev)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	got := cons.until("every write", containsAll(acked))
	checkOrdered(t, got)
	if len(got) != len(acked) {
		t.Fatalf("consumer saw %d messages for %d writes", len(got), len(acked))
	}
	s1, s2 := p1.Stats(), p2.Stats()
	t.Logf("publisher one %+v, two %+v", s1, s2)
	// The slower publisher may still be waiting for acks when the consumer
	// is done (and one that starts over forgets its in-flight messages), so
	// the counters may fall short of the writes, but never exceed them.
	if s1.Published+s2.Published > int64(len(acked)) {
		t.Fatalf("publishers stored %d+%d new messages for %d writes", s1.Published, s2.Published, len(acked))
	}
}

// TestResyncWhenCompacted: the publisher was down while the store's window
// moved past the stream's last revision; the feed publishes a resync marker
// and continues after it.
func TestResyncWhenCompacted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := startNATS(t)
	c := storetest.NewCluster(t, 1, storetest.WithConfig(func(cfg *store.Config) { cfg.EventWindow = 16 }))
	st := c.Leader().Store()
	cons := newConsumer(t, ctx, srv)

	_, stop1 := runPublisher(t, srv, st, "first")
	var before []int64
	for i := range 5 {
		rev, err := create(ctx, st, fmt.Sprintf("a-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, rev)
	}
	cons.until("first writes", containsAll(before))
	stop1()
	var lost int64
	for i := range 40 { // more than the window while no publisher runs
		rev, err := create(ctx, st, fmt.Sprintf("b-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		lost = rev
	}
	p2, _ := runPublisher(t, srv, st, "second")
	got := cons.until("resync marker", func(got []entry) bool { return len(got) > 0 && got[len(got)-1].resync })
	marker := got[len(got)-1]
	if marker.rev < lost {
		t.Fatalf("resync marker at revision %d, want >= %d (the last write before it)", marker.rev, lost)
	}
	var after []int64
	for i := range 5 {
		rev, err := create(ctx, st, fmt.Sprintf("c-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, rev)
	}
	got = cons.until("writes after the marker", containsAll(after))
	checkOrdered(t, got)
	if len(got) != len(before)+1+len(after) {
		t.Fatalf("consumer saw %d messages, want %d before, the marker, %d after", len(got), len(before), len(after))
	}
	if s := p2.Stats(); s.Resyncs != 1 {
		t.Fatalf("second publisher %+v; want one resync", s)
	}
}

// TestNATSRestart takes the NATS server away while changes are committed
// and brings it back on the same port and data: the publisher reconnects,
// starts over from the stream's last message, and nothing is lost or
// duplicated.
func TestNATSRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	srv, err := natsembed.Start(ctx, natsembed.Config{StoreDir: dir, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.NewCluster(t, 1)
	st := c.Leader().Store()
	p, err := feed.New(feed.Config{URL: srv.ClientURL(), Source: st, Encode: encode, Logger: logger(),
		NATSOptions: []nats.Option{nats.ReconnectWait(50 * time.Millisecond)}, AckTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() {
		stopRun()
		<-done
	}()

	var acked []int64
	write := func(prefix string, n int) {
		for i := range n {
			rev, err := create(ctx, st, fmt.Sprintf("%s-%d", prefix, i))
			if err != nil {
				t.Fatal(err)
			}
			acked = append(acked, rev)
		}
	}
	write("a", 30)
	waitAcked(t, p, acked[len(acked)-1])
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	write("b", 30) // NATS is down
	srv, err = natsembed.Start(ctx, natsembed.Config{StoreDir: dir, Port: port, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	write("c", 10)

	got := newConsumer(t, ctx, srv).until("every write", containsAll(acked))
	checkOrdered(t, got)
	if len(got) != len(acked) {
		t.Fatalf("consumer saw %d messages for %d writes", len(got), len(acked))
	}
	waitAcked(t, p, acked[len(acked)-1])
	if s := p.Stats(); s.Resyncs != 0 || s.Published != int64(len(acked)) {
		t.Fatalf("publisher %+v; want %d published, no resync", s, len(acked))
	}
}
