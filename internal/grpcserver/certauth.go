package grpcserver

import (
	"context"

	"github.com/openpacific/pacific/internal/pki"
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
		if !ok {
			return Identity{}, ErrNoCredentials
		}
		who, ok := pki.VerifiedPeer(&info.State)
		if !ok || who.User == "" {
			return Identity{}, ErrNoCredentials
		}
		return Identity{User: who.User, Groups: who.Groups, Method: "x509"}, nil
	})
}
