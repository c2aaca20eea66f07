package natsembed

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func startServer(t *testing.T, dir string) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Start(ctx, Config{StoreDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { shutdown(t, s) })
	return s
}

func shutdown(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestPublishSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	s := startServer(t, dir)
	if c := s.ns.JetStreamConfig(); c == nil || !c.SyncAlways {
		t.Fatalf("JetStream config %+v: want SyncAlways", c)
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatalf("connect %s: %v", s.ClientURL(), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	ack, err := js.Publish(ctx, "t.a", []byte("hello"), jetstream.WithMsgID("1"))
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if ack.Sequence != 1 || ack.Duplicate {
		t.Fatalf("ack = %+v, want seq 1, not duplicate", ack)
	}
	nc.Close()
	shutdown(t, s)

	// Same StoreDir: the acked message is still there, and its Nats-Msg-Id
	// still deduplicates.
	s2 := startServer(t, dir)
	nc2, err := s2.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	js2, err := jetstream.New(nc2)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js2.Stream(ctx, "T")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	msg, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("GetMsg(1) after restart: %v", err)
	}
	if string(msg.Data) != "hello" || msg.Subject != "t.a" {
		t.Fatalf("message after restart = %q on %q, want hello on t.a", msg.Data, msg.Subject)
	}
	ack, err = js2.Publish(ctx, "t.a", []byte("hello"), jetstream.WithMsgID("1"))
	if err != nil {
		t.Fatalf("Publish after restart: %v", err)
	}
	if !ack.Duplicate {
		t.Fatalf("republish with the same Nats-Msg-Id after restart was not a duplicate: %+v", ack)
	}
}

func TestRejectsNonLoopback(t *testing.T) {
	_, err := Start(context.Background(), Config{Host: "0.0.0.0", StoreDir: t.TempDir()})
	if err == nil {
		t.Fatal("Start on 0.0.0.0 succeeded; want an error")
	}
	_, err = Start(context.Background(), Config{})
	if err == nil {
		t.Fatal("Start without StoreDir succeeded; want an error")
	}
}

func TestShutdownHonoursContext(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// With a cancelled context Shutdown may still finish first; either
	// outcome is fine, but an error must wrap the context's.
	if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestTLSConfigIsChecked(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Start(ctx, Config{StoreDir: t.TempDir(), TLS: &tls.Config{}}); err == nil || !strings.Contains(err.Error(), "client certificates") {
		t.Errorf("TLS without required client certificates: err = %v", err)
	}
	if _, err := Start(ctx, Config{StoreDir: t.TempDir(), TLS: &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert}}); err == nil || !strings.Contains(err.Error(), "Auth is required") {
		t.Errorf("TLS without Auth: err = %v", err)
	}
}
