package grpcserver

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Attributes describe one call for authorization, Kubernetes-style: a verb
// on a kind (optionally one object in a namespace), or a non-resource call
// (Path set, e.g. reflection or whoami).
type Attributes struct {
	Identity Identity
	// Verb is get, list, watch, create, update, updatestatus, delete,
	// exec, logs, or for non-resource calls the gRPC method name.
	Verb string
	// Group is the API group ("core.pacific.dev"); Kind the kind ("Pod");
	// Resource the plural ("pods").
	Group    string
	Kind     string
	Resource string
	// Namespace is empty for cluster-scoped kinds and for calls across
	// all namespaces (then AllNamespaces is true).
	Namespace     string
	AllNamespaces bool
	Name          string
	// Path is the full gRPC method for non-resource calls.
	Path string
	// Method is the full gRPC method; Request the request message (the
	// first message of a stream) for authorizers that need more, such as
	// a node authorizer looking at a pod's spec.nodeName.
	Method  string
	Request any
}

// IsResource reports whether the call is about API objects.
func (a Attributes) IsResource() bool { return a.Path == "" }

// String describes the call for errors and audit logs, never with secrets:
// `list pods in namespace "demo"`.
func (a Attributes) String() string {
	if !a.IsResource() {
		return "call " + a.Path
	}
	var b strings.Builder
	b.WriteString(a.Verb + " " + a.Resource)
	if a.Name != "" {
		fmt.Fprintf(&b, " %q", a.Name)
	}
	switch {
	case a.AllNamespaces:
		b.WriteString(" in all namespaces")
	case a.Namespace != "":
		fmt.Fprintf(&b, " in namespace %q", a.Namespace)
	}
	return b.String()
}

// Decision is an authorizer's answer.
type Decision int

const (
	// NoOpinion lets the next authorizer of a union decide; when none
	// allows, the call is denied.
	NoOpinion Decision = iota
	Allow
	Deny
)

// Authorizer decides whether a call may proceed. reason explains a Deny or
// NoOpinion for the caller (no secrets).
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (d Decision, reason string, err error)
}

// AuthorizerFunc adapts a function.
type AuthorizerFunc func(ctx context.Context, a Attributes) (Decision, string, error)

// Authorize implements Authorizer.
func (f AuthorizerFunc) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	return f(ctx, a)
}

// Union asks each authorizer in order: the first Allow or Deny wins (e.g.
// a node authorizer, then RBAC).
func Union(as ...Authorizer) Authorizer {
	return AuthorizerFunc(func(ctx context.Context, a Attributes) (Decision, string, error) {
		var reasons []string
		for _, z := range as {
			d, reason, err := z.Authorize(ctx, a)
			if err != nil {
				return Deny, "", err
			}
			if d != NoOpinion {
				return d, reason, nil
			}
			if reason != "" {
				reasons = append(reasons, reason)
			}
		}
		return NoOpinion, strings.Join(reasons, "; "), nil
	})
}

// AttributesFunc maps a call to Attributes. It returns an error (for
// example InvalidArgument for an unknown kind) when the request cannot be
// described. id is already set in the result by the interceptor.
type AttributesFunc func(ctx context.Context, fullMethod string, req any) (Attributes, error)

// Denied returns the PermissionDenied error for a, kubectl style:
// `user "alice" cannot create pods in namespace "demo"`.
func Denied(a Attributes, reason string) error {
	msg := fmt.Sprintf("user %q cannot %s", a.Identity.User, strings.TrimPrefix(a.String(), "call "))
	if reason != "" {
		msg += ": " + reason
	}
	return status.Error(codes.PermissionDenied, msg)
}

func authorize(ctx context.Context, cfg *Config, method string, req any) error {
	if cfg.Authorizer == nil {
		return nil
	}
	if strings.HasPrefix(method, healthService) || isPublic(cfg.PublicMethods, method) {
		return nil
	}
	a := Attributes{Path: method, Verb: method[strings.LastIndexByte(method, '/')+1:]}
	if cfg.Attributes != nil {
		var err error
		if a, err = cfg.Attributes(ctx, method, req); err != nil {
			return err
		}
	}
	a.Identity = IdentityFrom(ctx)
	a.Method = method
	a.Request = req
	d, reason, err := cfg.Authorizer.Authorize(ctx, a)
	if err != nil {
		return err
	}
	if cfg.OnDecision != nil {
		cfg.OnDecision(ctx, a, d == Allow)
	}
	if d != Allow {
		return Denied(a, reason)
	}
	return nil
}

func authzUnary(cfg *Config) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := authorize(ctx, cfg, info.FullMethod, req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// authzStream authorizes a stream on its first request message: the
// handler's first RecvMsg fails with PermissionDenied instead of returning a
// message it may not see. Every Pacific stream starts with a request
// (Watch, Logs: the request; Exec: ExecStart; reflection: its query).
func authzStream(cfg *Config) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if cfg.Authorizer == nil {
			return handler(srv, ss)
		}
		return handler(srv, &authzStreamWrapper{ServerStream: ss, cfg: cfg, method: info.FullMethod})
	}
}

type authzStreamWrapper struct {
	grpc.ServerStream
	cfg        *Config
	method     string
	authorized bool
}

func (s *authzStreamWrapper) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.authorized {
		return nil
	}
	if err := authorize(s.Context(), s.cfg, s.method, m); err != nil {
		return err
	}
	s.authorized = true
	return nil
}

// SendMsg refuses to send before the first request was authorized, so a
// handler that sends before reading cannot leak anything.
func (s *authzStreamWrapper) SendMsg(m any) error {
	if !s.authorized {
		if err := authorize(s.Context(), s.cfg, s.method, nil); err != nil {
			return err
		}
		s.authorized = true
	}
	return s.ServerStream.SendMsg(m)
}
