package netutil

import (
	"net"
	"strconv"
	"testing"
)

func TestStableLoopbackAddr(t *testing.T) {
	addr, err := StableLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("addr %q: %v", addr, err)
	}
	p, _ := strconv.Atoi(port)
	if p < lowestPort || p >= ephemeralLow() {
		t.Fatalf("port %d outside [%d, %d)", p, lowestPort, ephemeralLow())
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port is not free: %v", err)
	}
	l.Close()
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true,
		"10.0.0.1": false, "example.com": false, "localhost.example.com": false, "": false, "::": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
