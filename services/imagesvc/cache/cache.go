package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

var (
	// ErrImageNotFound: the image is not in the cache.
	ErrImageNotFound = errors.New("image not in cache")
	// ErrInUse: the image is in use and cannot be removed.
	ErrInUse = errors.New("image in use")
	// ErrBudgetExceeded: the cache cannot fit in its disk budget, because
	// what it holds is in use.
	ErrBudgetExceeded = errors.New("disk budget exceeded")
	// ErrLocked: another process owns the cache directory.
	ErrLocked = errors.New("cache locked by another process")
)

var digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// ValidDigest reports whether d is a sha256 digest string.
func ValidDigest(d string) bool { return digestRE.MatchString(d) }

func hexOf(d string) string { return strings.TrimPrefix(d, "sha256:") }

// LayerRecord describes an unpacked layer.
type LayerRecord struct {
	DiffID         string `json:"diffID"`
	Digest         string `json:"digest,omitempty"` // compressed digest it was fetched as
	MediaType      string `json:"mediaType,omitempty"`
	CompressedSize int64  `json:"compressedSize,omitempty"`
	// DiskUsage estimates the space the unpacked tree takes.
	DiskUsage int64    `json:"diskUsage"`
	Files     int64    `json:"files"`
	Whiteouts []string `json:"whiteouts,omitempty"`
	// OpaqueDirs uses "." for the layer root.
	OpaqueDirs []string `json:"opaqueDirs,omitempty"`
	// OverlayForm: whiteouts and opaque dirs exist in the tree in
	// overlayfs form (0/0 devices, trusted.overlay.opaque).
	OverlayForm bool      `json:"overlayForm"`
	Created     time.Time `json:"created"`
}

// LayerRef is an image's reference to one of its layers.
type LayerRef struct {
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType,omitempty"`
}

// ImageRecord describes a cached image (one platform manifest).
type ImageRecord struct {
	Digest       string          `json:"digest"`
	MediaType    string          `json:"mediaType"`
	IndexDigest  string          `json:"indexDigest,omitempty"`
	Refs         []string        `json:"refs,omitempty"`
	Manifest     json.RawMessage `json:"manifest"`
	ConfigDigest string          `json:"configDigest"`
	Config       json.RawMessage `json:"config"`
	Layers       []LayerRef      `json:"layers"`
	Platform     string          `json:"platform,omitempty"`
	PulledAt     time.Time       `json:"pulledAt"`
	LastUsed     time.Time       `json:"lastUsed"`
}

// Clone returns a deep copy.
func (r *ImageRecord) Clone() *ImageRecord {
	c := *r
	c.Refs = slices.Clone(r.Refs)
	c.Layers = slices.Clone(r.Layers)
	return &c
}

// Options configure a Store.
type Options struct {
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store is the on-disk cache. It is safe for concurrent use.
type Store struct {
	root string
	log  *slog.Logger
	now  func() time.Time
	lock *os.File

	mu        sync.Mutex
	images    map[string]*ImageRecord
	layers    map[string]*LayerRecord
	blobs     map[string]int64 // digest -> size
	layerRefs map[string]int   // diffID -> images referencing it
	blobRefs  map[string]int   // compressed digest -> images referencing it
	leases    map[string]int   // diffID -> pulls in flight
	inUse     map[string]int   // image digest -> users
	used      int64
	// diskLastUsed is each image's LastUsed as last written, when a later
	// touch was kept in memory only (see touchLocked).
	diskLastUsed map[string]time.Time
}

// touchPersistEvery is how stale an image's last-use time may be on disk:
// it only orders garbage collection, so a crash may lose a minute of it,
// and starting a container does not pay for a synced write.
const touchPersistEvery = time.Minute

// Open opens (creating if needed) the store at root, takes its lock, empties
// tmp/ and loads the records, dropping whatever a crash left incomplete.
func Open(ctx context.Context, root string, opts Options) (*Store, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("cache root %q is not absolute", root)
	}
	root = filepath.Clean(root)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, d := range []string{"blobs/sha256", "layers/sha256", "images/sha256", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("open cache: %w", err)
		}
	}
	lf, err := os.OpenFile(filepath.Join(root, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lf.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("open cache %s: %w", root, ErrLocked)
		}
		return nil, fmt.Errorf("open cache %s: lock: %w", root, err)
	}
	s := &Store{
		root: root, log: opts.Logger, now: opts.Now, lock: lf,
		images: map[string]*ImageRecord{}, layers: map[string]*LayerRecord{}, blobs: map[string]int64{},
		layerRefs: map[string]int{}, blobRefs: map[string]int{}, leases: map[string]int{}, inUse: map[string]int{},
	}
	if err := s.load(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the lock.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// LayerDir is where layer diffID is (or will be) unpacked.
func (s *Store) LayerDir(diffID string) string {
	return filepath.Join(s.root, "layers", "sha256", hexOf(diffID))
}

func (s *Store) layerMetaPath(diffID string) string { return s.LayerDir(diffID) + ".json" }

func (s *Store) imagePath(digest string) string {
	return filepath.Join(s.root, "images", "sha256", hexOf(digest)+".json")
}

// BlobPath is where compressed blob digest is (or would be) kept.
func (s *Store) BlobPath(digest string) string {
	return filepath.Join(s.root, "blobs", "sha256", hexOf(digest))
}

func (s *Store) load(ctx context.Context) error {
	tmp := filepath.Join(s.root, "tmp")
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := RemoveTree(filepath.Join(tmp, e.Name())); err != nil {
			s.log.WarnContext(ctx, "cannot clean cache work area", "path", e.Name(), "err", err)
		}
	}

	ldir := filepath.Join(s.root, "layers", "sha256")
	ents, err = os.ReadDir(ldir)
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() {
			dirs[e.Name()] = true
		}
	}
	for _, e := range ents {
		hex, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		var rec LayerRecord
		p := filepath.Join(ldir, e.Name())
		if err := readJSON(p, &rec); err != nil || rec.DiffID != "sha256:"+hex || !dirs[hex] {
			s.log.WarnContext(ctx, "dropping incomplete layer record", "file", e.Name(), "err", err)
			_ = os.Remove(p)
			continue
		}
		s.layers[rec.DiffID] = &rec
		s.used += rec.DiskUsage
	}
	for hex := range dirs {
		if _, ok := s.layers["sha256:"+hex]; !ok {
			s.log.WarnContext(ctx, "removing incomplete layer directory", "diffID", "sha256:"+hex)
			if err := RemoveTree(filepath.Join(ldir, hex)); err != nil {
				s.log.WarnContext(ctx, "cannot remove incomplete layer", "diffID", "sha256:"+hex, "err", err)
			}
		}
	}

	bdir := filepath.Join(s.root, "blobs", "sha256")
	ents, err = os.ReadDir(bdir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || !ValidDigest("sha256:"+e.Name()) {
			continue
		}
		s.blobs["sha256:"+e.Name()] = info.Size()
		s.used += info.Size()
	}

	idir := filepath.Join(s.root, "images", "sha256")
	ents, err = os.ReadDir(idir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		hex, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		var rec ImageRecord
		p := filepath.Join(idir, e.Name())
		if err := readJSON(p, &rec); err != nil || rec.Digest != "sha256:"+hex {
			s.log.WarnContext(ctx, "dropping unreadable image record", "file", e.Name(), "err", err)
			_ = os.Remove(p)
			continue
		}
		missing := ""
		for _, l := range rec.Layers {
			if _, ok := s.layers[l.DiffID]; !ok {
				missing = l.DiffID
				break
			}
		}
		if missing != "" {
			s.log.WarnContext(ctx, "dropping image record with a missing layer", "image", rec.Digest, "layer", missing)
			_ = os.Remove(p)
			continue
		}
		s.images[rec.Digest] = &rec
		s.refLocked(&rec, +1)
	}
	return nil
}

func (s *Store) refLocked(rec *ImageRecord, delta int) {
	for _, d := range uniqueDiffIDs(rec) {
		s.layerRefs[d] += delta
		if s.layerRefs[d] <= 0 {
			delete(s.layerRefs, d)
		}
	}
	seen := map[string]bool{}
	for _, l := range rec.Layers {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		s.blobRefs[l.Digest] += delta
		if s.blobRefs[l.Digest] <= 0 {
			delete(s.blobRefs, l.Digest)
		}
	}
}

func uniqueDiffIDs(rec *ImageRecord) []string {
	var out []string
	for _, l := range rec.Layers {
		if !slices.Contains(out, l.DiffID) {
			out = append(out, l.DiffID)
		}
	}
	return out
}

// TempDir makes a new directory in the store's work area (on the same
// filesystem as the layers, so that it can be renamed into place).
func (s *Store) TempDir(prefix string) (string, error) {
	return os.MkdirTemp(filepath.Join(s.root, "tmp"), prefix)
}

// TempFile makes a new file in the store's work area.
func (s *Store) TempFile(prefix string) (*os.File, error) {
	return os.CreateTemp(filepath.Join(s.root, "tmp"), prefix)
}

// Layer returns the record of layer diffID, if it is cached.
func (s *Store) Layer(diffID string) (LayerRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.layers[diffID]
	if !ok {
		return LayerRecord{}, false
	}
	return *r, true
}

// HasLayerDigest reports whether a layer fetched as compressed digest is
// cached.
func (s *Store) HasLayerDigest(digest string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.layers {
		if l.Digest == digest {
			return true
		}
	}
	return false
}

// CommitLayer moves the complete, verified tree in dir (made by TempDir)
// into place as layer rec.DiffID. If that layer is already cached, dir is
// removed and the existing layer kept.
func (s *Store) CommitLayer(rec LayerRecord, dir string) error {
	if !ValidDigest(rec.DiffID) {
		return fmt.Errorf("commit layer: bad diffID %q", rec.DiffID)
	}
	if rec.Created.IsZero() {
		rec.Created = s.now()
	}
	s.mu.Lock()
	if _, ok := s.layers[rec.DiffID]; ok {
		s.mu.Unlock()
		return RemoveTree(dir)
	}
	dst := s.LayerDir(rec.DiffID)
	if err := os.Rename(dir, dst); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("commit layer %s: %w", rec.DiffID, err)
	}
	if err := s.writeJSON(s.layerMetaPath(rec.DiffID), &rec); err != nil {
		// Put the tree back into the work area; Open would drop it anyway.
		_ = os.Rename(dst, dir)
		s.mu.Unlock()
		return fmt.Errorf("commit layer %s: %w", rec.DiffID, err)
	}
	r := rec
	s.layers[rec.DiffID] = &r
	s.used += rec.DiskUsage
	s.mu.Unlock()
	return nil
}

// UpdateLayer rewrites the record of a cached layer (for instance after
// its whiteouts were converted to overlayfs form).
func (s *Store) UpdateLayer(rec LayerRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.layers[rec.DiffID]
	if !ok {
		return fmt.Errorf("update layer %s: not cached", rec.DiffID)
	}
	if err := s.writeJSON(s.layerMetaPath(rec.DiffID), &rec); err != nil {
		return fmt.Errorf("update layer %s: %w", rec.DiffID, err)
	}
	s.used += rec.DiskUsage - cur.DiskUsage
	*cur = rec
	return nil
}

// HasBlob reports whether compressed blob digest is kept.
func (s *Store) HasBlob(digest string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.blobs[digest]
	return ok
}

// CommitBlob moves the verified file at path (made by TempFile) into place
// as blob digest.
func (s *Store) CommitBlob(path, digest string) error {
	if !ValidDigest(digest) {
		return fmt.Errorf("commit blob: bad digest %q", digest)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("commit blob %s: %w", digest, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[digest]; ok {
		return os.Remove(path)
	}
	if err := os.Rename(path, s.BlobPath(digest)); err != nil {
		return fmt.Errorf("commit blob %s: %w", digest, err)
	}
	s.blobs[digest] = info.Size()
	s.used += info.Size()
	return nil
}

// LeaseLayers protects layers (cached or about to be) from removal while a
// pull is in flight. Call the returned function when done.
func (s *Store) LeaseLayers(diffIDs ...string) (release func()) {
	s.mu.Lock()
	for _, d := range diffIDs {
		s.leases[d]++
	}
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			for _, d := range diffIDs {
				if s.leases[d]--; s.leases[d] <= 0 {
					delete(s.leases, d)
				}
			}
			s.mu.Unlock()
		})
	}
}

// PutImage records a pulled image. All its layers must be cached. If the
// image is already recorded, its references are merged and it is touched.
// Each reference (a tag names one image) is removed from any other image.
func (s *Store) PutImage(rec *ImageRecord) error {
	if !ValidDigest(rec.Digest) {
		return fmt.Errorf("put image: bad digest %q", rec.Digest)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range rec.Layers {
		if _, ok := s.layers[l.DiffID]; !ok {
			return fmt.Errorf("put image %s: layer %s is not cached", rec.Digest, l.DiffID)
		}
	}
	now := s.now()
	if cur, ok := s.images[rec.Digest]; ok {
		refs := cur.Refs
		for _, r := range rec.Refs {
			if !slices.Contains(refs, r) {
				refs = append(refs, r)
			}
		}
		next := cur.Clone()
		next.Refs, next.LastUsed = refs, now
		if err := s.writeJSON(s.imagePath(rec.Digest), next); err != nil {
			return fmt.Errorf("put image %s: %w", rec.Digest, err)
		}
		s.images[rec.Digest] = next
	} else {
		next := rec.Clone()
		if next.PulledAt.IsZero() {
			next.PulledAt = now
		}
		next.LastUsed = now
		if err := s.writeJSON(s.imagePath(rec.Digest), next); err != nil {
			return fmt.Errorf("put image %s: %w", rec.Digest, err)
		}
		s.images[rec.Digest] = next
		s.refLocked(next, +1)
	}
	s.untagOthersLocked(rec.Digest, rec.Refs)
	return nil
}

// untagOthersLocked removes refs from every image but digest.
func (s *Store) untagOthersLocked(digest string, refs []string) {
	for d, img := range s.images {
		if d == digest {
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(img.Refs), func(r string) bool { return slices.Contains(refs, r) })
		if len(kept) == len(img.Refs) {
			continue
		}
		next := img.Clone()
		next.Refs = kept
		if err := s.writeJSON(s.imagePath(d), next); err != nil {
			s.log.Warn("cannot update image record", "image", d, "err", err)
			continue
		}
		s.images[d] = next
	}
}

// Image returns the record of image digest.
func (s *Store) Image(digest string) (*ImageRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.images[digest]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrImageNotFound, digest)
	}
	return r.Clone(), nil
}

// LookupRef returns the image last pulled as ref (a full reference, as
// recorded by PutImage).
func (s *Store) LookupRef(ref string) (*ImageRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.images {
		if slices.Contains(r.Refs, ref) {
			return r.Clone(), nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrImageNotFound, ref)
}

// Images lists the cached images, most recently used first.
func (s *Store) Images() []*ImageRecord {
	s.mu.Lock()
	out := make([]*ImageRecord, 0, len(s.images))
	for _, r := range s.images {
		out = append(out, r.Clone())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *ImageRecord) int {
		if c := b.LastUsed.Compare(a.LastUsed); c != 0 {
			return c
		}
		return strings.Compare(a.Digest, b.Digest)
	})
	return out
}

// Touch marks image digest as used now.
func (s *Store) Touch(digest string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.touchLocked(digest)
}

func (s *Store) touchLocked(digest string) error {
	r, ok := s.images[digest]
	if !ok {
		return fmt.Errorf("%w: %s", ErrImageNotFound, digest)
	}
	next := r.Clone()
	next.LastUsed = s.now()
	onDisk, ok := s.diskLastUsed[digest]
	if !ok {
		onDisk = r.LastUsed
	}
	if next.LastUsed.Sub(onDisk) >= touchPersistEvery {
		if err := s.writeJSON(s.imagePath(digest), next); err != nil {
			return fmt.Errorf("touch image %s: %w", digest, err)
		}
		delete(s.diskLastUsed, digest)
	} else {
		if s.diskLastUsed == nil {
			s.diskLastUsed = map[string]time.Time{}
		}
		s.diskLastUsed[digest] = onDisk
	}
	s.images[digest] = next
	return nil
}

// Acquire marks image digest in use (and touches it) until release is
// called; an image in use is never removed.
func (s *Store) Acquire(digest string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.images[digest]; !ok {
		return nil, fmt.Errorf("%w: %s", ErrImageNotFound, digest)
	}
	if err := s.touchLocked(digest); err != nil {
		s.log.Warn("cannot touch image", "image", digest, "err", err)
	}
	s.inUse[digest]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.inUse[digest]--; s.inUse[digest] <= 0 {
				delete(s.inUse, digest)
			}
			s.mu.Unlock()
		})
	}, nil
}

// InUse reports how many users hold image digest.
func (s *Store) InUse(digest string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse[digest]
}

// RemoveImage removes image digest and the layers and blobs no other image
// (nor pull in flight) uses. It fails with ErrInUse while the image is
// acquired.
func (s *Store) RemoveImage(ctx context.Context, digest string) error {
	s.mu.Lock()
	if _, ok := s.images[digest]; !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrImageNotFound, digest)
	}
	if n := s.inUse[digest]; n > 0 {
		s.mu.Unlock()
		return fmt.Errorf("remove %s: %w (%d users)", digest, ErrInUse, n)
	}
	var rep GCReport
	trash, err := s.removeImageLocked(digest, &rep)
	s.mu.Unlock()
	s.emptyTrash(ctx, trash)
	return err
}

// removeImageLocked drops the record and moves unreferenced layers and
// blobs to the work area; it returns what to delete after unlocking.
func (s *Store) removeImageLocked(digest string, rep *GCReport) ([]string, error) {
	rec := s.images[digest]
	if err := os.Remove(s.imagePath(digest)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove image %s: %w", digest, err)
	}
	delete(s.images, digest)
	delete(s.diskLastUsed, digest)
	s.refLocked(rec, -1)
	rep.RemovedImages = append(rep.RemovedImages, digest)
	var trash []string
	for _, d := range uniqueDiffIDs(rec) {
		trash = append(trash, s.dropLayerIfUnusedLocked(d, rep)...)
	}
	for _, l := range rec.Layers {
		trash = append(trash, s.dropBlobIfUnusedLocked(l.Digest, rep)...)
	}
	return trash, nil
}

func (s *Store) dropLayerIfUnusedLocked(diffID string, rep *GCReport) []string {
	lr, ok := s.layers[diffID]
	if !ok || s.layerRefs[diffID] > 0 || s.leases[diffID] > 0 {
		return nil
	}
	// Record first, so that a crash leaves a directory Open removes.
	if err := os.Remove(s.layerMetaPath(diffID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("cannot remove layer record", "layer", diffID, "err", err)
		return nil
	}
	delete(s.layers, diffID)
	s.used -= lr.DiskUsage
	rep.RemovedLayers++
	rep.Freed += lr.DiskUsage
	trash, err := s.TempDir("trash-")
	if err == nil {
		dst := filepath.Join(trash, "layer")
		if err = os.Rename(s.LayerDir(diffID), dst); err == nil {
			return []string{trash}
		}
	}
	s.log.Warn("cannot move layer to trash; removing in place", "layer", diffID, "err", err)
	return []string{s.LayerDir(diffID)}
}

func (s *Store) dropBlobIfUnusedLocked(digest string, rep *GCReport) []string {
	size, ok := s.blobs[digest]
	if !ok || s.blobRefs[digest] > 0 {
		return nil
	}
	// Blobs of layers being pulled are kept with their layers' leases.
	for d, lr := range s.layers {
		if lr.Digest == digest && s.leases[d] > 0 {
			return nil
		}
	}
	delete(s.blobs, digest)
	s.used -= size
	rep.Freed += size
	return []string{s.BlobPath(digest)}
}

func (s *Store) emptyTrash(ctx context.Context, paths []string) {
	for _, p := range paths {
		if err := RemoveTree(p); err != nil {
			s.log.WarnContext(ctx, "cannot remove from cache", "path", p, "err", err)
		}
	}
}

// Usage is what the store holds.
type Usage struct {
	Bytes  int64 `json:"bytes"` // unpacked layers (estimated) plus blobs
	Images int   `json:"images"`
	Layers int   `json:"layers"`
	Blobs  int   `json:"blobs"`
	// InUse lists the images in use.
	InUse []string `json:"inUse,omitempty"`
}

// Usage reports what the store holds.
func (s *Store) Usage() Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := Usage{Bytes: s.used, Images: len(s.images), Layers: len(s.layers), Blobs: len(s.blobs)}
	for d := range s.inUse {
		u.InUse = append(u.InUse, d)
	}
	slices.Sort(u.InUse)
	return u
}

// GCOptions tune a collection.
type GCOptions struct {
	// Budget is the disk budget in bytes; 0 only drops unreferenced layers
	// and blobs.
	Budget int64
	// Need is room to make on top of the budget (for a pull about to start).
	Need int64
	// Protect lists images that must be kept although not in use.
	Protect []string
}

// GCReport tells what a collection did.
type GCReport struct {
	Budget        int64    `json:"budget"`
	Need          int64    `json:"need,omitempty"`
	UsedBefore    int64    `json:"usedBefore"`
	UsedAfter     int64    `json:"usedAfter"`
	Freed         int64    `json:"freed"`
	RemovedImages []string `json:"removedImages,omitempty"`
	RemovedLayers int      `json:"removedLayers"`
	// Kept lists the images that could not be removed (in use or
	// protected) while the store was still over budget.
	Kept []string `json:"kept,omitempty"`
	// Met: the store fits the budget (with Need to spare).
	Met bool `json:"met"`
}

// GC drops layers and blobs no image references, then removes the least
// recently used images that are neither in use nor protected until the
// store fits in o.Budget with o.Need to spare. When it cannot, it returns
// the report and an error wrapping ErrBudgetExceeded.
func (s *Store) GC(ctx context.Context, o GCOptions) (GCReport, error) {
	s.mu.Lock()
	rep := GCReport{Budget: o.Budget, Need: o.Need, UsedBefore: s.used}
	var trash []string
	for d := range s.layers {
		trash = append(trash, s.dropLayerIfUnusedLocked(d, &rep)...)
	}
	for d := range s.blobs {
		trash = append(trash, s.dropBlobIfUnusedLocked(d, &rep)...)
	}
	if o.Budget > 0 {
		imgs := make([]*ImageRecord, 0, len(s.images))
		for _, r := range s.images {
			imgs = append(imgs, r)
		}
		slices.SortFunc(imgs, func(a, b *ImageRecord) int {
			if c := a.LastUsed.Compare(b.LastUsed); c != 0 {
				return c
			}
			return strings.Compare(a.Digest, b.Digest)
		})
		for _, img := range imgs {
			if s.used+o.Need <= o.Budget {
				break
			}
			if ctx.Err() != nil {
				break
			}
			if s.inUse[img.Digest] > 0 || slices.Contains(o.Protect, img.Digest) {
				rep.Kept = append(rep.Kept, img.Digest)
				continue
			}
			t, err := s.removeImageLocked(img.Digest, &rep)
			if err != nil {
				s.log.WarnContext(ctx, "gc: cannot remove image", "image", img.Digest, "err", err)
				continue
			}
			trash = append(trash, t...)
		}
	}
	rep.UsedAfter = s.used
	rep.Met = o.Budget <= 0 || s.used+o.Need <= o.Budget
	s.mu.Unlock()
	s.emptyTrash(ctx, trash)
	if len(rep.RemovedImages) > 0 || rep.RemovedLayers > 0 {
		s.log.InfoContext(ctx, "image cache collected", "removedImages", len(rep.RemovedImages), "removedLayers", rep.RemovedLayers, "freed", rep.Freed, "used", rep.UsedAfter, "budget", o.Budget)
	}
	if !rep.Met {
		return rep, fmt.Errorf("%w: cache holds %d bytes, %d more are needed, budget is %d; %d image(s) in use or being pulled cannot be removed",
			ErrBudgetExceeded, rep.UsedAfter, o.Need, o.Budget, len(rep.Kept))
	}
	return rep, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSON writes v atomically (temp file in the work area, fsync, rename).
func (s *Store) writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := s.TempFile("json-")
	if err != nil {
		return err
	}
	name := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Chmod(name, 0o600); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}

// RemoveTree removes path and everything below it, making directories
// writable first where needed (unpacked layers keep read-only directories
// from their archives).
func RemoveTree(path string) error {
	err := os.RemoveAll(path)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}
