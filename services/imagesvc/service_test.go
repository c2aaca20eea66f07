package imagesvc

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// baseLayers builds the three-layer test image: a base with a hardlink and
// symlinks, a layer deleting a file (whiteout), and one hiding a lower
// directory (opaque).
func baseLayers(t *testing.T) []v1.Layer {
	l1 := tarBytes(t,
		tf{name: "etc/", typ: tar.TypeDir},
		tf{name: "etc/os-release", body: "ID=pacific-test\n"},
		tf{name: "bin/", typ: tar.TypeDir},
		tf{name: "bin/busybox", body: "BB", mode: 0o755},
		tf{name: "bin/sh", typ: tar.TypeLink, link: "bin/busybox"},
		tf{name: "bin/ls", typ: tar.TypeSymlink, link: "busybox"},
		tf{name: "var/cache/old", body: "stale"},
		tf{name: "opt/lower/a", body: "lower"},
		tf{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
	)
	l2 := tarBytes(t,
		tf{name: "var/cache/", typ: tar.TypeDir},
		tf{name: "var/cache/.wh.old"},
		tf{name: "etc/motd", body: "hello\n"},
	)
	l3 := tarBytes(t,
		tf{name: "opt/", typ: tar.TypeDir},
		tf{name: "opt/.wh..wh..opq"},
		tf{name: "opt/upper/b", body: "upper"},
		tf{name: "bin/ls", typ: tar.TypeSymlink, link: "/bin/busybox"},
	)
	return []v1.Layer{layerFrom(t, l1), layerFrom(t, l2), layerFrom(t, l3)}
}

// mergedWant is the union of baseLayers as a container sees it.
var mergedWant = []string{
	"d bin", "f bin/busybox", "l bin/ls", "f bin/sh",
	"d etc", "f etc/motd", "f etc/os-release",
	"d opt", "d opt/upper", "f opt/upper/b",
	"d tmp",
	"d var", "d var/cache",
}

var phaseOrder = []Phase{PhaseDownloading, PhaseVerifying, PhaseExtracting, PhaseDone}

func TestPullVerifyExtract(t *testing.T) {
	reg := newTestRegistry(t)
	layers := baseLayers(t)
	img := imageOf(t, amd64, layers...)
	ref := reg.push(img, "app/base:1")
	s, root := newService(t, nil)

	var mu sync.Mutex
	var events []Progress
	got, err := s.Pull(context.Background(), PullRequest{Ref: ref, Namespace: "demo", Progress: func(p Progress) {
		mu.Lock()
		events = append(events, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if want := digestOf(t, img).String(); got.Digest != want {
		t.Errorf("digest = %s, want %s", got.Digest, want)
	}
	if len(got.Layers) != 3 || !slices.Equal(got.Refs, []string{ref}) {
		t.Errorf("layers=%d refs=%q", len(got.Layers), got.Refs)
	}
	if got.Config == nil || !slices.Equal(got.Config.Config.Cmd, []string{"/bin/sh"}) {
		t.Errorf("config not returned: %+v", got.Config)
	}
	for i, l := range layers {
		if got.Layers[i].DiffID != diffIDOf(t, l).String() {
			t.Errorf("layer %d diffID = %s", i, got.Layers[i].DiffID)
		}
	}

	// Layer 1 on disk: hardlink, symlink as is.
	l1 := got.Layers[0].Dir
	var a, b unix.Stat_t
	if err := unix.Lstat(filepath.Join(l1, "bin/busybox"), &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lstat(filepath.Join(l1, "bin/sh"), &b); err != nil {
		t.Fatal(err)
	}
	if a.Ino != b.Ino {
		t.Error("bin/sh is not a hardlink to bin/busybox")
	}
	if target, _ := os.Readlink(filepath.Join(l1, "bin/ls")); target != "busybox" {
		t.Errorf("bin/ls -> %q", target)
	}
	if st, err := os.Stat(filepath.Join(l1, "tmp")); err != nil || st.Mode()&fs.ModeSticky == 0 {
		t.Errorf("tmp: %v, sticky bit lost", err)
	}
	// Whiteouts and opaque dirs: overlayfs form when root, recorded always.
	l2rec, _ := s.Store().Layer(got.Layers[1].DiffID)
	l3rec, _ := s.Store().Layer(got.Layers[2].DiffID)
	if !slices.Equal(l2rec.Whiteouts, []string{"var/cache/old"}) || !slices.Equal(l3rec.OpaqueDirs, []string{"opt"}) {
		t.Errorf("recorded whiteouts=%q opaque=%q", l2rec.Whiteouts, l3rec.OpaqueDirs)
	}
	if s.overlayWhiteouts() {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(got.Layers[1].Dir, "var/cache/old"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("whiteout device: %v mode=%o", err, st.Mode)
		}
		buf := make([]byte, 4)
		if n, err := unix.Lgetxattr(filepath.Join(got.Layers[2].Dir, "opt"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
			t.Errorf("opaque xattr: %q %v", buf[:n], err)
		}
	}

	// Progress: resolving first, image done last, every layer through the
	// phases in order, bytes within bounds.
	mu.Lock()
	defer mu.Unlock()
	if len(events) < 2 || events[0].Phase != PhaseResolving || events[len(events)-1].Phase != PhaseDone || events[len(events)-1].Layer != "" {
		t.Fatalf("events: first %+v last %+v", events[0], events[len(events)-1])
	}
	var total int64
	for _, l := range layers {
		sz, _ := l.Size()
		total += sz
	}
	if last := events[len(events)-1]; last.Done != total || last.Total != total || last.Image != got.Digest {
		t.Errorf("final event %+v, want %d bytes", last, total)
	}
	for i := range layers {
		pos := -1
		var sawDone bool
		for _, e := range events {
			if e.Layer == "" || e.LayerIndex != i {
				continue
			}
			if e.Ref != ref || e.LayerCount != 3 || e.Done < 0 || e.Done > e.Total {
				t.Errorf("layer %d event %+v", i, e)
			}
			p := slices.Index(phaseOrder, e.Phase)
			if p < pos {
				t.Errorf("layer %d: phase %s after %s", i, e.Phase, phaseOrder[pos])
			}
			pos = p
			sawDone = sawDone || (e.Phase == PhaseDone && e.Done == e.Total)
		}
		if !sawDone {
			t.Errorf("layer %d never reported done", i)
		}
	}
	// Work area empty; pulling again downloads nothing.
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp not empty: %v", ents)
	}
	before := reg.count("GET", "")
	if _, err := s.Pull(context.Background(), PullRequest{Ref: ref}); err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if n := reg.blobGets(digestOf(t, l)); n != 1 {
			t.Errorf("layer %s fetched %d times, want 1", digestOf(t, l), n)
		}
	}
	if after := reg.count("GET", ""); after-before > 3 { // ping + manifest (+ token)
		t.Errorf("cached pull made %d GETs", after-before)
	}
}

func TestPullOCIZstdUncompressedKeepBlobs(t *testing.T) {
	reg := newTestRegistry(t)
	z := layerFrom(t, tarBytes(t, tf{name: "z/file", body: "zstd"}), tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	plain := layerFrom(t, tarBytes(t, tf{name: "p/file", body: "plain"}), tarball.WithCompression(compression.None), tarball.WithMediaType(types.OCIUncompressedLayer))
	img := mutate.ConfigMediaType(mutate.MediaType(imageOf(t, amd64, z, plain), types.OCIManifestSchema1), types.OCIConfigJSON)
	ref := reg.push(img, "app/zstd:1")
	s, root := newService(t, func(o *Options) { o.KeepBlobs = true })
	got, err := s.Pull(context.Background(), PullRequest{Ref: ref})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(got.Layers[0].Dir, "z/file")); err != nil || string(b) != "zstd" {
		t.Errorf("z/file = %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(got.Layers[1].Dir, "p/file")); err != nil || string(b) != "plain" {
		t.Errorf("p/file = %q, %v", b, err)
	}
	// Kept blobs are verified copies, counted in the usage, and go with
	// the image.
	for _, l := range []v1.Layer{z, plain} {
		d := digestOf(t, l)
		f, err := os.Open(filepath.Join(root, "blobs/sha256", d.Hex))
		if err != nil {
			t.Fatalf("blob %s not kept: %v", d, err)
		}
		h, _, err := v1.SHA256(f)
		f.Close()
		if err != nil || h != d {
			t.Errorf("kept blob hashes to %s, want %s", h, d)
		}
	}
	if u := s.Store().Usage(); u.Blobs != 2 {
		t.Errorf("usage %+v", u)
	}
	if err := s.Remove(context.Background(), got.Digest); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "blobs/sha256")); len(ents) != 0 {
		t.Errorf("blobs left after Remove: %v", ents)
	}
}

func TestPullIndexPicksPlatform(t *testing.T) {
	reg := newTestRegistry(t)
	amdImg := imageOf(t, amd64, layerFrom(t, tarBytes(t, tf{name: "arch", body: "amd64"})))
	armImg := imageOf(t, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, layerFrom(t, tarBytes(t, tf{name: "arch", body: "arm64"})))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: armImg, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
		mutate.IndexAddendum{Add: amdImg, Descriptor: v1.Descriptor{Platform: &amd64}},
	)
	ref := reg.pushIndex(idx, "multi/arch:1")

	s, _ := newService(t, nil)
	got, err := s.Pull(context.Background(), PullRequest{Ref: ref})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if got.Digest != digestOf(t, amdImg).String() || got.IndexDigest != digestOf(t, idx).String() {
		t.Errorf("digest %s index %s; want %s from %s", got.Digest, got.IndexDigest, digestOf(t, amdImg), digestOf(t, idx))
	}
	if b, _ := os.ReadFile(filepath.Join(got.Layers[0].Dir, "arch")); string(b) != "amd64" {
		t.Errorf("arch = %q", b)
	}
	if got.Platform != "linux/amd64" {
		t.Errorf("platform = %q", got.Platform)
	}
	// The index digest finds the image offline.
	byIdx, err := s.Lookup(reg.ref("multi/arch@" + digestOf(t, idx).String()))
	if err != nil || byIdx.Digest != got.Digest {
		t.Errorf("Lookup by index digest: %v", err)
	}
	if n := reg.blobGets(digestOf(t, armImg)); n != 0 {
		t.Errorf("arm64 manifest fetched as blob %d times", n)
	}

	// The same as a Docker manifest list.
	ref2 := reg.pushIndex(mutate.IndexMediaType(idx, types.DockerManifestList), "multi/arch:docker")
	s3, _ := newService(t, nil)
	got2, err := s3.Pull(context.Background(), PullRequest{Ref: ref2})
	if err != nil || got2.Digest != got.Digest {
		t.Errorf("manifest list: %v", err)
	}

	// A platform the index lacks.
	s2, _ := newService(t, func(o *Options) { o.Platform = v1.Platform{OS: "linux", Architecture: "s390x"} })
	_, err = s2.Pull(context.Background(), PullRequest{Ref: ref})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "linux/s390x") || !strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("err = %v, want ErrUnsupported naming the platforms", err)
	}
}

func TestPullNotFound(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(imageOf(t, amd64, layerFrom(t, tarBytes(t, tf{name: "f"}))), "app/exists:1")
	s, _ := newService(t, nil)
	for _, tc := range []struct{ ref, msg string }{
		{reg.ref("app/exists:nope"), "MANIFEST_UNKNOWN: Unknown manifest"},
		{reg.ref("no/such:1"), "NAME_UNKNOWN: Unknown name"},
	} {
		_, err := s.Pull(context.Background(), PullRequest{Ref: tc.ref})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", tc.ref, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.ref) {
			t.Errorf("%s: error %q lacks the registry's message %q or the ref", tc.ref, err, tc.msg)
		}
		if Reason(err) != "ImageNotFound" || errors.Is(err, ErrUnreachable) {
			t.Errorf("reason = %s", Reason(err))
		}
	}
	if n := reg.count("GET", "/manifests/nope"); n != 1 {
		t.Errorf("not found was retried: %d manifest GETs", n)
	}
	_, err := s.Pull(context.Background(), PullRequest{Ref: "UPPER/case"})
	if !errors.Is(err, ErrInvalidReference) {
		t.Errorf("err = %v, want ErrInvalidReference", err)
	}
}

func TestPullRegistryDown(t *testing.T) {
	reg := newTestRegistry(t)
	ref := reg.ref("app/gone:1")
	reg.srv.Close()
	s, _ := newService(t, func(o *Options) { o.PullAttempts = 2 })
	_, err := s.Pull(context.Background(), PullRequest{Ref: ref})
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "2 attempts") {
		t.Errorf("error %q should say why and how often", err)
	}
	if Reason(err) != "RegistryUnavailable" {
		t.Errorf("reason = %s", Reason(err))
	}
}

func TestPullAuth(t *testing.T) {
	reg := newTestRegistry(t)
	reg.requireAuth("alice", "s3cret")
	ref := reg.push(imageOf(t, amd64, layerFrom(t, tarBytes(t, tf{name: "private", body: "p"}))), "team/private:1")
	s, _ := newService(t, nil)

	_, err := s.Pull(context.Background(), PullRequest{Ref: ref})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "authentication required (test registry)") {
		t.Errorf("anonymous: err = %v, want ErrUnauthorized with the registry's message", err)
	}
	_, err = s.Pull(context.Background(), PullRequest{Ref: ref, PullSecrets: [][]byte{dockerConfig(reg.host, "alice", "wrong")}})
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong password: err = %v, want ErrUnauthorized", err)
	}
	_, err = s.Pull(context.Background(), PullRequest{Ref: ref, PullSecrets: [][]byte{[]byte("{not json")}})
	if !errors.Is(err, ErrInvalidPullSecret) {
		t.Errorf("bad secret: err = %v", err)
	}
	secrets := [][]byte{dockerConfig("other.example", "bob", "x"), dockerConfig(reg.host, "alice", "s3cret")}
	if _, err := s.Pull(context.Background(), PullRequest{Ref: ref, PullSecrets: secrets}); err != nil {
		t.Fatalf("with secret: %v", err)
	}
	// Cached now, but another namespace without the secret still may not
	// have it.
	_, err = s.Pull(context.Background(), PullRequest{Ref: ref, Namespace: "other"})
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("cached private image handed out without credentials: %v", err)
	}
}

func TestPullCorruptBlobRetried(t *testing.T) {
	reg := newTestRegistry(t)
	l := layerFrom(t, tarBytes(t, tf{name: "data", body: strings.Repeat("payload", 1000)}))
	ref := reg.push(imageOf(t, amd64, l), "app/flaky:1")
	reg.setCorrupt(digestOf(t, l), 2)
	s, root := newService(t, nil) // 3 attempts
	var mu sync.Mutex
	attempts := map[int]bool{}
	got, err := s.Pull(context.Background(), PullRequest{Ref: ref, Progress: func(p Progress) {
		mu.Lock()
		attempts[p.Attempt] = true
		mu.Unlock()
	}})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if n := reg.blobGets(digestOf(t, l)); n != 3 {
		t.Errorf("blob fetched %d times, want 3 (2 corrupt + 1 good)", n)
	}
	if b, _ := os.ReadFile(filepath.Join(got.Layers[0].Dir, "data")); string(b) != strings.Repeat("payload", 1000) {
		t.Error("layer content wrong")
	}
	mu.Lock()
	if !attempts[3] {
		t.Errorf("progress never reported attempt 3: %v", attempts)
	}
	mu.Unlock()
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("partial downloads left in tmp: %v", ents)
	}
}

func TestPullCorruptBlobGivesUp(t *testing.T) {
	reg := newTestRegistry(t)
	good := layerFrom(t, tarBytes(t, tf{name: "good", body: "g"}))
	bad := layerFrom(t, tarBytes(t, tf{name: "bad", body: strings.Repeat("b", 5000)}))
	ref := reg.push(imageOf(t, amd64, good, bad), "app/broken:1")
	reg.setCorrupt(digestOf(t, bad), -1)
	s, root := newService(t, func(o *Options) { o.MaxConcurrentLayers = 1 })
	_, err := s.Pull(context.Background(), PullRequest{Ref: ref})
	waitFor(t, "downloads to stop", s.idle)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("err = %v, want ErrDigestMismatch", err)
	}
	if !strings.Contains(err.Error(), digestOf(t, bad).String()) || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error %q should name the blob and the attempts", err)
	}
	if n := reg.blobGets(digestOf(t, bad)); n != 3 {
		t.Errorf("corrupt blob fetched %d times, want 3", n)
	}
	if _, ok := s.Store().Layer(diffIDOf(t, bad).String()); ok {
		t.Error("corrupt layer committed")
	}
	if _, err := os.Stat(s.Store().LayerDir(diffIDOf(t, bad).String())); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("corrupt layer dir exists: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("partial downloads left in tmp: %v", ents)
	}
	if imgs, _ := s.List(); len(imgs) != 0 {
		t.Errorf("image recorded: %d", len(imgs))
	}
}

func TestPullRejectsUnsafeLayers(t *testing.T) {
	reg := newTestRegistry(t)
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpName := fmt.Sprintf("pacific-imagesvc-test-%d", os.Getpid())
	cases := map[string][]tf{
		"dotdot":        {{name: "ok", body: "x"}, {name: "../escape", body: "pwned"}},
		"dotdot-nested": {{name: "a/../../escape", body: "pwned"}},
		"abs-path":      {{name: "/abs/path", body: "pwned"}},
		"abs-outside":   {{name: outside + "/abs", body: "pwned"}},
		"symlink-write-through-tmp": {
			{name: "a", typ: tar.TypeSymlink, link: "/tmp"},
			{name: "a/" + tmpName, body: "pwned"},
		},
		"symlink-write-through-outside": {
			{name: "a", typ: tar.TypeSymlink, link: outside},
			{name: "a/victim", body: "pwned"},
		},
		"hardlink-outside":      {{name: "h", typ: tar.TypeLink, link: "../../../../../../" + victim}},
		"hardlink-abs":          {{name: "h", typ: tar.TypeLink, link: victim}},
		"hardlink-via-symlink":  {{name: "s", typ: tar.TypeSymlink, link: outside}, {name: "h", typ: tar.TypeLink, link: "s/victim"}},
		"whiteout-through-link": {{name: "s", typ: tar.TypeSymlink, link: outside}, {name: "s/.wh.victim"}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			base := imageOf(t, amd64, layerFrom(t, tarBytes(t, tf{name: "base", body: "fine"})))
			evil := layerFrom(t, tarBytes(t, entries...))
			img, err := mutate.AppendLayers(base, evil)
			if err != nil {
				t.Fatal(err)
			}
			ref := reg.push(img, "evil/"+name+":1")
			s, root := newService(t, nil)
			_, err = s.Pull(context.Background(), PullRequest{Ref: ref})
			// The base layer's download may still be finishing.
			waitFor(t, "downloads to stop", s.idle)
			// Without root, whiteouts are only recorded: the whiteout case
			// cannot write anything and is accepted.
			if name == "whiteout-through-link" && !s.overlayWhiteouts() {
				if err != nil {
					t.Fatalf("Pull: %v", err)
				}
			} else {
				if !errors.Is(err, ErrUnsafeLayer) {
					t.Fatalf("err = %v, want ErrUnsafeLayer", err)
				}
				if Reason(err) != "UnsafeLayer" {
					t.Errorf("reason %s", Reason(err))
				}
				if n := reg.blobGets(digestOf(t, evil)); n != 1 {
					t.Errorf("unsafe layer fetched %d times; rejection must not be retried", n)
				}
				if _, ok := s.Store().Layer(diffIDOf(t, evil).String()); ok {
					t.Error("unsafe layer committed")
				}
				if imgs, _ := s.List(); len(imgs) != 0 {
					t.Error("image recorded")
				}
			}
			if b, _ := os.ReadFile(victim); string(b) != "original" {
				t.Errorf("victim changed: %q", b)
			}
			if got := listTree(t, outside); !slices.Equal(got, []string{"f victim"}) {
				t.Errorf("outside dir changed: %q", got)
			}
			for _, p := range []string{"/abs", "/tmp/" + tmpName, filepath.Join(filepath.Dir(root), "escape")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
			if got := listTree(t, filepath.Dir(root)); slices.ContainsFunc(got, func(p string) bool { return !strings.HasPrefix(p[2:], "cache") }) {
				t.Errorf("written next to the cache: %q", got)
			}
			if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
				t.Errorf("partial extraction left in tmp: %v", ents)
			}
		})
	}
}

func TestConcurrentPullsShareOneDownload(t *testing.T) {
	reg := newTestRegistry(t)
	shared := layerFrom(t, tarBytes(t, tf{name: "shared", body: strings.Repeat("s", 100000)}))
	own1 := layerFrom(t, tarBytes(t, tf{name: "one", body: "1"}))
	own2 := layerFrom(t, tarBytes(t, tf{name: "two", body: "2"}))
	img1, img2 := imageOf(t, amd64, shared, own1), imageOf(t, amd64, shared, own2)
	ref1, ref2 := reg.push(img1, "app/one:1"), reg.push(img2, "app/two:1")
	s, _ := newService(t, nil)

	// Hold the shared blob until every pull has joined.
	open := reg.gate(digestOf(t, shared))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		ref := ref1
		if i%2 == 1 {
			ref = ref2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Pull(context.Background(), PullRequest{Ref: ref})
		}()
	}
	waitFor(t, "all pulls to wait on the shared layer", func() bool {
		return s.images.waiting(digestOf(t, img1).String()) == n/2 &&
			s.images.waiting(digestOf(t, img2).String()) == n/2 &&
			s.layers.waiting(diffIDOf(t, shared).String()) == 2
	})
	open()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
		}
	}
	for _, l := range []v1.Layer{shared, own1, own2} {
		if got := reg.blobGets(digestOf(t, l)); got != 1 {
			t.Errorf("layer %s fetched %d times, want 1", digestOf(t, l), got)
		}
	}
	for _, img := range []v1.Image{img1, img2} {
		cfg, _ := img.ConfigName()
		if got := reg.blobGets(cfg); got != 1 {
			t.Errorf("config %s fetched %d times, want 1", cfg, got)
		}
	}
	if s.images.inFlight() != 0 || s.layers.inFlight() != 0 {
		t.Error("flights left running")
	}
}

func TestPullCancelledWaiterDoesNotCancelOthers(t *testing.T) {
	reg := newTestRegistry(t)
	l := layerFrom(t, tarBytes(t, tf{name: "f", body: "x"}))
	img := imageOf(t, amd64, l)
	ref := reg.push(img, "app/cancel:1")
	s, _ := newService(t, nil)
	open := reg.gate(digestOf(t, l))

	ctx1, cancel1 := context.WithCancel(context.Background())
	done1, done2 := make(chan error, 1), make(chan error, 1)
	go func() { _, err := s.Pull(ctx1, PullRequest{Ref: ref}); done1 <- err }()
	go func() { _, err := s.Pull(context.Background(), PullRequest{Ref: ref}); done2 <- err }()
	waitFor(t, "both pulls to join", func() bool { return s.images.waiting(digestOf(t, img).String()) == 2 })
	cancel1()
	if err := <-done1; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pull: %v", err)
	}
	open()
	if err := <-done2; err != nil {
		t.Errorf("other pull failed after the first was cancelled: %v", err)
	}
}
