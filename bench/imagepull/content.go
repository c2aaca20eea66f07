package main

import (
	"archive/tar"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// The generated layers look roughly like a distribution plus an
// application: many small text files (sources, docs, configs), small binary
// data files, fewer large library-like files (partly compressible, like
// machine code) and some already-compressed assets, in a tree of
// directories, with symlinks (library sonames) and a few hardlinks. The
// content is pseudo-random but deterministic (fixed seeds), so every run
// pulls the same bytes.

// fileKind is one class of generated file.
type fileKind struct {
	name     string
	weight   int // relative frequency (by count)
	min, max int // size range; sizes are log-uniform in it
	ext      []string
	mode     int64
}

var kinds = []fileKind{
	{name: "text", weight: 150, min: 200, max: 48 << 10, ext: []string{".py", ".h", ".txt", ".conf", ".js", ".md", ".1"}, mode: 0o644},
	{name: "data", weight: 30, min: 512, max: 32 << 10, ext: []string{".pyc", ".mo", ".dat", ".cache"}, mode: 0o644},
	{name: "code", weight: 3, min: 16 << 10, max: 4 << 20, ext: []string{".so", ""}, mode: 0o755},
	{name: "packed", weight: 3, min: 2 << 10, max: 1 << 20, ext: []string{".gz", ".png", ".jar", ".whl"}, mode: 0o644},
}

// gen writes one layer's tar stream.
type gen struct {
	r      *rand.Rand
	rnd    *rand.ChaCha8 // fast random bytes
	corpus []byte        // pseudo-text the text files are cut from
	snips  [][]byte      // recurring "instruction sequences" of code files
	mtime  time.Time
	buf    []byte
}

func newGen(seed uint64) *gen {
	var key [32]byte
	for i := range key {
		key[i] = byte(seed >> (8 * (i % 8)))
	}
	key[31] ^= 0x5a
	g := &gen{
		r:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		rnd:   rand.NewChaCha8(key),
		mtime: time.Unix(1700000000, 0),
	}
	g.corpus = g.makeCorpus(4 << 20)
	g.snips = make([][]byte, 192)
	for i := range g.snips {
		g.snips[i] = g.random(16 + g.r.IntN(80))
	}
	return g
}

// makeCorpus builds pseudo-text from a Zipf-distributed vocabulary of
// pseudo-words, with punctuation, indentation and line breaks.
func (g *gen) makeCorpus(n int) []byte {
	const vocab = 2000
	words := make([]string, vocab)
	letters := "etaoinshrdlcumwfgypbvkjxqz_"
	for i := range words {
		l := 2 + g.r.IntN(9)
		var b strings.Builder
		for range l {
			// Skewed letter frequencies, like English identifiers.
			b.WriteByte(letters[int(math.Pow(g.r.Float64(), 1.7)*float64(len(letters)))])
		}
		words[i] = b.String()
	}
	zipf := rand.NewZipf(g.r, 1.3, 2, vocab-1)
	punct := []string{" ", " ", " ", " ", ", ", ". ", "(", ") ", " = ", ": ", "_", "."}
	var b strings.Builder
	b.Grow(n + 64)
	col := 0
	for b.Len() < n {
		w := words[zipf.Uint64()]
		b.WriteString(w)
		col += len(w)
		if col > 60+g.r.IntN(30) {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat("    ", g.r.IntN(4)))
			col = 0
			continue
		}
		p := punct[g.r.IntN(len(punct))]
		b.WriteString(p)
		col += len(p)
	}
	return []byte(b.String()[:n])
}

func (g *gen) random(n int) []byte {
	b := make([]byte, n)
	g.rnd.Read(b)
	return b
}

// logUniform picks a size in [min, max) with a log-uniform distribution.
func (g *gen) logUniform(min, max int) int {
	lo, hi := math.Log(float64(min)), math.Log(float64(max))
	return int(math.Exp(lo + g.r.Float64()*(hi-lo)))
}

var zeros [256]byte

// content fills g.buf with n bytes of the kind's content and returns it.
func (g *gen) content(k *fileKind, n int) []byte {
	if cap(g.buf) < n {
		g.buf = make([]byte, n, n*2)
	}
	b := g.buf[:n]
	switch k.name {
	case "text":
		for i := 0; i < n; {
			off := g.r.IntN(len(g.corpus) - 4096)
			i += copy(b[i:], g.corpus[off:off+512+g.r.IntN(3584)])
		}
	case "data":
		// Records: a little structure, a few strings, some entropy.
		for i := 0; i < n; {
			switch g.r.IntN(3) {
			case 0:
				i += copy(b[i:], zeros[:4+g.r.IntN(28)])
			case 1:
				off := g.r.IntN(len(g.corpus) - 64)
				i += copy(b[i:], g.corpus[off:off+8+g.r.IntN(56)])
			default:
				m := min(n-i, 4+g.r.IntN(24))
				g.rnd.Read(b[i : i+m])
				i += m
			}
		}
	case "code":
		// Machine-code-like: recurring sequences, fresh entropy, zero
		// padding and string tables.
		for i := 0; i < n; {
			switch p := g.r.IntN(100); {
			case p < 78:
				i += copy(b[i:], g.snips[g.r.IntN(len(g.snips))])
			case p < 92:
				m := min(n-i, 8+g.r.IntN(40))
				g.rnd.Read(b[i : i+m])
				i += m
			case p < 96:
				i += copy(b[i:], zeros[:16+g.r.IntN(240)])
			default:
				off := g.r.IntN(len(g.corpus) - 256)
				i += copy(b[i:], g.corpus[off:off+16+g.r.IntN(240)])
			}
		}
	default: // packed: already compressed, incompressible
		g.rnd.Read(b)
	}
	return b
}

func (g *gen) pickKind() *fileKind {
	total := 0
	for i := range kinds {
		total += kinds[i].weight
	}
	n := g.r.IntN(total)
	for i := range kinds {
		if n < kinds[i].weight {
			return &kinds[i]
		}
		n -= kinds[i].weight
	}
	return &kinds[len(kinds)-1]
}

// layerStats describes a generated layer.
type layerStats struct {
	Files, Dirs, Symlinks, Hardlinks int
	ContentBytes                     int64 // regular-file content
	TarBytes                         int64
}

// countingWriter counts what goes through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeLayer writes a tar of about size bytes of file content, under the
// top directory prefix (distinct per layer), to w.
func (g *gen) writeLayer(w io.Writer, prefix string, size int64) (layerStats, error) {
	cw := &countingWriter{w: w}
	tw := tar.NewWriter(cw)
	var st layerStats
	hdr := func(h *tar.Header) error {
		h.ModTime = g.mtime
		h.Uname, h.Gname = "root", "root"
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", h.Name, err)
		}
		return nil
	}
	mkdir := func(name string) error {
		st.Dirs++
		return hdr(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	}
	tops := []string{"usr/lib/" + prefix, "usr/share/" + prefix, "usr/bin", "etc/" + prefix, "opt/" + prefix}
	for _, d := range []string{"usr", "usr/lib", "usr/share", "usr/bin", "etc", "opt"} {
		if err := mkdir(d); err != nil {
			return st, err
		}
	}
	for _, d := range tops {
		if d != "usr/bin" {
			if err := mkdir(d); err != nil {
				return st, err
			}
		}
	}
	var (
		dir       string
		inDir     int
		dirN      int
		lastFiles []string
	)
	for i := 0; st.ContentBytes < size; i++ {
		if inDir == 0 {
			top := tops[g.r.IntN(len(tops))]
			dir = fmt.Sprintf("%s/pkg%04d", top, dirN)
			dirN++
			if top == "usr/bin" {
				dir = top
			} else if err := mkdir(dir); err != nil {
				return st, err
			}
			inDir = 5 + g.r.IntN(40) // files in this directory
		}
		inDir--
		k := g.pickKind()
		n := g.logUniform(k.min, k.max)
		name := fmt.Sprintf("%s/%s%05d%s", dir, k.name[:1], i, k.ext[g.r.IntN(len(k.ext))])
		body := g.content(k, n)
		if err := hdr(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: k.mode, Size: int64(n)}); err != nil {
			return st, err
		}
		if _, err := tw.Write(body); err != nil {
			return st, fmt.Errorf("tar %s: %w", name, err)
		}
		st.Files++
		st.ContentBytes += int64(n)
		lastFiles = append(lastFiles[max(0, len(lastFiles)-16):], name)
		switch {
		case strings.HasSuffix(name, ".so"):
			// soname links: libX.so.1 -> libX.so
			st.Symlinks++
			base := name[strings.LastIndexByte(name, '/')+1:]
			if err := hdr(&tar.Header{Name: name + ".1", Typeflag: tar.TypeSymlink, Linkname: base, Mode: 0o777}); err != nil {
				return st, err
			}
		case g.r.IntN(40) == 0:
			// an alias, as update-alternatives and packages make
			st.Symlinks++
			base := name[strings.LastIndexByte(name, '/')+1:]
			if err := hdr(&tar.Header{Name: fmt.Sprintf("%s/a%05d", dir, i), Typeflag: tar.TypeSymlink, Linkname: base, Mode: 0o777}); err != nil {
				return st, err
			}
		case g.r.IntN(150) == 0:
			st.Hardlinks++
			target := lastFiles[g.r.IntN(len(lastFiles))]
			if err := hdr(&tar.Header{Name: fmt.Sprintf("%s/l%05d", dir, i), Typeflag: tar.TypeLink, Linkname: target}); err != nil {
				return st, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return st, fmt.Errorf("tar: %w", err)
	}
	st.TarBytes = cw.n
	return st, nil
}
