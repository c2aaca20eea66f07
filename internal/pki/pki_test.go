package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestInitCAKeepsKeyPrivateAndReloads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	ca, created, err := InitCA(dir)
	if err != nil || !created {
		t.Fatalf("InitCA = created %v, %v", created, err)
	}
	st, err := os.Stat(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode %v, want 0600", st.Mode().Perm())
	}
	again, created, err := InitCA(dir)
	if err != nil || created {
		t.Fatalf("second InitCA = created %v, %v", created, err)
	}
	if !again.Cert.Equal(ca.Cert) {
		t.Error("InitCA replaced an existing CA")
	}
	if err := os.Chmod(filepath.Join(dir, CAKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(dir); err == nil {
		t.Error("LoadCA accepted a world-readable key")
	}
	if _, err := LoadCA(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadCA of an empty dir: %v, want ErrNotExist", err)
	}
}

func TestIssueNamesIdentityAndVerifies(t *testing.T) {
	ca, err := NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	id, err := ca.Issue(Request{User: "system:host:h1", Groups: []string{"system:hosts"}, Hosts: []string{"10.0.0.11", "h1.example"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := id.Save(dir, "h1"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "h1.key")); st.Mode().Perm() != 0o600 {
		t.Errorf("h1.key mode %v, want 0600", st.Mode().Perm())
	}
	loaded, err := LoadIdentity(dir, "h1")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := loaded.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if p := PeerOf(leaf); p.User != "system:host:h1" || !slices.Equal(p.Groups, []string{"system:hosts"}) {
		t.Errorf("peer = %+v", p)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "h1.example", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("verify against the CA: %v", err)
	}
	if !slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.ParseIP("10.0.0.11")) }) {
		t.Errorf("IP SANs %v", leaf.IPAddresses)
	}
	other, _ := NewCA("other")
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: other.Pool()}); err == nil {
		t.Error("a certificate verified against another CA")
	}
	if _, err := ca.Issue(Request{}); err == nil {
		t.Error("issued a certificate without a user")
	}
}

// TestMutualTLSRefuses makes real TLS connections to a server that requires
// a client certificate from its CA in group system:apiservers (what the
// Raft and host agent ports do).
func TestMutualTLSRefuses(t *testing.T) {
	ca, _ := NewCA("test")
	server, err := ca.LoopbackBundle("system:host:h1", "system:hosts")
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := server.Server(true)
	if err != nil {
		t.Fatal(err)
	}
	serverTLS.VerifyConnection = RequireGroup("system:apiservers")
	l, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if c.(*tls.Conn).Handshake() == nil {
					c.Write([]byte("ok"))
				}
			}()
		}
	}()
	attempt := func(cfg *tls.Config) error {
		c, err := tls.Dial("tcp", l.Addr().String(), cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 2)
		if _, err := c.Read(buf); err != nil {
			return err
		}
		return nil
	}
	client := func(b *Bundle) *tls.Config {
		cfg, err := b.Client()
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	apiserver, _ := ca.LoopbackBundle("system:apiserver:a", "system:apiservers")
	if err := attempt(client(apiserver)); err != nil {
		t.Fatalf("an API server certificate was refused: %v", err)
	}
	otherCA, _ := NewCA("other")
	forged, _ := otherCA.LoopbackBundle("system:apiserver:a", "system:apiservers")
	forgedClient := client(forged)
	forgedClient.RootCAs = ca.Pool() // trusts the server; presents a cert of another CA
	for name, cfg := range map[string]*tls.Config{
		"no client certificate":     client(&Bundle{CAPEM: ca.CertPEM}),
		"certificate of another CA": forgedClient,
		"host certificate":          client(mustBundle(t, ca, "system:host:h2", "system:hosts")),
	} {
		if err := attempt(cfg); err == nil {
			t.Errorf("%s: connection accepted", name)
		}
	}
	// Plaintext: the server answers with a TLS alert, never "ok".
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if string(buf[:n]) == "ok" || (n > 0 && buf[0] != 0x15) {
		t.Errorf("plaintext got %q, want a TLS alert or nothing", buf[:n])
	}
}

func mustBundle(t *testing.T, ca *CA, user string, groups ...string) *Bundle {
	t.Helper()
	b, err := ca.LoopbackBundle(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
