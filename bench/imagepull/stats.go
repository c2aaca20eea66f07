package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// results are all rounds of both sides.
type results struct {
	ours    []*ourRun
	bare    []*bareRun
	ref     reference
	checked bool // the trees were compared
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func pick[T any](rs []T, f func(T) time.Duration) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
func ms(d time.Duration) string   { return fmt.Sprintf("%dms", d.Milliseconds()) }

// describeImage prints what was generated.
func describeImage(layers []*builtLayer) {
	var files, links, hard, dirs int
	var content, tarBytes, gz int64
	for i, l := range layers {
		s := l.stats
		fmt.Printf("layer %d: %d files, %d dirs, %d symlinks, %d hardlinks; content %.1f MB, tar %.1f MB, gzip %.1f MB (%.0f%%)\n",
			i, s.Files, s.Dirs, s.Symlinks, s.Hardlinks, mb(s.ContentBytes), mb(s.TarBytes), mb(int64(len(l.compressed))),
			100*float64(len(l.compressed))/float64(s.TarBytes))
		files, links, hard, dirs = files+s.Files, links+s.Symlinks, hard+s.Hardlinks, dirs+s.Dirs
		content, tarBytes, gz = content+s.ContentBytes, tarBytes+s.TarBytes, gz+int64(len(l.compressed))
	}
	fmt.Printf("image: %d layers, %d files, %d dirs, %d symlinks, %d hardlinks; tar %.1f MB, gzip %.1f MB\n",
		len(layers), files, dirs, links, hard, mb(tarBytes), mb(gz))
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func (r *results) print(w io.Writer) {
	ours := median(pick(r.ours, func(o *ourRun) time.Duration { return o.total }))
	bare := median(pick(r.bare, func(b *bareRun) time.Duration { return b.total }))
	fmt.Fprintf(w, "\nmedians over %d rounds (same filesystem, fresh targets, alternating order)\n", len(r.ours))
	fmt.Fprintf(w, "  ours  total %s: resolve %s, fetch/gunzip/unpack %s, verify/commit %s, image record %s\n",
		secs(ours),
		ms(median(pick(r.ours, func(o *ourRun) time.Duration { return o.resolve }))),
		secs(median(pick(r.ours, func(o *ourRun) time.Duration { return o.stream }))),
		ms(median(pick(r.ours, func(o *ourRun) time.Duration { return o.finish }))),
		ms(median(pick(r.ours, func(o *ourRun) time.Duration { return o.record }))))
	fmt.Fprintf(w, "  bare  total %s: skopeo copy %s, tar xzf %s\n",
		secs(bare),
		secs(median(pick(r.bare, func(b *bareRun) time.Duration { return b.copy }))),
		secs(median(pick(r.bare, func(b *bareRun) time.Duration { return b.untar }))))
	fmt.Fprintf(w, "  reference (once): %s\n", r.ref)
	ratio := 0.0
	if ours > 0 {
		ratio = bare.Seconds() / ours.Seconds()
	}
	fmt.Fprintf(w, "RESULT imagepull_ratio=%.2f\n", ratio)
}
