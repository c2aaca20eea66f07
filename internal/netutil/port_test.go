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
