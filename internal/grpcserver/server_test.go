package grpcserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/internal/apierr"
)

// healthStub is a test handler: the health Check RPC answers with whatever
// error the test puts in it.
type healthStub struct {
	healthpb.UnimplementedHealthServer
	err   error
	panic bool
}

func (h *healthStub) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if h.panic {
		panic("boom")
	}
	return &healthpb.HealthCheckResponse{}, h.err
}

func serve(t *testing.T, stub *healthStub, cfg Config) healthpb.HealthClient {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv := grpc.NewServer(serverOptions(cfg)...)
	healthpb.RegisterHealthServer(srv, stub)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func TestErrorTable(t *testing.T) {
	fe := apierr.FieldErrors{}
	fe.Add("spec.bogus", "unknown field")
	cases := []struct {
		name    string
		stub    *healthStub
		code    codes.Code
		mention string
		hide    string
	}{
		{"field errors", &healthStub{err: fe.Err("Namespace")}, codes.InvalidArgument, "spec.bogus", ""},
		{"not found", &healthStub{err: apierr.NotFound("namespaces", "x")}, codes.NotFound, `namespaces "x" not found`, ""},
		{"raw error hidden", &healthStub{err: errors.New("open /secret/path: permission denied")}, codes.Internal, "internal error", "/secret/path"},
		{"panic", &healthStub{panic: true}, codes.Internal, "internal error", "boom"},
		{"canceled", &healthStub{err: context.Canceled}, codes.Canceled, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := serve(t, c.stub, Config{})
			_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
			st := status.Convert(err)
			if st.Code() != c.code || !strings.Contains(st.Message(), c.mention) {
				t.Fatalf("got %v %q, want %v mentioning %q", st.Code(), st.Message(), c.code, c.mention)
			}
			if c.hide != "" && strings.Contains(st.Message(), c.hide) {
				t.Fatalf("leaked %q in %q", c.hide, st.Message())
			}
			if c.code == codes.InvalidArgument && len(st.Details()) == 0 {
				t.Fatal("no BadRequest detail")
			}
		})
	}
}

func TestRateLimitPerPeer(t *testing.T) {
	client := serve(t, &healthStub{}, Config{RatePerSecond: 1, Burst: 2})
	var limited int
	for range 5 {
		_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if status.Code(err) == codes.ResourceExhausted {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited == 0 {
		t.Fatal("5 calls with burst 2 at 1/s were never limited")
	}
}
