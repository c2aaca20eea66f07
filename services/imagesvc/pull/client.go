package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Defaults for Options.
const (
	DefaultMaxManifestBytes = 4 << 20
	DefaultMaxConfigBytes   = 8 << 20
	DefaultIdleTimeout      = 60 * time.Second
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// InsecureRegistries lists registries ("host" or "host:port") that may
	// be reached over plain HTTP in addition to loopback ones.
	InsecureRegistries []string
	// Transport is the base HTTP transport (default: a clone of
	// http.DefaultTransport with a response-header timeout).
	Transport http.RoundTripper
	// Platform selects the manifest from an index (default: the host's
	// runtime.GOOS/runtime.GOARCH).
	Platform v1.Platform
	// UserAgent is sent with every request.
	UserAgent string
	// Logger receives debug logs (default: slog.Default()).
	Logger *slog.Logger
	// MaxManifestBytes and MaxConfigBytes bound what is read into memory.
	MaxManifestBytes int64
	MaxConfigBytes   int64
	// IdleTimeout aborts a blob download that delivers no byte for this
	// long (the error is ErrUnreachable).
	IdleTimeout time.Duration
}

// Client talks to OCI / Docker v2 registries. It is safe for concurrent use.
type Client struct {
	opts   Options
	policy hostPolicy
	base   http.RoundTripper
	log    *slog.Logger
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.Platform.OS == "" {
		opts.Platform.OS = runtime.GOOS
	}
	if opts.Platform.Architecture == "" {
		opts.Platform.Architecture = runtime.GOARCH
	}
	if opts.MaxManifestBytes <= 0 {
		opts.MaxManifestBytes = DefaultMaxManifestBytes
	}
	if opts.MaxConfigBytes <= 0 {
		opts.MaxConfigBytes = DefaultMaxConfigBytes
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	base := opts.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 2 * time.Minute
		t.MaxIdleConnsPerHost = 16
		base = t
	}
	c := &Client{opts: opts, policy: newHostPolicy(opts.InsecureRegistries), log: opts.Logger}
	var rt http.RoundTripper = &policyTransport{policy: c.policy, inner: base}
	if opts.UserAgent != "" {
		rt = transport.NewUserAgent(rt, opts.UserAgent)
	}
	c.base = rt
	return c
}

// Platform is the platform this client selects from indexes.
func (c *Client) Platform() v1.Platform { return c.opts.Platform }

// ParseReference parses an image reference ("busybox", "127.0.0.1:5000/a/b:1",
// "repo@sha256:…"). Registries allowed over plain HTTP are marked insecure so
// that HTTP is tried after HTTPS fails.
func (c *Client) ParseReference(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrInvalidReference, s, err)
	}
	if c.policy.plainHTTPAllowed(ref.Context().RegistryStr()) {
		ref, err = name.ParseReference(s, name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrInvalidReference, s, err)
		}
	}
	return ref, nil
}

// Session is authenticated access to one repository.
type Session struct {
	c      *Client
	repo   name.Repository
	client *http.Client
	scheme string
}

// NewSession pings the registry, exchanges credentials from kc for a pull
// token when the registry asks for one, and returns a session for repo.
// A nil kc is anonymous.
func (c *Client) NewSession(ctx context.Context, repo name.Repository, kc authn.Keychain) (*Session, error) {
	auth := authn.Anonymous
	if kc != nil {
		a, err := kc.Resolve(repo)
		if err != nil {
			return nil, fmt.Errorf("%w: resolve credentials for %s: %v", ErrUnauthorized, repo, err)
		}
		auth = a
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, c.base, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, wrap(err, "connect to registry %s", repo.RegistryStr())
	}
	scheme := "https"
	if c.policy.plainHTTPAllowed(repo.RegistryStr()) {
		scheme = repo.Registry.Scheme()
	}
	return &Session{c: c, repo: repo, client: &http.Client{Transport: rt}, scheme: scheme}, nil
}

// Repository is the repository this session reads.
func (s *Session) Repository() name.Repository { return s.repo }

func (s *Session) url(kind, ref string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s/%s", s.scheme, s.repo.RegistryStr(), s.repo.RepositoryStr(), kind, ref)
}

// Manifest is a raw manifest or index as served by the registry.
type Manifest struct {
	Digest    v1.Hash
	MediaType types.MediaType
	Raw       []byte
}

var manifestAccept = strings.Join([]string{
	string(types.OCIManifestSchema1),
	string(types.DockerManifestSchema2),
	string(types.OCIImageIndex),
	string(types.DockerManifestList),
}, ", ")

// Manifest fetches the manifest (or index) named by ref, a tag or a digest.
// A manifest fetched by digest is verified against it.
func (s *Session) Manifest(ctx context.Context, ref string) (*Manifest, error) {
	var want *v1.Hash
	if strings.Contains(ref, ":") {
		h, err := v1.NewHash(ref)
		if err != nil {
			return nil, fmt.Errorf("%w: digest %q: %v", ErrInvalidReference, ref, err)
		}
		if h.Algorithm != "sha256" {
			return nil, fmt.Errorf("%w: digest algorithm %q", ErrUnsupported, h.Algorithm)
		}
		want = &h
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url("manifests", ref), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, wrap(err, "fetch manifest %s:%s", s.repo, ref)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, wrap(err, "fetch manifest %s:%s", s.repo, ref)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, s.c.opts.MaxManifestBytes+1))
	if err != nil {
		return nil, wrap(err, "read manifest %s:%s", s.repo, ref)
	}
	if int64(len(raw)) > s.c.opts.MaxManifestBytes {
		return nil, fmt.Errorf("%w: manifest %s:%s is larger than %d bytes", ErrUnsupported, s.repo, ref, s.c.opts.MaxManifestBytes)
	}
	got, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if want != nil && got != *want {
		return nil, fmt.Errorf("%w: manifest %s@%s: content hashes to %s", ErrDigestMismatch, s.repo, want, got)
	}
	if hdr := resp.Header.Get("Docker-Content-Digest"); hdr != "" && hdr != got.String() {
		s.c.log.DebugContext(ctx, "registry digest header differs from content", "repo", s.repo.String(), "ref", ref, "header", hdr, "content", got.String())
	}
	mt := sniffMediaType(raw, resp.Header.Get("Content-Type"))
	return &Manifest{Digest: got, MediaType: mt, Raw: raw}, nil
}

// sniffMediaType prefers the mediaType field of the document, then the
// Content-Type header, then the document's shape.
func sniffMediaType(raw []byte, contentType string) types.MediaType {
	var probe struct {
		MediaType     types.MediaType   `json:"mediaType"`
		SchemaVersion int               `json:"schemaVersion"`
		Manifests     []json.RawMessage `json:"manifests"`
		Layers        []json.RawMessage `json:"layers"`
		FSLayers      []json.RawMessage `json:"fsLayers"`
	}
	_ = json.Unmarshal(raw, &probe)
	if probe.MediaType != "" {
		return probe.MediaType
	}
	if ct, _, _ := strings.Cut(contentType, ";"); ct != "" && ct != "application/json" && ct != "application/octet-stream" {
		return types.MediaType(strings.TrimSpace(ct))
	}
	switch {
	case probe.Manifests != nil:
		return types.OCIImageIndex
	case probe.Layers != nil:
		return types.OCIManifestSchema1
	case probe.SchemaVersion == 1 || probe.FSLayers != nil:
		return types.DockerManifestSchema1
	}
	return types.MediaType(contentType)
}

// Resolved is a reference resolved to the image manifest for the client's
// platform.
type Resolved struct {
	Ref     name.Reference
	Session *Session
	// IndexDigest is the digest of the index the manifest was picked from
	// (nil when the reference named a manifest directly).
	IndexDigest *v1.Hash
	// Digest, MediaType and Raw describe the platform manifest.
	Digest    v1.Hash
	MediaType types.MediaType
	Raw       []byte
	Manifest  *v1.Manifest
}

// Resolve resolves ref to the manifest for the client's platform, walking
// an OCI index or Docker manifest list (nested ones too, up to a depth of 3).
func (c *Client) Resolve(ctx context.Context, ref name.Reference, kc authn.Keychain) (*Resolved, error) {
	sess, err := c.NewSession(ctx, ref.Context(), kc)
	if err != nil {
		return nil, err
	}
	return sess.Resolve(ctx, ref)
}

// Resolve is Client.Resolve on an existing session (ref must be in the
// session's repository).
func (s *Session) Resolve(ctx context.Context, ref name.Reference) (*Resolved, error) {
	m, err := s.Manifest(ctx, ref.Identifier())
	if err != nil {
		return nil, err
	}
	out := &Resolved{Ref: ref, Session: s}
	for depth := 0; ; depth++ {
		switch m.MediaType {
		case types.OCIImageIndex, types.DockerManifestList:
			if depth >= 3 {
				return nil, fmt.Errorf("%w: %s: indexes nested too deeply", ErrUnsupported, ref)
			}
			if out.IndexDigest == nil {
				d := m.Digest
				out.IndexDigest = &d
			}
			idx, err := v1.ParseIndexManifest(bytes.NewReader(m.Raw))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: parse index %s: %v", ErrUnsupported, ref, m.Digest, err)
			}
			desc, err := pickPlatform(idx, s.c.opts.Platform)
			if err != nil {
				return nil, fmt.Errorf("%s (index %s): %w", ref, m.Digest, err)
			}
			child, err := s.Manifest(ctx, desc.Digest.String())
			if err != nil {
				return nil, err
			}
			if desc.Size > 0 && int64(len(child.Raw)) != desc.Size {
				return nil, fmt.Errorf("%w: manifest %s is %d bytes, index says %d", ErrDigestMismatch, desc.Digest, len(child.Raw), desc.Size)
			}
			m = child
		case types.OCIManifestSchema1, types.DockerManifestSchema2:
			mf, err := v1.ParseManifest(bytes.NewReader(m.Raw))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: parse manifest %s: %v", ErrUnsupported, ref, m.Digest, err)
			}
			if err := checkManifest(mf); err != nil {
				return nil, fmt.Errorf("%s: manifest %s: %w", ref, m.Digest, err)
			}
			out.Digest, out.MediaType, out.Raw, out.Manifest = m.Digest, m.MediaType, m.Raw, mf
			return out, nil
		case types.DockerManifestSchema1, types.DockerManifestSchema1Signed:
			return nil, fmt.Errorf("%w: %s: Docker schema 1 manifests are not supported", ErrUnsupported, ref)
		default:
			return nil, fmt.Errorf("%w: %s: manifest media type %q", ErrUnsupported, ref, m.MediaType)
		}
	}
}

func checkManifest(m *v1.Manifest) error {
	if m.Config.Digest.Algorithm != "sha256" {
		return fmt.Errorf("%w: config digest %q", ErrUnsupported, m.Config.Digest)
	}
	for i, l := range m.Layers {
		if l.Digest.Algorithm != "sha256" {
			return fmt.Errorf("%w: layer %d digest %q", ErrUnsupported, i, l.Digest)
		}
		if l.Size < 0 {
			return fmt.Errorf("%w: layer %d has negative size", ErrUnsupported, i)
		}
	}
	return nil
}

// pickPlatform chooses the index entry for want: same OS and architecture;
// among those, an exact variant match beats an unspecified variant, which
// beats any other variant.
func pickPlatform(idx *v1.IndexManifest, want v1.Platform) (*v1.Descriptor, error) {
	best, bestScore := -1, 0
	var seen []string
	for i, d := range idx.Manifests {
		if d.Platform == nil {
			continue
		}
		p := d.Platform
		seen = append(seen, p.String())
		if p.OS != want.OS || p.Architecture != want.Architecture {
			continue
		}
		switch d.MediaType {
		case types.OCIManifestSchema1, types.DockerManifestSchema2, types.OCIImageIndex, types.DockerManifestList, "":
		default:
			continue
		}
		score := 1
		switch {
		case p.Variant == want.Variant:
			score = 3
		case p.Variant == "" || want.Variant == "":
			score = 2
		}
		if want.Variant != "" && p.Variant != "" && p.Variant != want.Variant {
			continue
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return nil, fmt.Errorf("%w: no manifest for platform %s (index has: %s)", ErrUnsupported, want.String(), strings.Join(seen, ", "))
	}
	return &idx.Manifests[best], nil
}

// Config fetches and verifies the image config blob.
func (s *Session) Config(ctx context.Context, desc v1.Descriptor) (*v1.ConfigFile, []byte, error) {
	if desc.Size > s.c.opts.MaxConfigBytes {
		return nil, nil, fmt.Errorf("%w: config %s is %d bytes (limit %d)", ErrUnsupported, desc.Digest, desc.Size, s.c.opts.MaxConfigBytes)
	}
	rc, err := s.Blob(ctx, desc.Digest)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, desc.Size+1))
	if err != nil {
		return nil, nil, wrap(err, "read config %s", desc.Digest)
	}
	got, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	if got != desc.Digest || int64(len(raw)) != desc.Size {
		return nil, nil, fmt.Errorf("%w: config %s: got %d bytes hashing to %s, want %d bytes", ErrDigestMismatch, desc.Digest, len(raw), got, desc.Size)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: parse config %s: %v", ErrUnsupported, desc.Digest, err)
	}
	return cfg, raw, nil
}

// errStalled is the cause set when a blob download goes idle.
var errStalled = errors.New("download stalled")

// Blob opens the blob d. The caller must verify what it reads (its digest
// and size) and close the reader. Reads that stall for longer than
// Options.IdleTimeout fail with ErrUnreachable; a body cut short fails with
// ErrUnreachable too.
func (s *Session) Blob(ctx context.Context, d v1.Hash) (io.ReadCloser, error) {
	if d.Algorithm != "sha256" {
		return nil, fmt.Errorf("%w: digest algorithm %q", ErrUnsupported, d.Algorithm)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, s.url("blobs", d.String()), nil)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		cancel(nil)
		return nil, wrap(err, "fetch blob %s@%s", s.repo, d)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		cancel(nil)
		return nil, wrap(err, "fetch blob %s@%s", s.repo, d)
	}
	b := &blobReader{ctx: rctx, cancel: cancel, body: resp.Body, digest: d}
	b.timer = time.AfterFunc(s.c.opts.IdleTimeout, func() { cancel(errStalled) })
	b.idle = s.c.opts.IdleTimeout
	return b, nil
}

type blobReader struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	body   io.ReadCloser
	digest v1.Hash
	idle   time.Duration
	timer  *time.Timer
	once   sync.Once
}

func (b *blobReader) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF {
		if errors.Is(context.Cause(b.ctx), errStalled) {
			return n, fmt.Errorf("%w: blob %s: no data for %s", ErrUnreachable, b.digest, b.idle)
		}
		return n, wrap(err, "read blob %s", b.digest)
	}
	return n, err
}

func (b *blobReader) Close() error {
	b.once.Do(func() {
		b.timer.Stop()
		b.cancel(nil)
	})
	return b.body.Close()
}
