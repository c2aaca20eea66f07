package main

import (
	"context"
	"net"
	"net/url"
	"testing"
)

// TestDevSTS: dev's STS simulator listens on loopback only and yields the
// certificate its assertions are signed with (the pacctl test
// TestLoginSSOFromSTS shows a server trusting it verifies the signature).
func TestDevSTS(t *testing.T) {
	d, err := startDevSTS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	u, err := url.Parse(d.url)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Fatalf("STS simulator URL %s is not on loopback", d.url)
	}
	if d.cert == nil || len(d.cert.Raw) == 0 {
		t.Fatal("no signing certificate learned")
	}
}
