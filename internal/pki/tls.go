package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Peer is the identity a verified certificate names.
type Peer struct {
	User   string
	Groups []string
}

// PeerOf reads the identity from a verified leaf certificate.
func PeerOf(cert *x509.Certificate) Peer {
	return Peer{User: cert.Subject.CommonName, Groups: slices.Clone(cert.Subject.Organization)}
}

// VerifiedPeer is the identity of the certificate the handshake verified,
// if there was one.
func VerifiedPeer(cs *tls.ConnectionState) (Peer, bool) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return Peer{}, false
	}
	return PeerOf(cs.VerifiedChains[0][0]), true
}

// ServerConfig is TLS for a server presenting id. With requireClient, a
// client certificate signed by the CA is required (internal ports: Raft,
// host agent, image service); otherwise one is verified if given (the API
// port, where people use bearer tokens).
func ServerConfig(caPEM []byte, id Identity, requireClient bool) (*tls.Config, error) {
	pool, cert, err := parse(caPEM, id)
	if err != nil {
		return nil, err
	}
	auth := tls.VerifyClientCertIfGiven
	if requireClient {
		auth = tls.RequireAndVerifyClientCert
	}
	// Send the CA after the leaf, so a client on loopback can pin it on
	// first use (pacctl login) and save it.
	if block, _ := pem.Decode(caPEM); block != nil && block.Type == "CERTIFICATE" {
		cert.Certificate = append(cert.Certificate, block.Bytes)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   auth,
	}, nil
}

// ClientConfig is TLS for a client presenting id (may be empty: server
// verification only, as pacctl does).
func ClientConfig(caPEM []byte, id Identity) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("pki: no CA certificate in the given PEM")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}
	if len(id.CertPEM) > 0 {
		cert, err := id.TLSCertificate()
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func parse(caPEM []byte, id Identity) (*x509.CertPool, tls.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, tls.Certificate{}, errors.New("pki: no CA certificate in the given PEM")
	}
	cert, err := id.TLSCertificate()
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("pki: server identity: %w", err)
	}
	return pool, cert, nil
}

// RequireGroup returns a VerifyConnection hook that refuses peers whose
// verified certificate lacks group (e.g. only API server replicas may join
// the Raft transport).
func RequireGroup(group string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		p, ok := VerifiedPeer(&cs)
		if !ok {
			return errors.New("pki: peer presented no verified certificate")
		}
		if !slices.Contains(p.Groups, group) {
			return fmt.Errorf("pki: peer %q is not in group %q", p.User, group)
		}
		return nil
	}
}

// Bundle is what a service needs for TLS: the CA to verify peers and its
// own certificate.
type Bundle struct {
	CAPEM    []byte
	Identity Identity
}

// LoadBundle reads ca.crt and NAME.crt/NAME.key from dir.
func LoadBundle(dir, name string) (*Bundle, error) {
	caPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	id, err := LoadIdentity(dir, name)
	if err != nil {
		return nil, err
	}
	return &Bundle{CAPEM: caPEM, Identity: id}, nil
}

// Server is ServerConfig for the bundle.
func (b *Bundle) Server(requireClient bool) (*tls.Config, error) {
	return ServerConfig(b.CAPEM, b.Identity, requireClient)
}

// Client is ClientConfig for the bundle.
func (b *Bundle) Client() (*tls.Config, error) {
	return ClientConfig(b.CAPEM, b.Identity)
}

// Ephemeral makes a throwaway CA with one loopback server identity and a
// client TLS config that trusts it (benchmarks and single-process tools).
func Ephemeral(user string, groups ...string) (server *Bundle, client *tls.Config, err error) {
	ca, err := NewCA("pacific-ephemeral-ca")
	if err != nil {
		return nil, nil, err
	}
	if server, err = ca.LoopbackBundle(user, groups...); err != nil {
		return nil, nil, err
	}
	client, err = ClientConfig(ca.CertPEM, Identity{})
	return server, client, err
}
