package grpcserver

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Identity is who is calling, as established by an Authenticator. User and
// Groups are what authorization rules name; Method says how the caller
// proved it ("jwt", "x509"), for audit logs.
//
// Service identities (see docs/decisions/0013-identities-and-authorization-hooks.md):
// controllers "system:controllers", the scheduler "system:scheduler", a host
// agent "system:host:<host>" in group "system:hosts", API server replicas
// "system:apiserver:<id>" in group "system:apiservers"; cluster admins are
// in group "system:masters". Every authenticated caller is also in
// "system:authenticated".
type Identity struct {
	User   string
	Groups []string
	// Method is how the identity was proven ("jwt", "x509", ...).
	Method string
	// TokenID is the JWT ID when the caller used a token, and TokenExpires
	// when that token expires (for revocation).
	TokenID      string
	TokenExpires time.Time
}

// Well-known identity names.
const (
	// Anonymous is the identity of unauthenticated callers.
	Anonymous = "system:anonymous"
	// GroupAuthenticated holds every authenticated caller.
	GroupAuthenticated = "system:authenticated"
	// GroupMasters is the cluster-admin group: allowed everything.
	GroupMasters = "system:masters"
	// GroupHosts holds every host agent ("system:host:<name>").
	GroupHosts = "system:hosts"
	// GroupAPIServers holds API server replicas ("system:apiserver:<id>").
	GroupAPIServers = "system:apiservers"
	// UserControllers, UserScheduler and UserImageService are the
	// identities of the in-cluster services.
	UserControllers  = "system:controllers"
	UserScheduler    = "system:scheduler"
	UserImageService = "system:imagesvc"
	// HostUserPrefix + host name is a host agent's user.
	HostUserPrefix = "system:host:"
	// APIServerUserPrefix + replica ID is an API server replica's user.
	APIServerUserPrefix = "system:apiserver:"
)

// InGroup reports whether the identity is in group g.
func (id Identity) InGroup(g string) bool {
	for _, x := range id.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// Authenticated reports whether the identity was proven.
func (id Identity) Authenticated() bool { return id.User != "" && id.User != Anonymous }

// Authenticator turns a call's metadata or TLS state into an Identity.
// It returns ErrNoCredentials when the call carries no credential of its
// kind (so the next authenticator of a Chain may try), and any other error
// (ideally status Unauthenticated) when a credential is present but bad:
// a bad credential is never retried with another authenticator.
type Authenticator interface {
	Authenticate(ctx context.Context, fullMethod string) (Identity, error)
}

// ErrNoCredentials says a call carries no credential an Authenticator
// understands.
var ErrNoCredentials = errors.New("no credentials")

// AuthenticatorFunc adapts a function.
type AuthenticatorFunc func(ctx context.Context, fullMethod string) (Identity, error)

// Authenticate implements Authenticator.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, m string) (Identity, error) {
	return f(ctx, m)
}

// Chain tries each authenticator in order (e.g. client certificate, then
// bearer token) and returns the first identity. A present but bad
// credential fails the call at once.
func Chain(as ...Authenticator) Authenticator {
	return AuthenticatorFunc(func(ctx context.Context, m string) (Identity, error) {
		for _, a := range as {
			id, err := a.Authenticate(ctx, m)
			if errors.Is(err, ErrNoCredentials) {
				continue
			}
			if err != nil {
				return Identity{}, err
			}
			if !id.InGroup(GroupAuthenticated) {
				id.Groups = append(append([]string(nil), id.Groups...), GroupAuthenticated)
			}
			return id, nil
		}
		return Identity{}, ErrNoCredentials
	})
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

// LoginHint is appended to Unauthenticated errors so a person knows what to do.
const LoginHint = "log in with 'pacctl login' or use the config written by 'pacific dev'"

// isPublic reports whether method may be called without credentials.
// Entries are full methods ("/pkg.Svc/Method") or whole services ("/pkg.Svc/").
func isPublic(public []string, method string) bool {
	for _, p := range public {
		if p == method || (strings.HasSuffix(p, "/") && strings.HasPrefix(method, p)) {
			return true
		}
	}
	return false
}

// healthService is always public: load balancers and probes carry no token.
const healthService = "/grpc.health.v1.Health/"

func authenticate(ctx context.Context, cfg *Config, method string) (context.Context, error) {
	if cfg.Authenticator == nil {
		return ctx, nil
	}
	id, err := cfg.Authenticator.Authenticate(ctx, method)
	public := strings.HasPrefix(method, healthService) || isPublic(cfg.PublicMethods, method)
	switch {
	case errors.Is(err, ErrNoCredentials):
		if public {
			return WithIdentity(ctx, Identity{User: Anonymous}), nil
		}
		return ctx, status.Error(codes.Unauthenticated, "no credentials: "+LoginHint)
	case err != nil:
		if public { // a stale token must not block logging in again
			return WithIdentity(ctx, Identity{User: Anonymous}), nil
		}
		if st, ok := status.FromError(err); ok && (st.Code() == codes.Unauthenticated || st.Code() == codes.Unavailable) {
			return ctx, err // Unavailable: the authenticator cannot tell yet (starting); clients retry
		}
		return ctx, status.Error(codes.Unauthenticated, "invalid credentials: "+LoginHint)
	}
	noteIdentity(ctx, id)
	return WithIdentity(ctx, id), nil
}

func authnUnary(cfg *Config) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := authenticate(ctx, cfg, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func authnStream(cfg *Config) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := authenticate(ss.Context(), cfg, info.FullMethod)
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
