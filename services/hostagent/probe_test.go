package hostagent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Thresholds: startup decides once, liveness fails for good after
// failureThreshold, readiness flips both ways after its thresholds.
func TestProberObserve(t *testing.T) {
	pr := &corev1.Probe{SuccessThreshold: 2, FailureThreshold: 3}
	type step struct {
		successes, failures int
		wantChange          bool
	}
	for _, tc := range []struct {
		name  string
		kind  probeKind
		steps []step
		check func(p *prober) string
	}{
		{"readiness needs successThreshold", probeReadiness, []step{{1, 0, false}, {2, 0, true}, {3, 0, false}},
			func(p *prober) string { return want(p.ready, true, "ready") }},
		{"readiness drops after failureThreshold", probeReadiness, []step{{2, 0, true}, {0, 1, false}, {0, 2, false}, {0, 3, true}, {0, 4, false}},
			func(p *prober) string { return want(p.ready, false, "ready") }},
		{"liveness fails once", probeLiveness, []step{{0, 2, false}, {0, 3, true}, {0, 4, false}},
			func(p *prober) string { return want(p.failed == probeLiveness, true, "failed") }},
		{"liveness recovers below threshold", probeLiveness, []step{{0, 2, false}, {1, 0, false}, {0, 2, false}},
			func(p *prober) string { return want(p.failed == "", true, "not failed") }},
		{"startup succeeds on one success", probeStartup, []step{{0, 1, false}, {1, 0, true}, {2, 0, false}},
			func(p *prober) string { return want(p.started, true, "started") }},
		{"startup fails", probeStartup, []step{{0, 3, true}},
			func(p *prober) string { return want(p.failed == probeStartup && !p.started, true, "startup failed") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &prober{startedCh: make(chan struct{})}
			for i, s := range tc.steps {
				if got := p.observe(tc.kind, pr, s.successes, s.failures, "msg"); got != s.wantChange {
					t.Errorf("step %d (%d ok, %d failed): changed = %v, want %v", i, s.successes, s.failures, got, s.wantChange)
				}
			}
			if msg := tc.check(p); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func want(got, w bool, what string) string {
	if got != w {
		return what + " = " + strconv.FormatBool(got) + ", want " + strconv.FormatBool(w)
	}
	return ""
}

// With no pod network namespace the probes reach the host's loopback (the
// pod case is covered by the runc integration tests).
func TestHTTPAndTCPProbes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("X-Probe") != "yes" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusOK)
		case "/redirect":
			http.Redirect(w, r, "http://example.invalid/", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not yet"))
		}
	}))
	defer srv.Close()
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	ctx := context.Background()
	for _, tc := range []struct {
		path string
		ok   bool
		msg  string
	}{
		{"/ok", true, ""},
		{"ok", true, ""},
		{"/redirect", true, ""}, // 3xx is success and is not followed
		{"/down", false, "statuscode: 503: not yet"},
	} {
		ok, msg := httpProbe(ctx, "", &corev1.HTTPGetAction{Path: tc.path, Port: int32(port), HttpHeaders: []*corev1.HTTPHeader{{Name: "X-Probe", Value: "yes"}}})
		if ok != tc.ok || !strings.Contains(msg, tc.msg) {
			t.Errorf("GET %s: %v %q, want %v %q", tc.path, ok, msg, tc.ok, tc.msg)
		}
	}
	if ok, msg := tcpProbe(ctx, "", port); !ok {
		t.Errorf("tcp probe of a listening port: %s", msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if ok, _ := tcpProbe(ctx, "", closedPort); ok {
		t.Errorf("tcp probe of a closed port succeeded")
	}
	if ok, msg := httpProbe(ctx, "", &corev1.HTTPGetAction{Port: int32(closedPort)}); ok || !strings.Contains(msg, "refused") {
		t.Errorf("http probe of a closed port: %v %q", ok, msg)
	}
}
