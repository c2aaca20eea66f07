package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openpacific/pacific/internal/natsembed"
)

func readEvents(t *testing.T, path string) []Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s: line %q is not JSON: %v", path, sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out
}

func TestFileRotatesAndStaysBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit", "audit.log")
	l, err := New(context.Background(), Config{File: path, MaxFileBytes: 1024, MaxBackups: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		l.Record(context.Background(), Event{User: "alice", Verb: "create", Kind: "Pod", Namespace: "demo", Name: fmt.Sprintf("p%d", i), Code: "OK"})
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("expected %s: %v", p, err)
		}
		if st.Size() > 1024 {
			t.Errorf("%s is %d bytes, over the 1024 limit", p, st.Size())
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("more than MaxBackups files kept: %v", err)
	}
	// The newest events are in the current file, in order, and complete.
	evs := readEvents(t, path)
	if len(evs) == 0 || evs[len(evs)-1].Name != fmt.Sprintf("p%d", n-1) {
		t.Fatalf("last event = %+v, want p%d", evs[len(evs)-1], n-1)
	}
	if evs[0].Time.IsZero() || evs[0].User != "alice" || evs[0].Verb != "create" {
		t.Errorf("event fields lost: %+v", evs[0])
	}
}

func TestPublishesToStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := natsembed.Start(ctx, natsembed.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	l, err := New(ctx, Config{NATS: nc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	l.Record(ctx, Event{User: "bob", Verb: "delete", Kind: "Namespace", Name: "demo", Code: "OK", RequestID: "r1"})
	l.Record(ctx, Event{User: "eve", Verb: "get", Kind: "Secret", Namespace: "demo", Name: "db", Code: "PermissionDenied", RequestID: "r2"})
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.GetLastMsgForSubject(ctx, SubjectPrefix+"get")
	if err != nil {
		t.Fatalf("no event on %sget: %v", SubjectPrefix, err)
	}
	var ev Event
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.User != "eve" || ev.Code != "PermissionDenied" || ev.RequestID != "r2" {
		t.Errorf("stream event = %+v", ev)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d events, want 2", info.State.Msgs)
	}
}
