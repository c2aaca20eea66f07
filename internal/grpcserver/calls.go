package grpcserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/openpacific/pacific/internal/apierr"
)

// RequestIDHeader carries a request id in gRPC metadata. A caller may set
// it (to correlate its own logs); otherwise the server makes one. The
// server returns it as a response header either way.
const RequestIDHeader = "x-request-id"

// CallInfo is what the server learned about a finished call, for audit
// logs. It never holds the response.
type CallInfo struct {
	Method    string
	RequestID string
	Peer      string
	Identity  Identity
	// Request is the request message (a stream's first one; nil if none
	// arrived).
	Request any
	Code    codes.Code
}

type callKey struct{}

// callState is filled in while a call runs: authn adds the identity, the
// stream wrapper the first request.
type callState struct {
	mu   sync.Mutex
	info CallInfo
}

// RequestIDFrom returns the call's request id ("" outside a call).
func RequestIDFrom(ctx context.Context) string {
	if st, ok := ctx.Value(callKey{}).(*callState); ok {
		return st.info.RequestID
	}
	return ""
}

// noteIdentity records the authenticated identity for OnCallDone.
func noteIdentity(ctx context.Context, id Identity) {
	if st, ok := ctx.Value(callKey{}).(*callState); ok {
		st.mu.Lock()
		st.info.Identity = id
		st.mu.Unlock()
	}
}

func startCall(ctx context.Context, method string) (context.Context, *callState) {
	st := &callState{info: CallInfo{Method: method, RequestID: incomingRequestID(ctx), Identity: Identity{User: Anonymous}}}
	if st.info.RequestID == "" {
		st.info.RequestID = newRequestID()
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		st.info.Peer = p.Addr.String()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, st.info.RequestID))
	return context.WithValue(ctx, callKey{}, st), st
}

// incomingRequestID accepts a caller's id only if it is short and plain,
// so it cannot inject anything into logs.
func incomingRequestID(ctx context.Context) string {
	vals := metadata.ValueFromIncomingContext(ctx, RequestIDHeader)
	if len(vals) != 1 || len(vals[0]) == 0 || len(vals[0]) > 64 {
		return ""
	}
	for _, c := range vals[0] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return vals[0]
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (st *callState) finish(ctx context.Context, done func(context.Context, CallInfo), err error) {
	if done == nil {
		return
	}
	st.mu.Lock()
	info := st.info
	st.mu.Unlock()
	info.Code = apierr.CodeOf(err)
	done(ctx, info)
}

func callsUnary(cfg *Config) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, st := startCall(ctx, info.FullMethod)
		st.info.Request = req
		resp, err := handler(ctx, req)
		st.finish(ctx, cfg.OnCallDone, err)
		return resp, err
	}
}

func callsStream(cfg *Config) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, st := startCall(ss.Context(), info.FullMethod)
		err := handler(srv, &firstMessageStream{ServerStream: ss, ctx: ctx, st: st})
		st.finish(ctx, cfg.OnCallDone, err)
		return err
	}
}

type firstMessageStream struct {
	grpc.ServerStream
	ctx  context.Context
	st   *callState
	seen bool
}

func (s *firstMessageStream) Context() context.Context { return s.ctx }

func (s *firstMessageStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && !s.seen {
		s.seen = true
		s.st.mu.Lock()
		s.st.info.Request = m
		s.st.mu.Unlock()
	}
	return err
}
