package testutil

import (
	"testing"

	"github.com/openpacific/pacific/internal/netutil"
)

// UnusedLoopbackAddr returns 127.0.0.1:PORT for a process the test starts
// that must be told its address up front. The port lies below the kernel's
// ephemeral range, so outgoing connections and ":0" listeners of other
// tests running in parallel cannot take it between this check and the
// child's bind; only another test picking the same random port can.
func UnusedLoopbackAddr(t testing.TB) string {
	t.Helper()
	addr, err := netutil.StableLoopbackAddr()
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	return addr
}
