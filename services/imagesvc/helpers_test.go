package imagesvc

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openpacific/pacific/internal/testutil"
)

// testRegistry is go-containerregistry's in-memory registry on 127.0.0.1,
// behind a handler that counts requests and can corrupt blobs, stall them
// or demand basic auth.
type testRegistry struct {
	t    testing.TB
	srv  *httptest.Server
	host string

	mu       sync.Mutex
	requests map[string]int // "GET /v2/.../blobs/sha256:..." -> count
	corrupt  map[string]int // blob digest -> responses left to corrupt (-1: always)
	gates    map[string]chan struct{}
	user     string
	pass     string
}

func newTestRegistry(t testing.TB) *testRegistry {
	t.Helper()
	r := &testRegistry{t: t, requests: map[string]int{}, corrupt: map[string]int{}, gates: map[string]chan struct{}{}}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.serve(inner, w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

func (r *testRegistry) serve(inner http.Handler, w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests[req.Method+" "+req.URL.Path]++
	user, pass := r.user, r.pass
	digest := ""
	if i := strings.Index(req.URL.Path, "/blobs/sha256:"); i >= 0 && req.Method == http.MethodGet {
		digest = req.URL.Path[i+len("/blobs/"):]
	}
	corrupt := false
	if n, ok := r.corrupt[digest]; ok && n != 0 {
		corrupt = true
		if n > 0 {
			r.corrupt[digest] = n - 1
		}
	}
	gate := r.gates[digest]
	r.mu.Unlock()

	// The test pushes with credentials too; only pulls are interesting.
	if user != "" {
		u, p, ok := req.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required (test registry)"}]}`)
			return
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-req.Context().Done():
			return
		}
	}
	if !corrupt {
		inner.ServeHTTP(w, req)
		return
	}
	rec := httptest.NewRecorder()
	inner.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if len(body) > 0 {
		body[len(body)/2] ^= 0xff // same length, wrong content
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

func (r *testRegistry) count(method, pathSuffix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, v := range r.requests {
		if strings.HasPrefix(k, method+" ") && strings.HasSuffix(k, pathSuffix) {
			n += v
		}
	}
	return n
}

func (r *testRegistry) blobGets(d v1.Hash) int { return r.count(http.MethodGet, "/blobs/"+d.String()) }

func (r *testRegistry) setCorrupt(d v1.Hash, times int) {
	r.mu.Lock()
	r.corrupt[d.String()] = times
	r.mu.Unlock()
}

// gate makes GETs of blob d wait until the returned function is called.
func (r *testRegistry) gate(d v1.Hash) (open func()) {
	ch := make(chan struct{})
	r.mu.Lock()
	r.gates[d.String()] = ch
	r.mu.Unlock()
	var once sync.Once
	open = func() { once.Do(func() { close(ch) }) }
	r.t.Cleanup(open)
	return open
}

func (r *testRegistry) requireAuth(user, pass string) {
	r.mu.Lock()
	r.user, r.pass = user, pass
	r.mu.Unlock()
}

func (r *testRegistry) ref(repoTag string) string { return r.host + "/" + repoTag }

func (r *testRegistry) push(img v1.Image, repoTag string) string {
	r.t.Helper()
	ref, err := name.ParseReference(r.ref(repoTag))
	if err != nil {
		r.t.Fatal(err)
	}
	var opts []remote.Option
	if r.user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.user, Password: r.pass}))
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		r.t.Fatalf("push %s: %v", repoTag, err)
	}
	return ref.String()
}

func (r *testRegistry) pushIndex(idx v1.ImageIndex, repoTag string) string {
	r.t.Helper()
	ref, err := name.ParseReference(r.ref(repoTag))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		r.t.Fatalf("push index %s: %v", repoTag, err)
	}
	return ref.String()
}

func dockerConfig(host, user, pass string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth))
}

// tf is one tar entry for layer building.
type tf struct {
	name string
	typ  byte
	body string
	link string
	mode int64
}

func tarBytes(t testing.TB, entries ...tf) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: mode, ModTime: time.Unix(1600000000, 0)}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layerFrom(t testing.TB, data []byte, opts ...tarball.LayerOption) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t testing.TB, platform v1.Platform, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = platform.OS, platform.Architecture, platform.Variant
	cfg.Config.Cmd = []string{"/bin/sh"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func diffIDOf(t testing.TB, l v1.Layer) v1.Hash {
	t.Helper()
	h, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// logBuffer collects the service's logs and prints them if the test fails
// (a logger writing to t after the test ends would panic).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func testLogger(t testing.TB) (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", lb.String())
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// fakeClock advances one second per reading, so that LRU order is the
// order of use.
type fakeClock struct{ n atomic.Int64 }

func (c *fakeClock) now() time.Time {
	return time.Unix(1700000000, 0).Add(time.Duration(c.n.Add(1)) * time.Second)
}

func newService(t testing.TB, mutate func(*Options)) (*Service, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "cache")
	logger, _ := testLogger(t)
	clock := &fakeClock{}
	opts := Options{
		Root:         root,
		Logger:       logger,
		Platform:     amd64,
		PullAttempts: 3,
		RetryDelay:   time.Millisecond,
		Now:          clock.now,
	}
	if mutate != nil {
		mutate(&opts)
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, root
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, what, func() (bool, string) { return cond(), "" })
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root, and CI runs as root")
	}
	t.Skip("needs root")
}

// listTree lists paths below dir with a type letter.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		kind := "f"
		switch m := info.Mode(); {
		case m.IsDir():
			kind = "d"
		case m&os.ModeSymlink != 0:
			kind = "l"
		case m&os.ModeCharDevice != 0:
			kind = "c"
		}
		out = append(out, kind+" "+rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
