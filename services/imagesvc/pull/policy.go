package pull

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/openpacific/pacific/internal/netutil"
)

// errPlainHTTP is returned by the transport for a plain-HTTP request to a
// host that may only be reached over HTTPS.
var errPlainHTTP = errors.New("plain HTTP refused")

// hostPolicy decides which registries may be reached over plain HTTP.
type hostPolicy struct {
	insecure map[string]bool // "host:port" or "host" (any port), lower case
}

func newHostPolicy(insecure []string) hostPolicy {
	p := hostPolicy{insecure: make(map[string]bool, len(insecure))}
	for _, h := range insecure {
		h = strings.ToLower(strings.TrimSpace(h))
		h = strings.TrimPrefix(strings.TrimPrefix(h, "http://"), "https://")
		h = strings.TrimSuffix(h, "/")
		if h != "" {
			p.insecure[h] = true
		}
	}
	return p
}

// plainHTTPAllowed reports whether hostport ("host", "host:port",
// "[::1]:port") may be reached over plain HTTP.
func (p hostPolicy) plainHTTPAllowed(hostport string) bool {
	hostport = strings.ToLower(hostport)
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if netutil.IsLoopback(host) {
		return true
	}
	return p.insecure[hostport] || p.insecure[host]
}

// policyTransport refuses plain-HTTP requests to hosts the policy does not
// allow. It sits under go-containerregistry's auth transports, so it sees
// every request: pings, token exchanges, manifests, blobs and redirects.
type policyTransport struct {
	policy hostPolicy
	inner  http.RoundTripper
}

func (t *policyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.policy.plainHTTPAllowed(req.URL.Host) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s is neither a loopback registry nor listed as insecure; only HTTPS is allowed", errPlainHTTP, req.URL.Host)
	}
	return t.inner.RoundTrip(req)
}
