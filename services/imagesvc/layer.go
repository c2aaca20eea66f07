package imagesvc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/openpacific/pacific/services/imagesvc/cache"
	"github.com/openpacific/pacific/services/imagesvc/extract"
	"github.com/openpacific/pacific/services/imagesvc/pull"
)

// maxTrailing bounds the uncompressed bytes accepted after the tar
// end-of-archive marker (honest archives have at most a few KiB of
// padding).
const maxTrailing = 16 << 20

// ensureLayer makes layer diffID present in the cache, sharing the work
// with any other pull of the same layer.
func (s *Service) ensureLayer(ctx context.Context, log *slog.Logger, sess *pull.Session, desc v1.Descriptor, diffID string, report func(Progress)) error {
	cachedDone := Progress{Phase: PhaseDone, Layer: desc.Digest.String(), Done: desc.Size, Total: desc.Size, Cached: true}
	if _, ok := s.store.Layer(diffID); ok {
		report(cachedDone)
		return nil
	}
	_, _, err := s.layers.do(ctx, diffID, report, func(ctx context.Context, report func(Progress)) (cache.LayerRecord, error) {
		if rec, ok := s.store.Layer(diffID); ok {
			report(cachedDone)
			return rec, nil
		}
		return s.fetchLayer(ctx, log.With("layer", desc.Digest.String()), sess, desc, diffID, report)
	})
	return err
}

// fetchLayer downloads, verifies and unpacks one layer, retrying corrupted
// or interrupted downloads.
func (s *Service) fetchLayer(ctx context.Context, log *slog.Logger, sess *pull.Session, desc v1.Descriptor, diffID string, report func(Progress)) (cache.LayerRecord, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var rec cache.LayerRecord
		rec, err = s.fetchLayerOnce(ctx, log, sess, desc, diffID, attempt, report)
		if err == nil {
			return rec, nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return cache.LayerRecord{}, err
		}
		if attempt >= s.opts.PullAttempts {
			return cache.LayerRecord{}, fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		log.WarnContext(ctx, "layer download failed; retrying", "attempt", attempt, "err", err)
		if werr := s.backoff(ctx, attempt); werr != nil {
			return cache.LayerRecord{}, err
		}
	}
}

// progressReader counts bytes and reports progress every 256 KiB.
type progressReader struct {
	r        io.Reader
	n        int64
	reported int64
	report   func(n int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n-p.reported >= 256<<10 || (err == io.EOF && p.n != p.reported) {
		p.reported = p.n
		p.report(p.n)
	}
	return n, err
}

func (s *Service) fetchLayerOnce(ctx context.Context, log *slog.Logger, sess *pull.Session, desc v1.Descriptor, diffID string, attempt int, report func(Progress)) (_ cache.LayerRecord, retErr error) {
	ev := func(ph Phase, done int64) {
		report(Progress{Phase: ph, Layer: desc.Digest.String(), Done: done, Total: desc.Size, Attempt: attempt})
	}
	tmp, err := s.store.TempDir("layer-")
	if err != nil {
		return cache.LayerRecord{}, err
	}
	committed := false
	defer func() {
		if !committed {
			if err := cache.RemoveTree(tmp); err != nil {
				log.WarnContext(ctx, "cannot remove partial layer", "dir", tmp, "err", err)
			}
		}
	}()

	digest := desc.Digest.String()
	var src io.ReadCloser
	fromBlob := s.store.HasBlob(digest)
	if fromBlob {
		src, err = os.Open(s.store.BlobPath(digest))
	} else {
		src, err = sess.Blob(ctx, desc.Digest)
	}
	if err != nil {
		return cache.LayerRecord{}, err
	}
	defer src.Close()
	ev(PhaseDownloading, 0)

	counter := &progressReader{r: io.LimitReader(src, desc.Size+1), report: func(n int64) { ev(PhaseDownloading, min(n, desc.Size)) }}
	ch := sha256.New()
	sinks := []io.Writer{ch}
	var blobFile *os.File
	if s.opts.KeepBlobs && !fromBlob {
		if blobFile, err = s.store.TempFile("blob-"); err != nil {
			return cache.LayerRecord{}, err
		}
		defer func() {
			blobFile.Close()
			os.Remove(blobFile.Name()) // no-op once committed (renamed)
		}()
		sinks = append(sinks, blobFile)
	}
	compressed := io.TeeReader(counter, io.MultiWriter(sinks...))
	dh := sha256.New()

	res, xerr := s.unpack(ctx, compressed, dh, tmp)
	// Read the compressed stream to its end whatever happened: its digest
	// tells a corrupted download (retry) from a bad layer (reject).
	if _, err := io.Copy(io.Discard, compressed); err != nil && xerr == nil {
		xerr = err
	}
	ev(PhaseVerifying, min(counter.n, desc.Size))
	if mm := checkDigest(ch, counter.n, desc.Digest, desc.Size, "blob"); mm != nil {
		if xerr != nil && !errors.Is(xerr, ErrUnreachable) {
			mm = fmt.Errorf("%w (unpacking failed too: %v)", mm, xerr)
		}
		if xerr != nil && errors.Is(xerr, ErrUnreachable) {
			return cache.LayerRecord{}, xerr
		}
		if fromBlob {
			log.WarnContext(ctx, "kept blob is corrupt; removing it", "blob", digest)
			_ = os.Remove(s.store.BlobPath(digest))
		}
		return cache.LayerRecord{}, mm
	}
	if xerr != nil {
		if !errors.Is(xerr, ErrUnsafeLayer) && !errors.Is(xerr, ErrInvalidLayer) && !errors.Is(xerr, ErrLayerTooLarge) &&
			!errors.Is(xerr, ErrUnreachable) && ctx.Err() == nil {
			// Intact download that does not decompress or untar.
			xerr = fmt.Errorf("%w: %w", ErrInvalidLayer, xerr)
		}
		return cache.LayerRecord{}, xerr
	}
	if got := "sha256:" + hex.EncodeToString(dh.Sum(nil)); got != diffID {
		return cache.LayerRecord{}, fmt.Errorf("%w: layer %s unpacks to diffID %s, config says %s", ErrDigestMismatch, digest, got, diffID)
	}

	ev(PhaseExtracting, desc.Size)
	if blobFile != nil {
		if err := blobFile.Close(); err == nil {
			if err := s.store.CommitBlob(blobFile.Name(), digest); err != nil {
				log.WarnContext(ctx, "cannot keep blob", "err", err)
			}
		}
	}
	rec := cache.LayerRecord{
		DiffID: diffID, Digest: digest, MediaType: string(desc.MediaType), CompressedSize: desc.Size,
		DiskUsage: res.DiskUsage, Files: res.Entries, Whiteouts: res.Whiteouts, OpaqueDirs: res.OpaqueDirs,
		OverlayForm: s.overlayWhiteouts(), Created: s.opts.Now(),
	}
	if err := s.store.CommitLayer(rec, tmp); err != nil {
		return cache.LayerRecord{}, err
	}
	committed = true
	ev(PhaseDone, desc.Size)
	log.DebugContext(ctx, "layer unpacked", "files", res.Entries, "bytes", res.Bytes, "attempt", attempt)
	return rec, nil
}

// unpack decompresses (sniffing gzip or zstd) and extracts the layer,
// hashing the uncompressed stream into dh, including what follows the
// end-of-archive marker.
func (s *Service) unpack(ctx context.Context, compressed io.Reader, dh hash.Hash, dir string) (*extract.Result, error) {
	br := bufio.NewReaderSize(compressed, 1<<20)
	dec, err := decompressor(br)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	uncompressed := newReadAhead(io.TeeReader(dec, dh), readAheadChunk, readAheadDepth)
	defer uncompressed.Close() // before dec.Close and before the caller reads compressed again
	res, err := extract.Extract(ctx, uncompressed, dir, extract.Options{
		MaxBytes:         s.opts.MaxLayerBytes,
		MaxFiles:         s.opts.MaxLayerFiles,
		Root:             s.root,
		OverlayWhiteouts: s.overlayWhiteouts(),
		Logger:           s.log,
	})
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(io.Discard, io.LimitReader(uncompressed, maxTrailing+1))
	if err != nil {
		return nil, fmt.Errorf("read layer: %w", err)
	}
	if n > maxTrailing {
		return nil, fmt.Errorf("%w: more than %d bytes after the end of the archive", ErrInvalidLayer, maxTrailing)
	}
	return res, nil
}

// The read-ahead between decompression and extraction: 2.5 MiB per layer
// being unpacked, in chunks large enough that handing them over costs
// nothing next to filling them.
const (
	readAheadChunk = 512 << 10
	readAheadDepth = 4
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

func decompressor(br *bufio.Reader) (io.ReadCloser, error) {
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %w", ErrInvalidLayer, err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %w", ErrInvalidLayer, err)
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(br), nil
}

func checkDigest(h hash.Hash, n int64, want v1.Hash, size int64, what string) error {
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if n != size {
		return fmt.Errorf("%w: %s %s: got %d bytes (at least), want %d", ErrDigestMismatch, what, want, n, size)
	}
	if got != want.String() {
		return fmt.Errorf("%w: %s %s: content hashes to %s", ErrDigestMismatch, what, want, got)
	}
	return nil
}

// overlayWhiteouts: layers are unpacked in overlayfs form.
func (s *Service) overlayWhiteouts() bool { return s.root && s.mode == MountOverlay }
