package runc

import (
	"strings"
	"testing"
)

// Docker's 14 default capabilities as a /proc/self/status mask.
const defaultCapMask = "00000000a80425fb"

// TestHardenedInside checks from inside a container that the defaults are in
// force, and that busybox tools still work under the seccomp profile.
func TestHardenedInside(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	script := `grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status
if mount -t tmpfs none /tmp 2>/dev/null; then echo mount-allowed; else echo mount-denied; fi
if cat /proc/kcore >/dev/null 2>&1 && [ -s /proc/kcore ]; then echo kcore-readable; else echo kcore-masked; fi
if echo 1 > /proc/sys/kernel/panic 2>/dev/null; then echo procsys-writable; else echo procsys-readonly; fi
echo hi > /tmp/f && cat /tmp/f && ls / >/dev/null && id -u && sleep 0.01 && echo tools-ok`
	e.run(e.spec("h", "sh", "-c", script))
	if st := e.wait("h"); st.ExitCode != 0 {
		t.Fatalf("exit %+v; log %q", st, e.logs(logOpts("h")))
	}
	out := strings.Join(e.logs(logOpts("h")), "\n")
	for _, want := range []string{
		"CapInh:\t0000000000000000", "CapPrm:\t" + defaultCapMask, "CapEff:\t" + defaultCapMask,
		"CapBnd:\t" + defaultCapMask, "CapAmb:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2",
		"mount-denied", "kcore-masked", "procsys-readonly", "stdout hi", "stdout 0", "tools-ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
