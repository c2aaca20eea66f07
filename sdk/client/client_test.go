package client

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func TestNewChecksServers(t *testing.T) {
	for _, servers := range [][]string{nil, {""}, {"localhost"}, {":7443"}, {"a:1", "b"}} {
		if c, err := New(Options{Servers: servers}); err == nil {
			c.Close()
			t.Errorf("New(%q) succeeded", servers)
		}
	}
	c, err := New(Options{Servers: []string{"127.0.0.1:1", " 127.0.0.2:1 "}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Servers(); len(got) != 2 || got[1] != "127.0.0.2:1" {
		t.Fatalf("Servers() = %q", got)
	}
}

func TestUnreachableServerFailsFast(t *testing.T) {
	c, err := New(Options{Servers: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = For[*corev1.Namespace](c).Get(context.Background(), "", "demo")
	if !IsUnavailable(err) {
		t.Fatalf("err = %v, want Unavailable", err)
	}
	t.Logf("%v\nmessage: %s", err, Message(err))
}

func TestNotAKind(t *testing.T) {
	c, err := New(Options{Servers: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := For[apis.Object](c).List(ctx, ListOptions{}); err == nil || !strings.Contains(err.Error(), "Dynamic") {
		t.Errorf("For[apis.Object]: %v", err)
	}
	d := c.Dynamic(apis.GVK{APIVersion: "core.pacific.dev/v1", Kind: "Bogus"})
	if _, err := d.Get(ctx, "", "x"); err == nil || !strings.Contains(err.Error(), "Bogus") {
		t.Errorf("Dynamic(Bogus): %v", err)
	}
	ns := c.Dynamic(apis.GVK{APIVersion: "core.pacific.dev/v1", Kind: "Namespace"})
	if _, err := ns.Create(ctx, &corev1.Event{Metadata: &corev1.ObjectMeta{Name: "x"}}); err == nil || !strings.Contains(err.Error(), "pacific.core.v1.Event") {
		t.Errorf("Create of the wrong kind: %v", err)
	}
	if _, err := ns.Create(ctx, nil); err == nil {
		t.Error("Create(nil) succeeded")
	}
	if _, _, err := ns.Apply(ctx, (*corev1.Namespace)(nil)); err == nil {
		t.Error("Apply(nil) succeeded")
	}
}

func TestSeveralServersFailOver(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	fake := &scriptedWatch{requests: make(chan *corev1.WatchRequest, 10), auth: make(chan []string, 10)}
	live, caPEM := startFake(t, fake)
	c, err := New(Options{Servers: []string{deadAddr, live}, CAPEM: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 3 {
		w, err := For[*corev1.Namespace](c).Watch(ctx, WatchOptions{ResourceVersion: 1})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-fake.requests:
		case <-ctx.Done():
			t.Fatal("the live server never got the watch")
		}
		w.Stop()
	}
}
