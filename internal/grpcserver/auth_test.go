package grpcserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// echoService is a test service: Ping echoes the caller's user; Stream
// sends it back once per request message.
var echoDesc = grpc.ServiceDesc{
	ServiceName: "test.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Ping",
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := &wrapperspb.StringValue{}
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				return wrapperspb.String(IdentityFrom(ctx).User), nil
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/test.Echo/Ping"}, h)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Stream",
		ServerStreams: true,
		ClientStreams: true,
		Handler: func(srv any, ss grpc.ServerStream) error {
			for {
				in := &wrapperspb.StringValue{}
				if err := ss.RecvMsg(in); err != nil {
					return err
				}
				if err := ss.SendMsg(wrapperspb.String(IdentityFrom(ss.Context()).User + ":" + in.Value)); err != nil {
					return err
				}
			}
		},
	}},
}

// tokenAuth accepts "Bearer good-<user>" and refuses other bearer tokens.
var tokenAuth = AuthenticatorFunc(func(ctx context.Context, _ string) (Identity, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get("authorization")
	if len(v) == 0 {
		return Identity{}, ErrNoCredentials
	}
	user, ok := strings.CutPrefix(v[0], "Bearer good-")
	if !ok {
		return Identity{}, status.Error(codes.Unauthenticated, "bad token")
	}
	return Identity{User: user}, nil
})

// onlyAlice allows alice's calls whose first message is not "forbidden".
var onlyAlice = AuthorizerFunc(func(_ context.Context, a Attributes) (Decision, string, error) {
	if m, ok := a.Request.(*wrapperspb.StringValue); ok && m.Value == "forbidden" {
		return Deny, "forbidden message", nil
	}
	if a.Identity.User == "alice" && a.Identity.InGroup(GroupAuthenticated) {
		return Allow, "", nil
	}
	return NoOpinion, "only alice", nil
})

func serveAuth(t *testing.T) *grpc.ClientConn {
	t.Helper()
	srv := New(Config{
		Logger:        slog.New(slog.DiscardHandler),
		Authenticator: Chain(AuthenticatorFunc(func(context.Context, string) (Identity, error) { return Identity{}, ErrNoCredentials }), tokenAuth),
		Authorizer:    Union(onlyAlice),
		Reflection:    true,
	})
	srv.RegisterService(&echoDesc, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Server.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func withToken(tok string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

func TestAuthUnary(t *testing.T) {
	conn := serveAuth(t)
	cases := []struct {
		name string
		ctx  context.Context
		msg  string
		code codes.Code
	}{
		{"no credentials", context.Background(), "hi", codes.Unauthenticated},
		{"bad token", withToken("evil"), "hi", codes.Unauthenticated},
		{"authenticated but not allowed", withToken("good-bob"), "hi", codes.PermissionDenied},
		{"denied by message", withToken("good-alice"), "forbidden", codes.PermissionDenied},
		{"allowed", withToken("good-alice"), "hi", codes.OK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := &wrapperspb.StringValue{}
			err := conn.Invoke(c.ctx, "/test.Echo/Ping", wrapperspb.String(c.msg), out)
			if status.Code(err) != c.code {
				t.Fatalf("got %v, want %v", err, c.code)
			}
			if c.code == codes.OK && out.Value != "alice" {
				t.Fatalf("handler saw user %q", out.Value)
			}
			if c.code == codes.Unauthenticated && !strings.Contains(status.Convert(err).Message(), "pacctl login") && c.name == "no credentials" {
				t.Fatalf("no login hint in %q", status.Convert(err).Message())
			}
		})
	}
	// health stays public
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health without credentials: %v", err)
	}
}

func TestAuthStreamFirstMessage(t *testing.T) {
	conn := serveAuth(t)
	desc := &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}
	open := func(ctx context.Context, first string) error {
		s, err := conn.NewStream(ctx, desc, "/test.Echo/Stream")
		if err != nil {
			return err
		}
		// io.EOF means the server already ended the stream; its status
		// comes from RecvMsg.
		if err := s.SendMsg(wrapperspb.String(first)); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		out := &wrapperspb.StringValue{}
		return s.RecvMsg(out)
	}
	if err := open(context.Background(), "x"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("stream without credentials: %v", err)
	}
	if err := open(withToken("good-alice"), "forbidden"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("forbidden first message: %v", err)
	}
	if err := open(withToken("good-alice"), "ok"); err != nil {
		t.Fatalf("allowed stream: %v", err)
	}
}

func TestReflectionNeedsAuthentication(t *testing.T) {
	conn := serveAuth(t)
	list := func(ctx context.Context) error {
		s, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			return err
		}
		// A stream the server already refused reports io.EOF on Send;
		// the status comes from Recv.
		if err := s.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil && err != io.EOF {
			return err
		}
		_, err = s.Recv()
		return err
	}
	if err := list(context.Background()); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("unauthenticated reflection: %v", err)
	}
	if err := list(withToken("good-alice")); err != nil {
		t.Fatalf("authenticated reflection: %v", err)
	}
}

func TestChainStopsAtBadCredential(t *testing.T) {
	called := false
	later := AuthenticatorFunc(func(context.Context, string) (Identity, error) { called = true; return Identity{User: "x"}, nil })
	_, err := Chain(AuthenticatorFunc(func(context.Context, string) (Identity, error) { return Identity{}, errors.New("expired") }), later).Authenticate(context.Background(), "/m")
	if err == nil || called {
		t.Fatalf("bad credential fell through to the next authenticator (err %v)", err)
	}
}
