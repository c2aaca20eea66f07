package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
)

// UnusedLoopbackAddr returns 127.0.0.1:PORT for a process the test starts
// that must be told its address up front. The port lies below the kernel's
// ephemeral range, so outgoing connections and ":0" listeners of other
// tests running in parallel cannot take it between this check and the
// child's bind; only another test picking the same random port can.
func UnusedLoopbackAddr(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	const floor = 10000
	for range 100 {
		port := floor + rand.IntN(low-floor)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	t.Fatalf("testutil: no unused loopback port below %d", low)
	return ""
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default 32768 when unknown).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var lo, hi int
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &lo, &hi); err == nil && lo > 11000 {
			low = lo
		}
	}
	return low
}
