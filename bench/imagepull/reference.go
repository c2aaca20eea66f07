package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// reference holds floors measured once, outside the ratio: what the
// network part and the decompression alone cost on this machine.
type reference struct {
	fetch       time.Duration // Go: GET every blob in parallel + sha256
	gunzipGo    time.Duration // klauspost gzip (the image service's) + sha256, layers one after another, from memory
	gunzipGzip  time.Duration // `gzip -dc > /dev/null` (what tar xzf runs), layers one after another, from the page cache
	uncompBytes int64
}

func (r reference) String() string {
	return fmt.Sprintf("fetch+sha256 (Go, layers in parallel) %s; gunzip+sha256 (klauspost, in memory) %s (%.0f MB/s); gzip -dc >/dev/null %s",
		secs(r.fetch), secs(r.gunzipGo), mbps(r.uncompBytes, r.gunzipGo), secs(r.gunzipGzip))
}

func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

// measureReference times the floors. It writes the blobs into blobDir
// (untimed) for gzip to read.
func measureReference(ctx context.Context, registry, repo string, layers []*builtLayer, blobDir string) (reference, error) {
	var r reference
	start := time.Now()
	errs := make([]error, len(layers))
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Go(func() { errs[i] = fetchBlob(ctx, fmt.Sprintf("http://%s/v2/%s/blobs/%s", registry, repo, l.digest)) })
	}
	wg.Wait()
	r.fetch = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return r, err
	}

	start = time.Now()
	for _, l := range layers {
		zr, err := gzip.NewReader(bytes.NewReader(l.compressed))
		if err != nil {
			return r, err
		}
		n, err := io.Copy(sha256.New(), zr)
		if err != nil {
			return r, err
		}
		r.uncompBytes += n
	}
	r.gunzipGo = time.Since(start)

	for _, l := range layers {
		if err := os.WriteFile(filepath.Join(blobDir, l.digest.Hex), l.compressed, 0o600); err != nil {
			return r, err
		}
	}
	start = time.Now()
	for _, l := range layers {
		f, err := os.Open(filepath.Join(blobDir, l.digest.Hex))
		if err != nil {
			return r, err
		}
		cmd := exec.CommandContext(ctx, "gzip", "-dc")
		cmd.Stdin = f
		err = cmd.Run() // stdout: /dev/null
		f.Close()
		if err != nil {
			return r, fmt.Errorf("gzip -dc: %w", err)
		}
	}
	r.gunzipGzip = time.Since(start)
	return r, nil
}

func fetchBlob(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	_, err = io.Copy(sha256.New(), resp.Body)
	return err
}
