package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/openpacific/pacific/internal/netutil"
	"github.com/openpacific/pacific/sdk/client"
)

// loginCA finds the CA that login trusts for server: --certificate-authority,
// else the CA of a context naming the same server (in the config being
// written, $PACCTL_CONFIG or the default config). A loopback server with
// no known CA is trusted on first use — only the local machine can answer
// there — and its CA (the last certificate of the chain it presents) is
// saved with the new context. Other servers need --certificate-authority.
func (a *app) loginCA(ctx context.Context, cfg *client.Config, server string) ([]byte, error) {
	if a.flags.caFile != "" {
		return readCAFile(a.flags.caFile)
	}
	servers := strings.Split(server, ",")
	configs := []*client.Config{cfg}
	for _, path := range []string{os.Getenv(client.ConfigEnv), defaultConfigPath()} {
		if path == "" {
			continue
		}
		if c, err := client.LoadConfigFile(path); err == nil {
			configs = append(configs, c)
		}
	}
	for _, c := range configs {
		for _, cctx := range c.Contexts {
			if cctx.CertificateAuthorityData != "" && sameServers(servers, cctx.Addresses()) {
				return []byte(cctx.CertificateAuthorityData), nil
			}
		}
	}
	host, _, err := net.SplitHostPort(strings.TrimSpace(servers[0]))
	if err != nil || !netutil.IsLoopback(host) {
		return nil, fmt.Errorf("no CA known for %s: pass --certificate-authority FILE (the cluster's ca.crt)", server)
	}
	return a.trustLoopback(ctx, strings.TrimSpace(servers[0]))
}

func defaultConfigPath() string {
	p, err := client.DefaultConfigPath()
	if err != nil {
		return ""
	}
	return p
}

// errUnreachable: the server did not answer, so there is nothing to trust;
// the caller's own connection reports it the usual way.
var errUnreachable = errors.New("cannot reach the Pacific API")

// trustLoopback fetches the CA a loopback server presents.
func (a *app) trustLoopback(ctx context.Context, addr string) ([]byte, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: connectTimeout}, Config: &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verified below against the chain's own root: trust on first use.
		InsecureSkipVerify: true, // loopback only, see loginCA
	}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", errUnreachable, addr, err)
	}
	defer conn.Close()
	chain := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(chain) < 2 || !chain[len(chain)-1].IsCA {
		return nil, fmt.Errorf("%s presents no CA certificate; pass --certificate-authority FILE", addr)
	}
	root := chain[len(chain)-1]
	pool := x509.NewCertPool()
	pool.AddCert(root)
	host, _, _ := net.SplitHostPort(addr)
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
		return nil, fmt.Errorf("%s: its certificate does not verify against the CA it presents: %w", addr, err)
	}
	sum := sha256.Sum256(root.Raw)
	fmt.Fprintf(a.stderr, "Trusting the CA of the loopback server %s (SHA-256 %s) on first use; 'pacctl login' saves it with the context.\n", addr, hex.EncodeToString(sum[:]))
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), nil
}

// readCAFile reads the --certificate-authority file, which must hold a PEM
// certificate.
func readCAFile(path string) ([]byte, error) {
	pemData, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--certificate-authority: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("--certificate-authority %s: no PEM certificate in it", path)
	}
	return pemData, nil
}
