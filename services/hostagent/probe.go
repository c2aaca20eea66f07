package hostagent

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// probeKind is which of a container's probes a loop runs.
type probeKind string

const (
	probeStartup   probeKind = "Startup"
	probeLiveness  probeKind = "Liveness"
	probeReadiness probeKind = "Readiness"
)

// maxProbeOutput bounds what a probe's output contributes to messages.
const maxProbeOutput = 1024

// prober runs the probes of one container run, from when it starts until
// stop. Results change the container's status (started, ready) or get it
// restarted (liveness or startup failure); every change enqueues the pod.
type prober struct {
	ctrID  string
	cancel context.CancelFunc
	// startedCh is closed once the startup probe succeeded (at once if the
	// container has none).
	startedCh chan struct{}

	mu      sync.Mutex
	started bool
	ready   bool
	// failed is set when liveness or startup failed for good; message says
	// why.
	failed  probeKind
	message string
}

// results returns the prober's view.
func (p *prober) results() (started, ready bool, failed probeKind, message string) {
	if p == nil {
		return true, true, "", ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started, p.ready, p.failed, p.message
}

func (p *prober) stop() { p.cancel() }

// probeTarget is what probes act on.
type probeTarget struct {
	key   controller.Request
	ref   *corev1.ObjectReference
	ctrID string
	// netns is the pod's network namespace path ("" = the host's).
	netns string
}

// startProber starts c's probe loops for run t.ctrID. prev is the status
// the pod reported for the container: when it is about this same run (the
// agent restarted), its started and ready results are kept until the
// probes say otherwise, so re-adoption does not flap the pod's readiness.
func (a *Agent) startProber(c *corev1.Container, t probeTarget, prev *corev1.ContainerStatus) *prober {
	ctx, cancel := context.WithCancel(a.bg)
	p := &prober{ctrID: t.ctrID, cancel: cancel, startedCh: make(chan struct{})}
	sameRun := prev != nil && prev.GetContainerId() == a.rt.Name()+"://"+t.ctrID && prev.GetState().GetRunning() != nil
	if c.GetStartupProbe() == nil || sameRun && prev.GetStarted() {
		p.started = true
		close(p.startedCh)
	}
	if c.GetReadinessProbe() == nil || sameRun && prev.GetReady() {
		p.ready = true
	}
	for _, pr := range []struct {
		kind  probeKind
		probe *corev1.Probe
	}{{probeStartup, c.GetStartupProbe()}, {probeLiveness, c.GetLivenessProbe()}, {probeReadiness, c.GetReadinessProbe()}} {
		if pr.probe == nil {
			continue
		}
		a.goBG(func(context.Context) { a.probeLoop(ctx, p, t, pr.kind, pr.probe) })
	}
	return p
}

// probeLoop runs one probe every period until it is decided (startup), the
// container must be restarted (liveness), or ctx ends.
func (a *Agent) probeLoop(ctx context.Context, p *prober, t probeTarget, kind probeKind, pr *corev1.Probe) {
	if kind != probeStartup {
		select {
		case <-p.startedCh:
		case <-ctx.Done():
			return
		}
	}
	if !sleepCtx(ctx, time.Duration(pr.GetInitialDelaySeconds())*time.Second) {
		return
	}
	period := time.Duration(max(pr.GetPeriodSeconds(), 1)) * time.Second
	timeout := time.Duration(max(pr.GetTimeoutSeconds(), 1)) * time.Second
	successes, failures := 0, 0
	for {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		ok, msg := a.runProbe(pctx, t, pr)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if ok {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
			a.recorder.ReferenceEventf(t.ref, apis.EventWarning, ReasonUnhealthy, "%s probe failed: %s", kind, msg)
		}
		if done := p.observe(kind, pr, successes, failures, msg); done {
			a.kicks.kick(t.key)
			if kind != probeReadiness {
				return
			}
		}
		if !sleepCtx(ctx, period) {
			return
		}
	}
}

// observe records a probe result; it reports whether the prober's state
// changed (then the pod is enqueued).
func (p *prober) observe(kind probeKind, pr *corev1.Probe, successes, failures int, msg string) bool {
	success := max(int(pr.GetSuccessThreshold()), 1)
	failure := max(int(pr.GetFailureThreshold()), 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch kind {
	case probeStartup:
		if successes >= 1 && !p.started {
			p.started = true
			close(p.startedCh)
			return true
		}
		if failures >= failure && p.failed == "" {
			p.failed, p.message = kind, msg
			return true
		}
	case probeLiveness:
		if failures >= failure && p.failed == "" {
			p.failed, p.message = kind, msg
			return true
		}
	case probeReadiness:
		if successes >= success && !p.ready {
			p.ready = true
			return true
		}
		if failures >= failure && p.ready {
			p.ready = false
			return true
		}
	}
	return false
}

// runProbe runs one check; ok is success, msg says why not.
func (a *Agent) runProbe(ctx context.Context, t probeTarget, pr *corev1.Probe) (ok bool, msg string) {
	switch {
	case pr.GetExec() != nil:
		return a.execProbe(ctx, t, pr.GetExec().GetCommand())
	case pr.GetHttpGet() != nil:
		return httpProbe(ctx, t.netns, pr.GetHttpGet())
	case pr.GetTcpSocket() != nil:
		return tcpProbe(ctx, t.netns, int(pr.GetTcpSocket().GetPort()))
	}
	return false, "probe has no action"
}

func (a *Agent) execProbe(ctx context.Context, t probeTarget, cmd []string) (bool, string) {
	if len(cmd) == 0 {
		return false, "exec probe has no command"
	}
	var out limitedBuffer
	proc, err := a.rt.Exec(ctx, t.ctrID, runtime.ExecSpec{Args: cmd, Stdout: &out, Stderr: &out})
	if err != nil {
		return false, fmt.Sprintf("exec %q: %v", cmd, err)
	}
	code, err := proc.Wait(ctx)
	switch {
	case ctx.Err() != nil:
		return false, fmt.Sprintf("command %q timed out", cmd)
	case err != nil:
		return false, fmt.Sprintf("exec %q: %v", cmd, err)
	case code != 0:
		return false, fmt.Sprintf("command %q exited with %d: %s", cmd, code, strings.TrimSpace(out.String()))
	}
	return true, ""
}

// httpProbe GETs the path on 127.0.0.1 inside the pod's network namespace;
// 200–399 is success (redirects are not followed).
func httpProbe(ctx context.Context, netns string, h *corev1.HTTPGetAction) (bool, string) {
	scheme := strings.ToLower(h.GetScheme())
	if scheme == "" {
		scheme = "http"
	}
	if scheme != "http" && scheme != "https" {
		return false, fmt.Sprintf("unsupported scheme %q", h.GetScheme())
	}
	path := h.GetPath()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(h.GetPort())))
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialInNetns(ctx, netns, network, addr)
		},
		// Like the kubelet: probes do not verify certificates.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probe, not a client
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+path, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "pacific-probe/1.0")
	for _, hh := range h.GetHttpHeaders() {
		req.Header.Set(hh.GetName(), hh.GetValue())
	}
	resp, err := cl.Do(req)
	if err != nil {
		return false, fmt.Sprintf("Get %q: %v", req.URL.String(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProbeOutput))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
}

func unwrapURLError(err error) error {
	if ue, ok := err.(interface{ Unwrap() error }); ok && ue.Unwrap() != nil {
		return ue.Unwrap()
	}
	return err
}

// tcpProbe connects to 127.0.0.1:port inside the pod's network namespace.
func tcpProbe(ctx context.Context, netns string, port int) (bool, string) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conn, err := dialInNetns(ctx, netns, "tcp", addr)
	if err != nil {
		return false, fmt.Sprintf("dial tcp %s: %v", addr, err)
	}
	conn.Close()
	return true, ""
}

// limitedBuffer keeps the first maxProbeOutput bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxProbeOutput - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
