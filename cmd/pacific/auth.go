package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/sdk/client"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/authz"
)

// ssoFlags configure vSphere SSO token exchange.
type ssoFlags struct {
	certFile string
	audience string
	groups   []string
}

func (f *ssoFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.certFile, "sso-cert", "", "PEM file with the vSphere SSO signing certificate(s); enables 'pacctl login --sso'")
	cmd.Flags().StringVar(&f.audience, "sso-audience", "", "audience SAML tokens must name (empty: any)")
	cmd.Flags().StringSliceVar(&f.groups, "sso-group", nil, "group every SSO user is in (repeatable), to bind SSO users at once")
}

// config returns the SAML settings (nil when SSO is off).
func (f *ssoFlags) config() (*authz.SAMLConfig, error) {
	if f.certFile == "" {
		if f.audience != "" || len(f.groups) > 0 {
			return nil, errors.New("--sso-audience and --sso-group need --sso-cert")
		}
		return nil, nil
	}
	b, err := os.ReadFile(f.certFile)
	if err != nil {
		return nil, fmt.Errorf("--sso-cert: %w", err)
	}
	certs, err := authz.ParseCertificatesPEM(b)
	if err != nil {
		return nil, fmt.Errorf("--sso-cert %s: %w", f.certFile, err)
	}
	for _, g := range f.groups {
		if err := authz.ValidateGroup(g); err != nil {
			return nil, fmt.Errorf("--sso-group: %w", err)
		}
	}
	return &authz.SAMLConfig{Certificates: certs, Audience: f.audience, Groups: f.groups}, nil
}

// authFunc wires the token service into an API server replica and stores
// it in *svc, for minting the credentials of in-process components.
func authFunc(logger *slog.Logger, sso *authz.SAMLConfig, svc **authz.Service) apiserver.AuthFunc {
	return func(_ context.Context, env apiserver.AuthEnv) (apiserver.AuthHooks, error) {
		s, err := authz.New(authz.Config{Records: env.Records, Logger: logger, SSO: sso})
		if err != nil {
			return apiserver.AuthHooks{}, err
		}
		*svc = s
		return apiserver.AuthHooks{
			Authenticator:   grpcserver.Chain(s),
			PublicMethods:   authz.PublicMethods(),
			Register:        s.Register,
			PeerCredentials: s.PeerCredentials(env.ReplicaID),
			Run:             s.Run,
		}, nil
	}
}

// issueUntil issues credentials once the new store has a leader and a
// signing key, within 30 s.
func issueUntil(ctx context.Context, s *authz.Service, user string, groups []string, ttl time.Duration) (*authv1.Tokens, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return s.IssueWhenReady(ctx, user, groups, ttl)
}

// serviceClient is a client acting as an in-process component's identity:
// TLS with the component's certificate, plus a service token.
func serviceClient(addr string, b *pki.Bundle, s *authz.Service, user string, groups ...string) (*client.Client, error) {
	tlsConfig, err := b.Client()
	if err != nil {
		return nil, err
	}
	return client.New(client.Options{
		Servers:     []string{addr},
		TLS:         tlsConfig,
		DialOptions: []grpc.DialOption{grpc.WithPerRPCCredentials(s.Credentials(user, groups...))},
	})
}

// dialAPI connects a separately run component to the API server with its
// certificate and, when tokenFile is set, the bearer token in it.
func dialAPI(server string, bundle *pki.Bundle, tokenFile string) (*client.Client, error) {
	apiTLS, err := bundle.Client()
	if err != nil {
		return nil, err
	}
	opts := client.Options{Servers: []string{server}, TLS: apiTLS}
	if opts.Token, err = readTokenFile(tokenFile); err != nil {
		return nil, err
	}
	c, err := client.New(opts)
	if err != nil {
		return nil, fmt.Errorf("--server %s: %w", server, err)
	}
	return c, nil
}

// readTokenFile reads a bearer token ("" for no file).
func readTokenFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("--token-file %s: empty", path)
	}
	return tok, nil
}

// writeAdminConfig writes a pacctl config holding a cluster-admin
// credential for server in context name (mode 0600).
func writeAdminConfig(ctx context.Context, s *authz.Service, path, name, server string, caPEM []byte, ttl time.Duration) error {
	admin, err := issueUntil(ctx, s, devAdminUser, []string{grpcserver.GroupMasters}, ttl)
	if err != nil {
		return err
	}
	cfg := &client.Config{CurrentContext: name, Contexts: []client.Context{{
		Name: name, Server: server, User: devAdminUser, Token: admin.GetAccessToken(), RefreshToken: admin.GetRefreshToken(),
		CertificateAuthorityData: string(caPEM),
	}}}
	if err := cfg.Save(path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
