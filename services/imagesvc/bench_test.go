package imagesvc

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchTar makes a tar of about size bytes in files of 1 KiB–512 KiB with
// text-like, compressible content (roughly what distro layers hold).
func benchTar(b testing.TB, size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"lib", "usr", "share", "python3", "pacific", "control", "plane", "image", "layer", "the", "and", "0x7f", "\n", "{", "}", "return", "func"}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var content bytes.Buffer
	total := 0
	for i := 0; total < size; i++ {
		dir := fmt.Sprintf("usr/lib/pkg%03d", i/50)
		if i%50 == 0 {
			if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				b.Fatal(err)
			}
		}
		n := 1024 + r.IntN(512*1024)
		if r.IntN(10) < 8 {
			n = 1024 + r.IntN(16*1024)
		}
		content.Reset()
		for content.Len() < n {
			content.WriteString(words[r.IntN(len(words))])
			content.WriteByte(' ')
		}
		hdr := &tar.Header{Name: dir + "/f" + strconv.Itoa(i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(n), ModTime: time.Unix(1600000000, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(content.Bytes()[:n]); err != nil {
			b.Fatal(err)
		}
		total += n
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkPullUnpack pulls and unpacks a single-layer image from the
// in-process registry into a fresh cache each iteration. IMAGESVC_BENCH_MB
// sets the uncompressed size (default 32); IMAGESVC_BENCH_DIR the
// filesystem the cache is on (default the test's temp dir).
func BenchmarkPullUnpack(b *testing.B) {
	mb := 32
	if v, err := strconv.Atoi(os.Getenv("IMAGESVC_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	data := benchTar(b, mb<<20)
	reg := newTestRegistry(b)
	ref := reg.push(imageOf(b, amd64, layerFrom(b, data)), "bench/big:1")
	base := os.Getenv("IMAGESVC_BENCH_DIR")
	if base == "" {
		base = b.TempDir()
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		root := filepath.Join(base, fmt.Sprintf("imagesvc-bench-%d-%d", os.Getpid(), i))
		s, err := New(context.Background(), Options{Root: root, Platform: amd64})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Pull(context.Background(), PullRequest{Ref: ref}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		if err := os.RemoveAll(root); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
