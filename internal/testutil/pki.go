package testutil

import (
	"crypto/tls"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/openpacific/pacific/internal/pki"
)

// testCA is one in-memory CA per test binary, so every helper's
// certificates trust each other (making one costs a millisecond, but tests
// dial servers other helpers started).
var testCA = sync.OnceValues(func() (*pki.CA, error) { return pki.NewCA("pacific-test-ca") })

// CA returns the test binary's CA.
func CA(t testing.TB) *pki.CA {
	t.Helper()
	ca, err := testCA()
	if err != nil {
		t.Fatalf("testutil: CA: %v", err)
	}
	return ca
}

// Bundle issues a certificate for user in groups, valid for loopback
// (127.0.0.1, ::1, localhost), with the test CA.
func Bundle(t testing.TB, user string, groups ...string) *pki.Bundle {
	t.Helper()
	b, err := CA(t).LoopbackBundle(user, groups...)
	if err != nil {
		t.Fatalf("testutil: issue %s: %v", user, err)
	}
	return b
}

// ClientTLS is a client TLS config with a certificate for user; with no
// user it only verifies the server (like pacctl).
func ClientTLS(t testing.TB, user string, groups ...string) *tls.Config {
	t.Helper()
	b := &pki.Bundle{CAPEM: CA(t).CertPEM}
	if user != "" {
		b = Bundle(t, user, groups...)
	}
	cfg, err := b.Client()
	if err != nil {
		t.Fatalf("testutil: client TLS: %v", err)
	}
	return cfg
}

// DialTLS is grpc's transport option for ClientTLS.
func DialTLS(t testing.TB, user string, groups ...string) grpc.DialOption {
	t.Helper()
	return grpc.WithTransportCredentials(credentials.NewTLS(ClientTLS(t, user, groups...)))
}
