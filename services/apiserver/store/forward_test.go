package store

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

// hangUpListener accepts connections and closes them at once, as a leader
// that died mid-handshake: no gRPC stream can ever be opened on it.
func hangUpListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return ln.Addr().String()
}

// unavailableLeader is a store server whose Apply receives the request and
// then fails as a leader dying mid-write would.
type unavailableLeader struct {
	storev1.UnimplementedStoreServiceServer
	received chan struct{}
}

func (u *unavailableLeader) Apply(context.Context, *storev1.ApplyRequest) (*storev1.ApplyResponse, error) {
	u.received <- struct{}{}
	return nil, status.Error(codes.Unavailable, "leader shutting down")
}

func TestForwardedWriteOutcome(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conns := newPeerConns(nil)
	defer func() { _ = conns.close() }()

	t.Run("never sent is not the leader", func(t *testing.T) {
		p, err := conns.get(hangUpListener(t))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.apply(ctx, []byte("entry"))
		if !errors.Is(err, errNotLeader) || errors.Is(err, ErrIndeterminate) {
			t.Fatalf("apply over a connection that never opened: %v, want errNotLeader", err)
		}
	})

	t.Run("received then failed is indeterminate", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		leader := &unavailableLeader{received: make(chan struct{}, 1)}
		srv := grpc.NewServer()
		storev1.RegisterStoreServiceServer(srv, leader)
		go func() { _ = srv.Serve(ln) }()
		defer srv.Stop()

		p, err := conns.get(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.apply(ctx, []byte("entry"))
		if !errors.Is(err, ErrIndeterminate) || errors.Is(err, errNotLeader) {
			t.Fatalf("apply that reached the leader: %v, want ErrIndeterminate", err)
		}
		select {
		case <-leader.received:
		default:
			t.Fatal("the leader never saw the request")
		}
	})
}
