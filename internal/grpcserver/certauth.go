package grpcserver

import (
	"context"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// ClientCertAuthenticator identifies callers by the client certificate the
// TLS handshake verified against the server's CA: CN is the user, O the
// groups (internal/pki issues them so). Calls without a verified
// certificate get ErrNoCredentials, so a Chain tries the next
// authenticator (bearer tokens).
func ClientCertAuthenticator() Authenticator {
	return AuthenticatorFunc(func(ctx context.Context, _ string) (Identity, error) {
		p, ok := peer.FromContext(ctx)
		if !ok {
			return Identity{}, ErrNoCredentials
		}
		info, ok := p.AuthInfo.(credentials.TLSInfo)
		if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
			return Identity{}, ErrNoCredentials
		}
		leaf := info.State.VerifiedChains[0][0]
		if leaf.Subject.CommonName == "" {
			return Identity{}, ErrNoCredentials
		}
		return Identity{User: leaf.Subject.CommonName, Groups: append([]string(nil), leaf.Subject.Organization...), Method: "x509"}, nil
	})
}
