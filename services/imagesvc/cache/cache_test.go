package cache

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func dg(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

type clock struct{ n atomic.Int64 }

func (c *clock) now() time.Time { return time.Unix(1700000000+c.n.Add(1), 0) }

func openStore(t *testing.T, root string) *Store {
	t.Helper()
	c := &clock{}
	s, err := Open(context.Background(), root, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// addLayer commits a layer holding one file of size bytes.
func addLayer(t *testing.T, s *Store, diffID string, size int64) {
	t.Helper()
	dir, err := s.TempDir("layer-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil { // removal must cope
		t.Fatal(err)
	}
	if err := s.CommitLayer(LayerRecord{DiffID: diffID, Digest: "sha256:c" + diffID[8:71], DiskUsage: size}, dir); err != nil {
		t.Fatal(err)
	}
}

func addImage(t *testing.T, s *Store, digest, ref string, diffIDs ...string) {
	t.Helper()
	rec := &ImageRecord{Digest: digest, Manifest: []byte(`{}`), Config: []byte(`{}`), Refs: []string{ref}}
	for _, d := range diffIDs {
		rec.Layers = append(rec.Layers, LayerRef{Digest: "sha256:c" + d[8:71], DiffID: d})
	}
	if err := s.PutImage(rec); err != nil {
		t.Fatal(err)
	}
}

func TestStoreLifecycle(t *testing.T) {
	root := filepath.Join(t.TempDir(), "c")
	s := openStore(t, root)
	ctx := context.Background()
	addLayer(t, s, dg('1'), 100)
	addLayer(t, s, dg('2'), 200)
	addLayer(t, s, dg('3'), 300)
	// A second commit of the same layer keeps the first.
	dup, _ := s.TempDir("layer-")
	if err := s.CommitLayer(LayerRecord{DiffID: dg('1'), DiskUsage: 999}, dup); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dup); !errors.Is(err, fs.ErrNotExist) {
		t.Error("duplicate layer dir left in tmp")
	}
	if err := s.PutImage(&ImageRecord{Digest: dg('x'), Layers: []LayerRef{{DiffID: dg('9')}}}); err == nil {
		t.Error("image with a missing layer accepted")
	}
	addImage(t, s, dg('a'), "r/a:1", dg('1'), dg('2'))
	addImage(t, s, dg('b'), "r/b:1", dg('2'), dg('3'))
	if u := s.Usage(); u.Bytes != 600 || u.Images != 2 || u.Layers != 3 {
		t.Errorf("usage %+v", u)
	}
	// Moving a tag moves it off the old image.
	addImage(t, s, dg('b'), "r/a:1", dg('2'), dg('3'))
	if r, err := s.LookupRef("r/a:1"); err != nil || r.Digest != dg('b') {
		t.Errorf("LookupRef after retag: %v %v", r, err)
	}
	if a, _ := s.Image(dg('a')); len(a.Refs) != 0 {
		t.Errorf("old image kept the tag: %q", a.Refs)
	}

	// Reopen: same content.
	s.Close()
	s2, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	defer s2.Close()
	if u := s2.Usage(); u.Bytes != 600 || u.Images != 2 || u.Layers != 3 {
		t.Errorf("usage after reopen %+v", u)
	}
	if r, err := s2.LookupRef("r/a:1"); err != nil || r.Digest != dg('b') {
		t.Errorf("LookupRef after reopen: %v", err)
	}
}

func TestStoreReopenDropsDebris(t *testing.T) {
	root := filepath.Join(t.TempDir(), "c")
	s := openStore(t, root)
	addLayer(t, s, dg('1'), 100)
	addLayer(t, s, dg('2'), 100)
	addImage(t, s, dg('a'), "r/a:1", dg('1'))
	addImage(t, s, dg('b'), "r/b:1", dg('2'))
	if _, err := Open(context.Background(), root, Options{}); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: %v, want ErrLocked", err)
	}
	s.Close()
	// Layer 2's record vanishes (crash mid-removal): image b must go too.
	if err := os.Remove(filepath.Join(root, "layers/sha256", strings.Repeat("2", 64)+".json")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp/layer-1/x"), 0o755); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, root)
	if _, err := s2.Image(dg('a')); err != nil {
		t.Errorf("image a lost: %v", err)
	}
	if _, err := s2.Image(dg('b')); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("image b with a missing layer kept: %v", err)
	}
	for _, p := range []string{"layers/sha256/" + strings.Repeat("2", 64), "tmp/layer-1"} {
		if _, err := os.Stat(filepath.Join(root, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s kept: %v", p, err)
		}
	}
}

func TestStoreRemoveAndGC(t *testing.T) {
	root := filepath.Join(t.TempDir(), "c")
	s := openStore(t, root)
	ctx := context.Background()
	for i, c := range []byte("12345") {
		addLayer(t, s, dg(c), int64(100*(i+1)))
	}
	addImage(t, s, dg('a'), "r/a", dg('1'), dg('2')) // oldest
	addImage(t, s, dg('b'), "r/b", dg('2'), dg('3'))
	addImage(t, s, dg('c'), "r/c", dg('4'))
	// Layer 5 belongs to no image but a pull in flight leases it.
	release := s.LeaseLayers(dg('5'))

	rel, err := s.Acquire(dg('a'))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveImage(ctx, dg('a')); !errors.Is(err, ErrInUse) {
		t.Errorf("remove in use: %v", err)
	}
	rel()
	rel() // idempotent
	if err := s.RemoveImage(ctx, dg('a')); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Layer(dg('1')); ok {
		t.Error("layer 1 (only in a) kept")
	}
	if _, ok := s.Layer(dg('2')); !ok {
		t.Error("layer 2 (shared with b) removed")
	}

	// GC without budget drops nothing referenced or leased.
	if rep, err := s.GC(ctx, GCOptions{}); err != nil || rep.RemovedLayers != 0 {
		t.Errorf("GC: %+v %v", rep, err)
	}
	release()
	rep, err := s.GC(ctx, GCOptions{})
	if err != nil || rep.RemovedLayers != 1 {
		t.Errorf("GC after lease release: %+v %v", rep, err)
	}
	// Budget: b (older) goes before c; Protect keeps c even when needed.
	used := s.Usage().Bytes // layers 2,3,4 = 200+300+400
	if used != 900 {
		t.Fatalf("used = %d", used)
	}
	rep, err = s.GC(ctx, GCOptions{Budget: 500, Protect: []string{dg('c')}})
	if err != nil || !slices.Equal(rep.RemovedImages, []string{dg('b')}) || rep.UsedAfter != 400 || !rep.Met {
		t.Errorf("GC: %+v %v", rep, err)
	}
	rep, err = s.GC(ctx, GCOptions{Budget: 500, Need: 200, Protect: []string{dg('c')}})
	if !errors.Is(err, ErrBudgetExceeded) || rep.Met || !slices.Equal(rep.Kept, []string{dg('c')}) {
		t.Errorf("GC over budget: %+v %v", rep, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("trash left: %v", ents)
	}
}

// Starting a container touches its image in memory at once; the disk sees
// the new last-use time only once it is a minute newer than what is there.
func TestTouchPersistsLazily(t *testing.T) {
	root := filepath.Join(t.TempDir(), "c")
	var now atomic.Int64
	now.Store(1700000000)
	clockAt := func() time.Time { return time.Unix(now.Load(), 0) }
	s, err := Open(context.Background(), root, Options{Now: clockAt})
	if err != nil {
		t.Fatal(err)
	}
	addLayer(t, s, dg('1'), 10)
	addImage(t, s, dg('a'), "r/a", dg('1'))
	onDisk := func() time.Time {
		t.Helper()
		b, err := os.ReadFile(s.imagePath(dg('a')))
		if err != nil {
			t.Fatal(err)
		}
		var r ImageRecord
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r.LastUsed
	}
	first := onDisk()
	now.Add(30)
	if err := s.Touch(dg('a')); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Image(dg('a')); !r.LastUsed.Equal(clockAt()) {
		t.Errorf("in memory: last used %v, want %v", r.LastUsed, clockAt())
	}
	if got := onDisk(); !got.Equal(first) {
		t.Errorf("on disk after 30 s: %v, want still %v", got, first)
	}
	now.Add(31)
	if err := s.Touch(dg('a')); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(); !got.Equal(clockAt()) {
		t.Errorf("on disk after 61 s: %v, want %v", got, clockAt())
	}
	s.Close()
}
