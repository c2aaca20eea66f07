package grpcserver

import (
	"context"

	"google.golang.org/grpc"
)

// Identity is who is calling.
type Identity struct {
	User   string
	Groups []string
}

// Anonymous is the identity of unauthenticated callers.
const Anonymous = "system:anonymous"

// Authenticator turns a call's metadata or TLS state into an Identity, or
// fails with Unauthenticated.
type Authenticator interface {
	Authenticate(ctx context.Context, fullMethod string) (Identity, error)
}

type identityKey struct{}

// IdentityFrom returns the caller's identity (Anonymous when none).
func IdentityFrom(ctx context.Context) Identity {
	if id, ok := ctx.Value(identityKey{}).(Identity); ok {
		return id
	}
	return Identity{User: Anonymous}
}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

func authenticate(ctx context.Context, a Authenticator, method string) (context.Context, error) {
	if a == nil {
		return ctx, nil
	}
	id, err := a.Authenticate(ctx, method)
	if err != nil {
		return ctx, err
	}
	return WithIdentity(ctx, id), nil
}

func authnUnary(a Authenticator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := authenticate(ctx, a, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func authnStream(a Authenticator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := authenticate(ss.Context(), a, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
