package netutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
)

// lowestPort is where StableLoopbackAddr starts looking.
const lowestPort = 10000

// StableLoopbackAddr returns 127.0.0.1:PORT for a port that is free now and
// lies below the kernel's ephemeral range, so that no outgoing connection
// (nor a ":0" listener) can be given it later: for an address that is
// chosen once and must still be free at the next start (dev mode's Raft
// port), or that a child process is told before it binds (tests).
func StableLoopbackAddr() (string, error) {
	high := ephemeralLow()
	for range 100 {
		port := lowestPort + rand.IntN(high-lowestPort)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		l.Close()
		return addr, nil
	}
	return "", fmt.Errorf("no free loopback port between %d and %d", lowestPort, high)
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default 32768 when it cannot be read).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var lo, hi int
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &lo, &hi); err == nil && lo > lowestPort+1000 {
			low = lo
		}
	}
	return low
}

// IsLoopback reports whether host (without port) is a loopback name or
// address: "localhost", 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
