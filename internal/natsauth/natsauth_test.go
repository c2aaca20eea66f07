package natsauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openpacific/pacific/internal/audit"
	"github.com/openpacific/pacific/internal/events"
	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/natsembed"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/internal/prefetch"
	"github.com/openpacific/pacific/internal/testutil"
)

type cluster struct {
	ca  *pki.CA
	srv *natsembed.Server
}

func start(t *testing.T, ctx context.Context) *cluster {
	t.Helper()
	ca, err := pki.NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.LoopbackBundle("system:nats")
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := b.Server(true)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := natsembed.Start(ctx, natsembed.Config{StoreDir: t.TempDir(), TLS: tlsCfg, Auth: New(nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	if !strings.HasPrefix(srv.ClientURL(), "tls://") {
		t.Fatalf("ClientURL %q is not tls://", srv.ClientURL())
	}
	return &cluster{ca: ca, srv: srv}
}

// violations collects permission violations reported to the client.
type violations struct {
	mu   sync.Mutex
	errs []error
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, err)
}

func (v *violations) waitFor(t *testing.T, subject string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "permission violation for "+subject+" reported", func() (bool, string) {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, err := range v.errs {
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), subject) {
				return true, ""
			}
		}
		return false, fmt.Sprint(v.errs)
	})
}

func (c *cluster) connect(t *testing.T, user string, groups []string, v *violations) (*nats.Conn, error) {
	t.Helper()
	b, err := c.ca.LoopbackBundle(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	return dial(t, c.srv.ClientURL(), tlsCfg, v)
}

func dial(t *testing.T, url string, tlsCfg *tls.Config, v *violations) (*nats.Conn, error) {
	t.Helper()
	opts := []nats.Option{nats.NoReconnect(), nats.Timeout(5 * time.Second)}
	if tlsCfg != nil {
		secure, err := ClientOptions(tlsCfg)
		if err != nil { // no certificate: the server must refuse it
			secure = []nats.Option{nats.Secure(tlsCfg)}
		}
		opts = append(opts, secure...)
	}
	if v != nil {
		opts = append(opts, nats.ErrorHandler(v.handler))
	}
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

func TestUnauthenticatedClientsAreRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := start(t, ctx)
	plainURL := "nats://" + strings.TrimPrefix(c.srv.ClientURL(), "tls://")
	if _, err := dial(t, plainURL, nil, nil); err == nil {
		t.Error("plaintext client connected")
	}
	noCert, err := pki.ClientConfig(c.ca.CertPEM, pki.Identity{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, c.srv.ClientURL(), noCert, nil); err == nil {
		t.Error("client without a certificate connected")
	}
	other, err := pki.NewCA("other-ca")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.LoopbackBundle(grpcserver.APIServerUserPrefix+"a", grpcserver.GroupAPIServers)
	if err != nil {
		t.Fatal(err)
	}
	foreignTLS, err := foreign.Client()
	if err != nil {
		t.Fatal(err)
	}
	foreignTLS.RootCAs = c.ca.Pool() // trusts the server; the server must not trust it
	if _, err := dial(t, c.srv.ClientURL(), foreignTLS, nil); err == nil {
		t.Error("client with a certificate from another CA connected")
	}
	if _, err := c.connect(t, "alice", nil, nil); err == nil {
		t.Error("identity without NATS permissions connected")
	}
	if _, err := c.connect(t, grpcserver.APIServerUserPrefix+"a", []string{grpcserver.GroupAPIServers}, nil); err != nil {
		t.Errorf("API server refused: %v", err)
	}
}

func TestAPIServerPublishesFeedAndAudit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := start(t, ctx)
	var v violations
	nc, err := c.connect(t, grpcserver.APIServerUserPrefix+"a", []string{grpcserver.GroupAPIServers}, &v)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := events.EnsureStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	subj, err := events.Subject("Pod", "demo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, subj, []byte("{}")); err != nil {
		t.Fatalf("publish to the feed: %v", err)
	}
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.GetLastMsgForSubject(ctx, events.SubjectPrefix+".>"); err != nil {
		t.Fatalf("read back the last event: %v", err)
	}
	log, err := audit.New(ctx, audit.Config{NATS: nc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("audit stream: %v", err)
	}
	log.Record(ctx, audit.Event{Verb: "create", User: "alice"})
	if err := log.Close(ctx); err != nil {
		t.Fatal(err)
	}
	as, err := js.Stream(ctx, audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "audit event reached the stream", func() (bool, string) {
		info, err := as.Info(ctx)
		return err == nil && info.State.Msgs > 0, fmt.Sprint(err)
	})
	// A denied JetStream request gets no reply; the violation is reported
	// to the client, then the request is abandoned.
	dctx, abandon := context.WithCancel(ctx)
	deleted := make(chan error, 1)
	go func() { deleted <- js.DeleteStream(dctx, events.StreamName) }()
	v.waitFor(t, "$JS.API.STREAM.DELETE."+events.StreamName)
	abandon()
	if err := <-deleted; err == nil {
		t.Error("API server deleted the change feed stream")
	}
	if _, err := js.Stream(ctx, events.StreamName); err != nil {
		t.Errorf("change feed stream after the denied delete: %v", err)
	}
}

func TestHostConsumesOnlyItsOwnPrefetchQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := start(t, ctx)
	host := func(name string, v *violations) jetstream.JetStream {
		nc, err := c.connect(t, grpcserver.HostUserPrefix+name, []string{grpcserver.GroupHosts}, v)
		if err != nil {
			t.Fatalf("host %s: %v", name, err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	var v violations
	h1 := host("h1", &v)
	if _, err := prefetch.EnsureStream(ctx, h1); err != nil {
		t.Fatal(err)
	}
	sched, err := c.connect(t, grpcserver.UserScheduler, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sjs, err := jetstream.New(sched)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"h1", "h2"} {
		if err := prefetch.Publish(ctx, sjs, h, prefetch.Request{Ref: "img-" + h + ":1"}); err != nil {
			t.Fatalf("scheduler queues for %s: %v", h, err)
		}
	}

	got := make(chan string, 4)
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	consumed := make(chan error, 1)
	go func() {
		consumed <- prefetch.Consume(cctx, h1, "h1", func(_ context.Context, r prefetch.Request) error {
			got <- r.Ref
			return nil
		}, prefetch.ConsumeOptions{Logger: slog.New(slog.DiscardHandler)})
	}()
	select {
	case ref := <-got:
		if ref != "img-h1:1" {
			t.Fatalf("h1 got %q", ref)
		}
	case err := <-consumed:
		t.Fatalf("h1 consume: %v", err)
	case <-ctx.Done():
		t.Fatal("h1 never got its request")
	}

	// h1 may not read h2's queue, by consumer or by subscription.
	octx, abandon := context.WithCancel(ctx)
	stolen := make(chan error, 1)
	go func() {
		stolen <- prefetch.Consume(octx, h1, "h2", func(context.Context, prefetch.Request) error {
			t.Error("h1 consumed h2's request")
			return nil
		}, prefetch.ConsumeOptions{})
	}()
	v.waitFor(t, "$JS.API.CONSUMER.CREATE."+prefetch.StreamName+"."+prefetch.Durable("h2"))
	abandon()
	if err := <-stolen; err == nil {
		t.Error("h1 created h2's consumer")
	}
	other, _ := prefetch.Subject("h2")
	if _, err := h1.Conn().SubscribeSync(other); err != nil {
		t.Fatal(err)
	}
	v.waitFor(t, other)

	// Nor publish to the change feed.
	feedSubj, _ := events.Subject("Pod", "demo")
	if err := h1.Conn().Publish(feedSubj, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	v.waitFor(t, feedSubj)

	// Nor read anyone else's replies: the shared inbox and an API server's
	// are refused (its own inbox served every JetStream call above).
	for _, inbox := range []string{"_INBOX.>", InboxPrefix(grpcserver.APIServerUserPrefix+"a") + ".>"} {
		if _, err := h1.Conn().SubscribeSync(inbox); err != nil {
			t.Fatal(err)
		}
		v.waitFor(t, inbox)
	}
}
