package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"log/slog"
	"strings"
	"sync"
	"testing"

	_ "github.com/vmware/govmomi/lookup/simulator" // the STS simulator needs the lookup service
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/sts"
	_ "github.com/vmware/govmomi/sts/simulator" // registers the STS endpoint

	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/authz"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLoginSSOFromSTS runs pacctl login --sso --sts-url against govmomi's
// STS simulator and a server that trusts the simulator's signing
// certificate. The simulator always issues the same assertion, expired
// since 2018, so the token is fetched and sent, and the server refuses it
// as expired (its reason, from the server log).
func TestLoginSSOFromSTS(t *testing.T) {
	model := simulator.VPX()
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(model.Remove)
	model.Service.RegisterEndpoints = true
	srv := model.Service.NewServer()
	t.Cleanup(srv.Close)
	stsURL := "http://" + srv.URL.Host + sts.SystemPath

	assertion, err := fetchSAML(context.Background(), stsURL, "alice@vsphere.local", "any")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := authz.EmbeddedSigningCertificate(assertion)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	api := apiservertest.StartCluster(t, 1, apiservertest.Options{
		SSO:    &authz.SAMLConfig{Certificates: []*x509.Certificate{cert}},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})[0]
	cfg := writeFile(t, "sts.yaml", "")

	r := pacctl(t, "secret-password\n", "--config", cfg, "login", "--server", api.Addr(), "--sso", "--sts-url", stsURL, "--username", "alice@vsphere.local", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "Unauthenticated: the STS issued a SAML token but the server refused it: invalid SAML token") {
		t.Fatalf("want the server to refuse the simulator's token; got %s", r)
	}
	if !strings.Contains(logs.String(), "reason=expired") {
		t.Fatalf("want the server to refuse it as expired; server log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "secret-password") || strings.Contains(r.stderr, "secret-password") {
		t.Fatal("the password leaked into a log")
	}

	// An STS that is not there: the error names the step.
	if r := pacctl(t, "pw\n", "--config", cfg, "login", "--server", api.Addr(), "--sso", "--sts-url", "http://127.0.0.1:1/sts/STSService", "--username", "a", "--password-stdin"); r.code == 0 || !strings.Contains(r.stderr, "STS http://127.0.0.1:1/sts/STSService unreachable") {
		t.Fatalf("want the STS step named as unreachable; got %s", r)
	}
	// Plain http to a remote STS is refused before anything is sent.
	mustFail(t, "plain http only for a loopback STS", "--config", cfg, "login", "--server", api.Addr(), "--sso", "--sts-url", "http://sso.example.com/sts/STSService", "--username", "a", "--password-stdin")
}
