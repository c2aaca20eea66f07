package imagesvc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// mountsMentioning lists mountinfo lines naming any of the paths.
func mountsMentioning(t *testing.T, paths ...string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		for _, p := range paths {
			if p != "" && strings.Contains(line, p) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

func checkMerged(t *testing.T, target string) {
	t.Helper()
	if got := listTree(t, target); !slices.Equal(got, mergedWant) {
		t.Errorf("merged rootfs:\n got %q\nwant %q", got, mergedWant)
	}
	for p, want := range map[string]string{"etc/os-release": "ID=pacific-test\n", "etc/motd": "hello\n", "opt/upper/b": "upper", "bin/sh": "BB"} {
		if b, err := os.ReadFile(filepath.Join(target, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if l, _ := os.Readlink(filepath.Join(target, "bin/ls")); l != "/bin/busybox" {
		t.Errorf("bin/ls -> %q", l)
	}
}

func TestOverlayMount(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	ref := reg.push(imageOf(t, amd64, baseLayers(t)...), "app/base:1")
	s, root := newService(t, func(o *Options) { o.MountMode = MountOverlay })
	img, err := s.Pull(context.Background(), PullRequest{Ref: ref})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	target := filepath.Join(t.TempDir(), "rootfs")
	rfs, err := s.Mount(context.Background(), img.Digest, "c1", target)
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
	if rfs.Mode != MountOverlay || len(rfs.LowerDirs) != 3 || rfs.LowerDirs[0] != img.Layers[2].Dir {
		t.Errorf("rootfs %+v", rfs)
	}
	if len(mountsMentioning(t, target)) != 1 {
		t.Fatalf("target not mounted")
	}
	checkMerged(t, target)

	// Writes land in the container's upper dir, never in a shared layer.
	if err := os.WriteFile(filepath.Join(target, "etc/os-release"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(img.Layers[0].Dir, "etc/os-release")); string(b) != "ID=pacific-test\n" {
		t.Errorf("write reached the shared layer: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(rfs.UpperDir, "etc/os-release")); string(b) != "changed" {
		t.Errorf("upper dir: %q", b)
	}
	if err := s.Remove(context.Background(), img.Digest); !errors.Is(err, ErrInUse) {
		t.Errorf("Remove of a mounted image: %v, want ErrInUse", err)
	}
	// Mounting again at the same place is a no-op.
	if _, err := s.Mount(context.Background(), img.Digest, "c1", target); err != nil {
		t.Errorf("second Mount: %v", err)
	}

	// A second container from the same image, mounted by "the host agent"
	// from Prepare.
	rfs2, err := s.Prepare(context.Background(), img.Digest, "c2")
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	target2 := t.TempDir()
	if err := unix.Mount("overlay", target2, "overlay", 0, rfs2.OverlayOptions()); err != nil {
		t.Fatalf("mount from Prepare: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(target2, unix.MNT_DETACH) })
	checkMerged(t, target2)
	if s.Store().InUse(img.Digest) != 2 {
		t.Errorf("in use = %d, want 2", s.Store().InUse(img.Digest))
	}

	for _, id := range []string{"c1", "c2"} {
		if err := s.Unmount(context.Background(), id); err != nil {
			t.Fatalf("Unmount %s: %v", id, err)
		}
	}
	if m := mountsMentioning(t, target, target2, root); len(m) != 0 {
		t.Errorf("mounts left behind:\n%s", strings.Join(m, "\n"))
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("target Mount created still exists: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "containers")); len(ents) != 0 {
		t.Errorf("container state left: %v", ents)
	}
	if s.Store().InUse(img.Digest) != 0 {
		t.Error("image still pinned")
	}
	if err := s.Unmount(context.Background(), "c1"); err != nil {
		t.Errorf("Unmount is not idempotent: %v", err)
	}
	if err := s.Remove(context.Background(), img.Digest); err != nil {
		t.Errorf("Remove after Unmount: %v", err)
	}
}

func TestOverlayMountConvertsLayersFromUnprivilegedRun(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	ref := reg.push(imageOf(t, amd64, baseLayers(t)...), "app/base:1")
	// An unprivileged-style run (copy mode: no overlay whiteouts) fills the
	// cache; an overlay run over the same cache must convert the layers.
	root := filepath.Join(t.TempDir(), "cache")
	logger, _ := testLogger(t)
	s1, err := New(context.Background(), Options{Root: root, Logger: logger, Platform: amd64, MountMode: MountCopy})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s1.Pull(context.Background(), PullRequest{Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	s1.Close()
	if _, err := os.Lstat(filepath.Join(img.Layers[1].Dir, "var/cache/old")); err == nil {
		t.Fatal("copy-mode pull wrote an overlay whiteout")
	}
	s2, err := New(context.Background(), Options{Root: root, Logger: logger, Platform: amd64, MountMode: MountOverlay})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	target := filepath.Join(t.TempDir(), "rootfs")
	if _, err := s2.Mount(context.Background(), img.Digest, "c1", target); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
	checkMerged(t, target)
	if err := s2.Unmount(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if m := mountsMentioning(t, target, root); len(m) != 0 {
		t.Errorf("mounts left: %q", m)
	}
}

func TestCopyMountFallback(t *testing.T) {
	reg := newTestRegistry(t)
	ref := reg.push(imageOf(t, amd64, baseLayers(t)...), "app/base:1")
	s, root := newService(t, func(o *Options) { o.MountMode = MountCopy })
	img, err := s.Pull(context.Background(), PullRequest{Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "rootfs")
	rfs, err := s.Mount(context.Background(), img.Digest, "c1", target)
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	if rfs.Mode != MountCopy || len(rfs.LowerDirs) != 0 {
		t.Errorf("rootfs %+v", rfs)
	}
	checkMerged(t, target)
	// The copy is private: writing it leaves the cache alone.
	if err := os.WriteFile(filepath.Join(target, "bin/busybox"), []byte("changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(img.Layers[0].Dir, "bin/busybox")); string(b) != "BB" {
		t.Errorf("copy shares data with the cache: %q", b)
	}
	// A non-empty target is refused and left alone.
	busy := t.TempDir()
	if err := os.WriteFile(filepath.Join(busy, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mount(context.Background(), img.Digest, "c2", busy); !errors.Is(err, ErrMount) {
		t.Errorf("Mount on a non-empty dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(busy, "keep")); err != nil {
		t.Errorf("non-empty target touched: %v", err)
	}
	if err := s.Unmount(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copied rootfs left: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "containers")); len(ents) != 0 {
		t.Errorf("container state left: %v", ents)
	}
	if s.Store().InUse(img.Digest) != 0 {
		t.Error("image still pinned")
	}
}

// firstRun opens a service over a fresh cache with the given mount mode
// and pulls a test image, for tests that open the cache again after it.
func firstRun(t *testing.T, mode MountMode) (opts Options, s *Service, ref string, img *Image) {
	t.Helper()
	reg := newTestRegistry(t)
	ref = reg.push(imageOf(t, amd64, baseLayers(t)...), "app/base:1")
	logger, _ := testLogger(t)
	opts = Options{Root: filepath.Join(t.TempDir(), "cache"), Logger: logger, Platform: amd64, MountMode: mode}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = s.Pull(context.Background(), PullRequest{Ref: ref}); err != nil {
		t.Fatal(err)
	}
	return opts, s, ref, img
}

func TestRestartRestoresState(t *testing.T) {
	opts, s1, ref, img := firstRun(t, MountCopy)
	root := opts.Root
	if _, err := s1.Prepare(context.Background(), img.Digest, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), opts); err == nil {
		t.Fatal("a second service opened a locked cache")
	}
	// Debris a crash would leave: a partial layer and a half-made container.
	if err := os.MkdirAll(filepath.Join(root, "tmp", "layer-123", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "layers", "sha256", strings.Repeat("ab", 32)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "containers", "half"), 0o700); err != nil {
		t.Fatal(err)
	}
	s1.Close()

	s2, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Lookup(ref)
	if err != nil || got.Digest != img.Digest {
		t.Fatalf("Lookup after restart: %v", err)
	}
	if s2.Store().InUse(img.Digest) != 1 {
		t.Errorf("prepared container's image not pinned after restart")
	}
	for _, p := range []string{"tmp/layer-123", "layers/sha256/" + strings.Repeat("ab", 32), "containers/half"} {
		if _, err := os.Stat(filepath.Join(root, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survived restart: %v", p, err)
		}
	}
	if err := s2.Unmount(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if s2.Store().InUse(img.Digest) != 0 {
		t.Error("still pinned after Unmount")
	}
}

func TestOverlayMountManyLayers(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	var layers []v1.Layer
	for i := range 60 {
		layers = append(layers, layerFrom(t, tarBytes(t, tf{name: fmt.Sprintf("l/%02d", i), body: fmt.Sprint(i)}, tf{name: "top", body: fmt.Sprint(i)})))
	}
	ref := reg.push(imageOf(t, amd64, layers...), "app/deep:1")
	s, root := newService(t, func(o *Options) { o.MountMode = MountOverlay })
	img, err := s.Pull(context.Background(), PullRequest{Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "rootfs")
	rfs, err := s.Mount(context.Background(), img.Digest, "deep", target)
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
	if n := len(rfs.OverlayOptions()); n <= maxMountData {
		t.Fatalf("options only %d bytes: the test does not exercise the long path", n)
	}
	if got := listTree(t, filepath.Join(target, "l")); len(got) != 60 {
		t.Errorf("merged %d files, want 60", len(got))
	}
	if b, _ := os.ReadFile(filepath.Join(target, "top")); string(b) != "59" {
		t.Errorf("top = %q, want the topmost layer's", b)
	}
	if err := s.Unmount(context.Background(), "deep"); err != nil {
		t.Fatal(err)
	}
	if m := mountsMentioning(t, target, root); len(m) != 0 {
		t.Errorf("mounts left: %d", len(m))
	}
}

// A Mount that died after mounting but before it saved its state leaves a
// container dir without state.json and an overlay on its upper dir: the
// next start unmounts the overlay and removes the dir.
func TestRestartUnmountsAMountWithoutState(t *testing.T) {
	requireRoot(t)
	opts, s1, _, img := firstRun(t, MountOverlay)
	root := opts.Root
	target := filepath.Join(t.TempDir(), "rootfs")
	if _, err := s1.Mount(context.Background(), img.Digest, "c1", target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
	s1.Close()
	if err := os.Remove(filepath.Join(root, "containers", "c1", "state.json")); err != nil {
		t.Fatal(err)
	}

	s2, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if m := mountsMentioning(t, target); len(m) != 0 {
		t.Errorf("overlay of a container without state still mounted:\n%s", strings.Join(m, "\n"))
	}
	if _, err := os.Stat(filepath.Join(root, "containers", "c1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("container dir without state survived: %v", err)
	}
	if s2.Store().InUse(img.Digest) != 0 {
		t.Error("image pinned by a container without state")
	}
}
