package imagesvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openpacific/pacific/services/imagesvc/cache"
	"github.com/openpacific/pacific/services/imagesvc/pull"
)

// Defaults for Options.
const (
	DefaultMaxLayerBytes       = 32 << 30
	DefaultMaxLayerFiles       = 2_000_000
	DefaultMaxConcurrentLayers = 3
	DefaultPullAttempts        = 4
	DefaultRetryDelay          = 500 * time.Millisecond
	DefaultMaxRetryDelay       = 10 * time.Second
)

// MountMode chooses how root filesystems are assembled.
type MountMode string

const (
	// MountAuto: overlayfs when running as root with overlayfs available,
	// else the copy fallback.
	MountAuto MountMode = ""
	// MountOverlay: overlayfs only.
	MountOverlay MountMode = "overlay"
	// MountCopy: copy the layers into the target (no overlayfs).
	MountCopy MountMode = "copy"
)

// Options configure a Service.
type Options struct {
	// Root is the cache directory (absolute). Required.
	Root string
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// DiskBudget bounds the cache in bytes (0: unbounded).
	DiskBudget int64
	// InsecureRegistries may be reached over plain HTTP, besides loopback
	// registries ("host" or "host:port").
	InsecureRegistries []string
	// Transport is the base HTTP transport (tests; default: a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
	// Platform to pick from indexes (default: the host's).
	Platform v1.Platform
	// MaxLayerBytes and MaxLayerFiles bound one unpacked layer.
	MaxLayerBytes int64
	MaxLayerFiles int64
	// MaxConcurrentLayers bounds parallel layer downloads per image.
	MaxConcurrentLayers int
	// PullAttempts bounds attempts for each registry operation that can be
	// retried (unreachable registry, digest mismatch).
	PullAttempts int
	// RetryDelay is the first backoff delay; it doubles up to MaxRetryDelay.
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// KeepBlobs keeps compressed layer blobs under <Root>/blobs.
	KeepBlobs bool
	// MountMode (default MountAuto).
	MountMode MountMode
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the image service. It is safe for concurrent use.
type Service struct {
	opts   Options
	log    *slog.Logger
	store  *cache.Store
	client *pull.Client
	root   bool // running as root
	mode   MountMode

	images *flightGroup[*cache.ImageRecord]
	layers *flightGroup[cache.LayerRecord]

	formMu sync.Mutex // serialises conversions to overlayfs form

	mu         sync.Mutex
	containers map[string]*container
	declared   map[string]func() // SetInUse pins
	budget     BudgetStatus
}

// BudgetStatus is the cache's standing against its disk budget.
type BudgetStatus struct {
	Budget int64 `json:"budget"`
	Used   int64 `json:"used"`
	// Exceeded: the last collection could not bring the cache under budget
	// (the images in use need more). The host agent turns it into a Host
	// condition.
	Exceeded bool   `json:"exceeded"`
	Message  string `json:"message,omitempty"`
}

// New opens the cache at opts.Root and returns the service. It restores the
// state of containers prepared by an earlier run (their images stay
// pinned until Unmount).
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Root == "" {
		return nil, errors.New("imagesvc: Options.Root is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxLayerBytes <= 0 {
		opts.MaxLayerBytes = DefaultMaxLayerBytes
	}
	if opts.MaxLayerFiles <= 0 {
		opts.MaxLayerFiles = DefaultMaxLayerFiles
	}
	if opts.MaxConcurrentLayers <= 0 {
		opts.MaxConcurrentLayers = DefaultMaxConcurrentLayers
	}
	if opts.PullAttempts <= 0 {
		opts.PullAttempts = DefaultPullAttempts
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = DefaultRetryDelay
	}
	if opts.MaxRetryDelay <= 0 {
		opts.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if strings.ContainsAny(opts.Root, ",:\\") {
		return nil, fmt.Errorf("imagesvc: cache root %q must not contain ',', ':' or '\\' (overlayfs options)", opts.Root)
	}
	store, err := cache.Open(ctx, opts.Root, cache.Options{Logger: opts.Logger, Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("imagesvc: %w", err)
	}
	s := &Service{
		opts:  opts,
		log:   opts.Logger,
		store: store,
		client: pull.New(pull.Options{
			InsecureRegistries: opts.InsecureRegistries,
			Transport:          opts.Transport,
			Platform:           opts.Platform,
			UserAgent:          "pacific-imagesvc",
			Logger:             opts.Logger,
		}),
		root:       os.Geteuid() == 0,
		images:     newFlightGroup[*cache.ImageRecord](),
		layers:     newFlightGroup[cache.LayerRecord](),
		containers: map[string]*container{},
		declared:   map[string]func(){},
		budget:     BudgetStatus{Budget: opts.DiskBudget},
	}
	s.mode, err = chooseMountMode(opts.MountMode, s.root)
	if err != nil {
		store.Close()
		return nil, err
	}
	if err := s.restoreContainers(ctx); err != nil {
		store.Close()
		return nil, err
	}
	s.log.InfoContext(ctx, "image service ready", "root", store.Root(), "mountMode", string(s.mode), "platform", s.client.Platform().String(), "budget", opts.DiskBudget)
	return s, nil
}

// Close cancels pulls in flight, waits for them to clean up and releases
// the cache. Mounts stay in place (the host agent re-adopts running
// containers after a restart).
func (s *Service) Close() error {
	s.images.close()
	s.layers.close()
	return s.store.Close()
}

// idle reports whether no download is running (abandoned ones included).
func (s *Service) idle() bool { return s.images.inFlight() == 0 && s.layers.inFlight() == 0 }

// MountMode is the mode this service uses.
func (s *Service) MountMode() MountMode { return s.mode }

// Store exposes the cache (read-mostly; for the host agent's status pages
// and tests).
func (s *Service) Store() *cache.Store { return s.store }

// Layer is one layer of an Image.
type Layer struct {
	Digest string // compressed
	DiffID string
	Size   int64 // compressed
	Dir    string
}

// Image is a cached image.
type Image struct {
	Digest      string // platform manifest digest
	IndexDigest string // index it was picked from, if any
	Refs        []string
	Platform    string
	Config      *v1.ConfigFile
	Layers      []Layer
	// DiskUsage is the estimated size of its unpacked layers.
	DiskUsage int64
	PulledAt  time.Time
	LastUsed  time.Time
}

func (s *Service) toImage(rec *cache.ImageRecord) (*Image, error) {
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rec.Config))
	if err != nil {
		return nil, fmt.Errorf("image %s: parse config: %w", rec.Digest, err)
	}
	img := &Image{
		Digest: rec.Digest, IndexDigest: rec.IndexDigest, Refs: slices.Clone(rec.Refs),
		Platform: rec.Platform, Config: cfg, PulledAt: rec.PulledAt, LastUsed: rec.LastUsed,
	}
	seen := map[string]bool{}
	for _, l := range rec.Layers {
		img.Layers = append(img.Layers, Layer{Digest: l.Digest, DiffID: l.DiffID, Size: l.Size, Dir: s.store.LayerDir(l.DiffID)})
		if !seen[l.DiffID] {
			seen[l.DiffID] = true
			if lr, ok := s.store.Layer(l.DiffID); ok {
				img.DiskUsage += lr.DiskUsage
			}
		}
	}
	return img, nil
}

// PullRequest asks for an image.
type PullRequest struct {
	// Ref is the image reference as written in the pod spec.
	Ref string
	// Namespace the pull is for (logging; its pull secrets are below).
	Namespace string
	// PullSecrets are docker config JSON documents (the namespace's pull
	// secrets); tried in order.
	PullSecrets [][]byte
	// Progress, if set, receives progress events. It is never called
	// concurrently, nor after Pull returns; it must not block.
	Progress func(Progress)
}

// Pull resolves req.Ref with the caller's credentials (always, even when
// the image is cached, so that a cached private image is only given to
// callers allowed to read it), then downloads, verifies and unpacks
// whatever layers are missing. Concurrent pulls of one image share one
// download. The image is touched (LRU).
func (s *Service) Pull(ctx context.Context, req PullRequest) (*Image, error) {
	emit, stop := serialize(req.Progress, req.Ref)
	defer stop()
	log := s.log.With("ref", req.Ref, "namespace", req.Namespace)

	ref, err := s.client.ParseReference(req.Ref)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", req.Ref, err)
	}
	kc, err := pull.KeychainFromDockerConfigs(req.PullSecrets...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", req.Ref, err)
	}
	emit(Progress{Phase: PhaseResolving})
	var res *pull.Resolved
	err = s.retry(ctx, log, "resolve", func(ctx context.Context) error {
		var err error
		res, err = s.client.Resolve(ctx, ref, kc)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", req.Ref, err)
	}
	digest := res.Digest.String()
	log = log.With("image", digest)
	refName := ref.Name()
	total := int64(0)
	for _, l := range res.Manifest.Layers {
		total += l.Size
	}

	if rec, err := s.store.Image(digest); err == nil {
		for i, l := range rec.Layers {
			emit(Progress{Image: digest, Phase: PhaseDone, Layer: l.Digest, LayerIndex: i, LayerCount: len(rec.Layers), Done: l.Size, Total: l.Size, Cached: true})
		}
		rec.Refs = []string{refName}
		if err := s.store.PutImage(rec); err != nil {
			return nil, fmt.Errorf("pull %s: %w", req.Ref, err)
		}
		emit(Progress{Image: digest, Phase: PhaseDone, LayerCount: len(rec.Layers), Done: total, Total: total, Cached: true})
		log.DebugContext(ctx, "image already cached")
		rec, err = s.store.Image(digest)
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", req.Ref, err)
		}
		return s.toImage(rec)
	}

	if s.Budget().Budget > 0 {
		var need int64
		for _, l := range res.Manifest.Layers {
			if !s.store.HasLayerDigest(l.Digest.String()) {
				need += l.Size
			}
		}
		if _, err := s.gc(ctx, need); err != nil && errors.Is(err, ErrBudgetExceeded) {
			return nil, fmt.Errorf("pull %s: image needs at least %d bytes: %w", req.Ref, need, err)
		}
	}

	start := time.Now()
	sub := func(p Progress) { p.Image = digest; emit(p) }
	rec, shared, err := s.images.do(ctx, digest, sub, func(ctx context.Context, report func(Progress)) (*cache.ImageRecord, error) {
		return s.fetchImage(ctx, log, res, report)
	})
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", req.Ref, err)
	}
	rec = rec.Clone()
	rec.Refs = []string{refName}
	if err := s.store.PutImage(rec); err != nil {
		return nil, fmt.Errorf("pull %s: %w", req.Ref, err)
	}
	if s.Budget().Budget > 0 {
		if _, err := s.gc(ctx, 0); err != nil {
			log.WarnContext(ctx, "image cache over budget after pull", "err", err)
		}
	}
	emit(Progress{Image: digest, Phase: PhaseDone, LayerCount: len(rec.Layers), Done: total, Total: total})
	log.InfoContext(ctx, "image pulled", "layers", len(rec.Layers), "bytes", total, "shared", shared, "took", time.Since(start).Round(time.Millisecond))
	rec, err = s.store.Image(digest)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", req.Ref, err)
	}
	return s.toImage(rec)
}

// fetchImage fetches the config and every missing layer of a resolved
// image and returns its record (not yet stored).
func (s *Service) fetchImage(ctx context.Context, log *slog.Logger, res *pull.Resolved, report func(Progress)) (*cache.ImageRecord, error) {
	m := res.Manifest
	var (
		cfg    *v1.ConfigFile
		cfgRaw []byte
	)
	err := s.retry(ctx, log, "fetch config", func(ctx context.Context) error {
		var err error
		cfg, cfgRaw, err = res.Session.Config(ctx, m.Config)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("%w: config lists %d diffIDs for %d layers", ErrUnsupported, len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	diffIDs := make([]string, len(m.Layers))
	for i, d := range cfg.RootFS.DiffIDs {
		if d.Algorithm != "sha256" {
			return nil, fmt.Errorf("%w: diffID %q", ErrUnsupported, d)
		}
		diffIDs[i] = d.String()
	}
	release := s.store.LeaseLayers(diffIDs...)
	defer release()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, s.opts.MaxConcurrentLayers)
	errs := make([]error, len(m.Layers))
	var wg sync.WaitGroup
	for i, desc := range m.Layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			fwd := func(p Progress) {
				p.LayerIndex, p.LayerCount = i, len(m.Layers)
				report(p)
			}
			if err := s.ensureLayer(ctx, log, res.Session, desc, diffIDs[i], fwd); err != nil {
				errs[i] = fmt.Errorf("layer %d/%d %s: %w", i+1, len(m.Layers), desc.Digest, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			first = err
			break
		}
		if err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}

	platform := ""
	if cfg.OS != "" {
		platform = (&v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}).String()
	}
	rec := &cache.ImageRecord{
		Digest:       res.Digest.String(),
		MediaType:    string(res.MediaType),
		Manifest:     json.RawMessage(res.Raw),
		ConfigDigest: m.Config.Digest.String(),
		Config:       json.RawMessage(cfgRaw),
		Platform:     platform,
	}
	if res.IndexDigest != nil {
		rec.IndexDigest = res.IndexDigest.String()
	}
	for i, l := range m.Layers {
		rec.Layers = append(rec.Layers, cache.LayerRef{Digest: l.Digest.String(), DiffID: diffIDs[i], Size: l.Size, MediaType: string(l.MediaType)})
	}
	// Record the image while the layers are still leased, so that no
	// collection can take them in between. Each caller adds its reference.
	if err := s.store.PutImage(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// retry runs fn up to PullAttempts times while it fails with a retryable
// error, backing off between attempts.
func (s *Service) retry(ctx context.Context, log *slog.Logger, what string, fn func(context.Context) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(ctx); err == nil {
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		if attempt >= s.opts.PullAttempts {
			return fmt.Errorf("%s: giving up after %d attempts: %w", what, attempt, err)
		}
		log.WarnContext(ctx, "registry operation failed; retrying", "op", what, "attempt", attempt, "err", err)
		if werr := s.backoff(ctx, attempt); werr != nil {
			return err
		}
	}
}

func retryable(err error) bool {
	return errors.Is(err, ErrDigestMismatch) || errors.Is(err, ErrUnreachable)
}

// backoff waits before attempt+1.
func (s *Service) backoff(ctx context.Context, attempt int) error {
	d := s.opts.RetryDelay
	for i := 1; i < attempt && d < s.opts.MaxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, s.opts.MaxRetryDelay)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Image returns cached image digest.
func (s *Service) Image(digest string) (*Image, error) {
	rec, err := s.store.Image(digest)
	if err != nil {
		return nil, err
	}
	return s.toImage(rec)
}

// Lookup finds a cached image by reference without contacting the
// registry: a tag as last pulled, or a digest (of the manifest or of the
// index it came from). Callers that must check the caller's right to the
// image use Pull instead.
func (s *Service) Lookup(ref string) (*Image, error) {
	r, err := s.client.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if d, ok := r.(name.Digest); ok {
		for _, rec := range s.store.Images() {
			if rec.Digest == d.DigestStr() || rec.IndexDigest == d.DigestStr() {
				return s.toImage(rec)
			}
		}
		return nil, fmt.Errorf("%w: %s", ErrImageNotCached, ref)
	}
	rec, err := s.store.LookupRef(r.Name())
	if err != nil {
		return nil, err
	}
	return s.toImage(rec)
}

// List returns the cached images, most recently used first.
func (s *Service) List() ([]*Image, error) {
	var out []*Image
	for _, rec := range s.store.Images() {
		img, err := s.toImage(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

// Remove deletes a cached image and the layers no other image uses. It
// fails with ErrInUse while a container uses it.
func (s *Service) Remove(ctx context.Context, digest string) error {
	return s.store.RemoveImage(ctx, digest)
}

// Pin marks an image in use (as Mount does) until release is called; GC
// and Remove leave it alone.
func (s *Service) Pin(digest string) (release func(), err error) {
	return s.store.Acquire(digest)
}

// SetInUse declares the images the host agent knows to be in use (for
// instance by containers it re-adopted), replacing the previous
// declaration. It pins every listed image that is cached and returns an
// error wrapping ErrImageNotCached naming the others. Pins taken through
// Mount, Prepare and Pin are separate and unaffected.
func (s *Service) SetInUse(digests []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]bool{}
	for _, d := range digests {
		want[d] = true
	}
	for d, release := range s.declared {
		if !want[d] {
			release()
			delete(s.declared, d)
		}
	}
	var missing []string
	for d := range want {
		if _, ok := s.declared[d]; ok {
			continue
		}
		release, err := s.store.Acquire(d)
		if err != nil {
			missing = append(missing, d)
			continue
		}
		s.declared[d] = release
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("set in-use images: %w: %s", ErrImageNotCached, strings.Join(missing, ", "))
	}
	return nil
}

// GC collects the cache under the disk budget: unreferenced layers first,
// then least-recently-used images not in use. When the images in use alone
// exceed the budget it returns an error wrapping ErrBudgetExceeded, and
// Budget reports Exceeded until a later collection (or the budget check
// of a later pull) succeeds. Pull collects before downloading (to make
// room) and after.
func (s *Service) GC(ctx context.Context) (cache.GCReport, error) {
	return s.gc(ctx, 0)
}

func (s *Service) gc(ctx context.Context, need int64) (cache.GCReport, error) {
	s.mu.Lock()
	budget := s.budget.Budget
	s.mu.Unlock()
	rep, err := s.store.GC(ctx, cache.GCOptions{Budget: budget, Need: need})
	s.mu.Lock()
	s.budget.Used = rep.UsedAfter
	s.budget.Exceeded = err != nil && errors.Is(err, ErrBudgetExceeded)
	s.budget.Message = ""
	if s.budget.Exceeded {
		s.budget.Message = err.Error()
	}
	s.mu.Unlock()
	return rep, err
}

// SetDiskBudget changes the disk budget (bytes; 0: unbounded). It takes
// effect at the next collection.
func (s *Service) SetDiskBudget(bytes int64) {
	s.mu.Lock()
	s.budget.Budget = bytes
	s.mu.Unlock()
}

// Budget reports the cache's standing against its disk budget.
func (s *Service) Budget() BudgetStatus {
	s.mu.Lock()
	b := s.budget
	s.mu.Unlock()
	b.Used = s.store.Usage().Bytes
	return b
}

// containerDir is where a container's overlay upper/work dirs live.
func (s *Service) containerDir(id string) string {
	return filepath.Join(s.store.Root(), "containers", id)
}
