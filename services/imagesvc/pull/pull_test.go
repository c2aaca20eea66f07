package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestPlainHTTPPolicy(t *testing.T) {
	p := newHostPolicy([]string{"registry.lab:5000", "HTTP://Mirror.Lab/"})
	for host, want := range map[string]bool{
		"127.0.0.1:5000":       true,
		"127.0.0.2":            true,
		"127.255.0.9:80":       true,
		"[::1]:5000":           true,
		"localhost":            true,
		"LOCALHOST:5000":       true,
		"registry.lab:5000":    true,
		"registry.lab:5001":    false,
		"registry.lab":         false,
		"mirror.lab":           true,
		"mirror.lab:8080":      true,
		"10.0.0.5:5000":        false,
		"192.168.1.10":         false,
		"172.16.0.1:443":       false,
		"evil.localhost:5000":  false,
		"localhost.evil.com":   false,
		"docker.io":            false,
		"[::ffff:127.0.0.1]:1": true,
	} {
		if got := p.plainHTTPAllowed(host); got != want {
			t.Errorf("plainHTTPAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

// recorder is a transport that records requests and never touches the
// network.
type recorder struct {
	mu   sync.Mutex
	urls []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.Scheme+"://"+req.URL.Host)
	r.mu.Unlock()
	return nil, fmt.Errorf("stub transport: no network in this test")
}

func TestPrivateAddressesGetHTTPSOnly(t *testing.T) {
	// go-containerregistry would try plain HTTP for RFC 1918 addresses;
	// the policy transport must stop that before anything is sent.
	rec := &recorder{}
	c := New(Options{Transport: rec})
	ref, err := c.ParseReference("10.1.2.3:5000/app:1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Resolve(context.Background(), ref, nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if len(rec.urls) == 0 {
		t.Fatal("no request reached the transport")
	}
	for _, u := range rec.urls {
		if !strings.HasPrefix(u, "https://") {
			t.Errorf("plain HTTP request sent: %s", u)
		}
	}

	// Listed as insecure: plain HTTP is tried too.
	rec = &recorder{}
	c = New(Options{Transport: rec, InsecureRegistries: []string{"10.1.2.3:5000"}})
	ref, _ = c.ParseReference("10.1.2.3:5000/app:1")
	_, _ = c.Resolve(context.Background(), ref, nil)
	sawHTTP := false
	for _, u := range rec.urls {
		sawHTTP = sawHTTP || strings.HasPrefix(u, "http://")
	}
	if !sawHTTP {
		t.Errorf("insecure registry never tried over HTTP: %q", rec.urls)
	}

	// The transport itself refuses, e.g. a redirect to plain-HTTP storage.
	pt := &policyTransport{policy: newHostPolicy(nil), inner: &recorder{}}
	req, _ := http.NewRequest(http.MethodGet, "http://storage.example.com/blob", nil)
	if _, err := pt.RoundTrip(req); !errors.Is(err, errPlainHTTP) || Classify(err) != ErrUnreachable {
		t.Errorf("plain HTTP to storage: %v", err)
	}
}

func TestKeychain(t *testing.T) {
	kc, err := KeychainFromDockerConfigs(
		[]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOmh1YnBhc3M="},"reg.example.com":{"username":"u1","password":"p1"},"reg.example.com/team":{"username":"team","password":"tp"}}}`),
		[]byte(`{"reg.example.com":{"username":"second","password":"x"},"legacy.example.com:5000":{"auth":"bGVnOmFjeQ=="}}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"busybox":                      "hub:hubpass",
		"docker.io/library/busybox":    "hub:hubpass",
		"reg.example.com/app:1":        "u1:p1",
		"reg.example.com/team/app:1":   "team:tp",
		"reg.example.com/teamster/app": "u1:p1",
		"legacy.example.com:5000/x@sha256:" + strings.Repeat("a", 64): "leg:acy",
		"legacy.example.com/x":  "",
		"other.example.com/app": "",
	} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(r.Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if cfg.Username != "" {
			got = cfg.Username + ":" + cfg.Password
		}
		if got != want {
			t.Errorf("%s: credentials %q, want %q", ref, got, want)
		}
	}
	for _, bad := range []string{`{`, `{"auths":{"x":{"auth":"%%%"}}}`, `{"auths":{"x":{"auth":"bm9jb2xvbg=="}}}`, `{"auths":[]}`} {
		if _, err := KeychainFromDockerConfigs([]byte(bad)); !errors.Is(err, ErrInvalidPullSecret) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
	var nilKC *Keychain
	if a, _ := nilKC.Resolve(name.MustParseReference("x").Context()); a != authn.Anonymous {
		t.Error("nil keychain is not anonymous")
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&transport.Error{StatusCode: 404, Errors: []transport.Diagnostic{{Code: transport.ManifestUnknownErrorCode}}}, ErrNotFound},
		{&transport.Error{StatusCode: 404}, ErrNotFound},
		{&transport.Error{StatusCode: 401, Errors: []transport.Diagnostic{{Code: transport.UnauthorizedErrorCode}}}, ErrUnauthorized},
		{&transport.Error{StatusCode: 403}, ErrUnauthorized},
		{&transport.Error{StatusCode: 429, Errors: []transport.Diagnostic{{Code: transport.TooManyRequestsErrorCode}}}, ErrUnreachable},
		{&transport.Error{StatusCode: 503}, ErrUnreachable},
		{&transport.Error{StatusCode: 400}, nil},
		{fmt.Errorf("x: %w", io.ErrUnexpectedEOF), ErrUnreachable},
		{context.Canceled, nil},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestManifestDigestVerified(t *testing.T) {
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			rec := httptest.NewRecorder()
			inner.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			body = append(body, ' ') // still valid JSON, different digest
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.ParseReference(host + "/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	c := New(Options{})
	ref, _ := c.ParseReference(host + "/app@" + d.String())
	_, err = c.Resolve(context.Background(), ref, nil)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("err = %v, want ErrDigestMismatch", err)
	}
	// By tag the content defines the digest.
	ref, _ = c.ParseReference(host + "/app:1")
	res, err := c.Resolve(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != d || res.IndexDigest != nil || len(res.Manifest.Layers) != 1 {
		t.Errorf("resolved %+v", res)
	}
	cfg, _, err := res.Session.Config(context.Background(), res.Manifest.Config)
	if err != nil || len(cfg.RootFS.DiffIDs) != 1 {
		t.Errorf("config: %v", err)
	}
	// A config descriptor with the wrong size is caught.
	bad := res.Manifest.Config
	bad.Size++
	if _, _, err := res.Session.Config(context.Background(), bad); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("config size mismatch: %v", err)
	}
}
