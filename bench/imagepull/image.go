package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// builtLayer is a generated, gzip-compressed layer held in memory. It
// implements v1.Layer with the digests computed while it was built.
type builtLayer struct {
	compressed []byte
	digest     v1.Hash
	diffID     v1.Hash
	stats      layerStats
}

func (l *builtLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *builtLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *builtLayer) Size() (int64, error)     { return int64(len(l.compressed)), nil }
func (l *builtLayer) MediaType() (types.MediaType, error) {
	return types.DockerLayer, nil
}

func (l *builtLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}

func (l *builtLayer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.compressed))
}

// layerSizes splits total content bytes over n layers, halving from the
// bottom up (a base, then dependencies, then the application).
func layerSizes(total int64, n int) []int64 {
	weights := make([]float64, n)
	sum := 0.0
	for i := range weights {
		weights[i] = 1 / float64(int64(1)<<i)
		sum += weights[i]
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(float64(total) * weights[i] / sum)
	}
	return out
}

// buildLayer generates layer i and compresses it (Go gzip, default
// level, as image builders do).
func buildLayer(i int, size int64) (*builtLayer, error) {
	g := newGen(uint64(1000 + i))
	var buf bytes.Buffer
	buf.Grow(int(size / 2))
	dh, ch := sha256.New(), sha256.New()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(&buf, ch), gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	st, err := g.writeLayer(io.MultiWriter(dh, zw), fmt.Sprintf("layer%d", i), size)
	if err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	l := &builtLayer{compressed: buf.Bytes(), stats: st}
	l.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(ch.Sum(nil))}
	l.diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(dh.Sum(nil))}
	return l, nil
}

// buildImage generates the layers in parallel and assembles the image
// (linux/<this arch>).
func buildImage(total int64, n int) (v1.Image, []*builtLayer, error) {
	sizes := layerSizes(total, n)
	layers := make([]*builtLayer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { layers[i], errs[i] = buildLayer(i, sizes[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, fmt.Errorf("build layers: %w", err)
	}
	ls := make([]v1.Layer, n)
	for i, l := range layers {
		ls[i] = l
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config.Cmd = []string{"/usr/bin/true"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, nil, err
	}
	return img, layers, nil
}
