package imagesvc

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func dg64(c string) string { return "sha256:" + strings.Repeat(c, 64) }

func fileLayer(t *testing.T, name string, size int) v1.Layer {
	return layerFrom(t, tarBytes(t, tf{name: name, body: strings.Repeat(name[:1], size)}))
}

func TestGCKeepsImagesInUse(t *testing.T) {
	reg := newTestRegistry(t)
	shared := fileLayer(t, "shared", 64<<10)
	refs := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		refs[n] = reg.push(imageOf(t, amd64, fileLayer(t, n+"-only", 64<<10)), "gc/"+n+":1")
	}
	refs["d"] = reg.push(imageOf(t, amd64, shared, fileLayer(t, "d-only", 64<<10)), "gc/d:1")
	refs["e"] = reg.push(imageOf(t, amd64, shared, fileLayer(t, "e-only", 64<<10)), "gc/e:1")
	s, _ := newService(t, nil)
	ctx := context.Background()
	imgs := map[string]*Image{}
	var unpinA func()
	for _, n := range []string{"a", "b", "c", "d", "e"} { // LRU order: a oldest
		img, err := s.Pull(ctx, PullRequest{Ref: refs[n]})
		if err != nil {
			t.Fatalf("pull %s: %v", n, err)
		}
		imgs[n] = img
		switch n {
		case "a": // in use through an explicit pin
			if unpinA, err = s.Pin(img.Digest); err != nil {
				t.Fatal(err)
			}
		case "b": // in use through a prepared rootfs
			if _, err := s.Prepare(ctx, img.Digest, "uses-b"); err != nil {
				t.Fatal(err)
			}
		}
	}
	layerSize := func(img *Image, i int) int64 {
		lr, _ := s.Store().Layer(img.Layers[i].DiffID)
		return lr.DiskUsage
	}
	cached := func() []string {
		var out []string
		list, _ := s.List()
		for n, img := range imgs {
			if slices.ContainsFunc(list, func(i *Image) bool { return i.Digest == img.Digest }) {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}

	// Over budget by a little: a and b are older but in use, so c goes.
	used := s.Store().Usage().Bytes
	s.SetDiskBudget(used - 1)
	rep, err := s.GC(ctx)
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	if !slices.Equal(rep.RemovedImages, []string{imgs["c"].Digest}) || !slices.Equal(cached(), []string{"a", "b", "d", "e"}) {
		t.Errorf("removed %q, left %q; want c removed", rep.RemovedImages, cached())
	}
	if !slices.Equal(rep.Kept, []string{imgs["a"].Digest, imgs["b"].Digest}) {
		t.Errorf("kept %q, want the in-use a and b", rep.Kept)
	}

	// d goes next; the layer it shares with e stays.
	s.SetDiskBudget(s.Store().Usage().Bytes - 1)
	if _, err := s.GC(ctx); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if !slices.Equal(cached(), []string{"a", "b", "e"}) {
		t.Errorf("left %q, want a b e", cached())
	}
	if _, err := os.Stat(imgs["e"].Layers[0].Dir); err != nil {
		t.Errorf("shared layer removed with d: %v", err)
	}
	if _, err := os.Stat(imgs["d"].Layers[1].Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("d's own layer kept: %v", err)
	}

	// A budget the images in use cannot meet: everything else goes, and
	// the shortfall is reported.
	s.SetDiskBudget(1)
	rep, err = s.GC(ctx)
	if !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("GC: %v, want ErrBudgetExceeded", err)
	}
	if !slices.Equal(cached(), []string{"a", "b"}) {
		t.Errorf("left %q, want only the in-use a b", cached())
	}
	if want := layerSize(imgs["a"], 0) + layerSize(imgs["b"], 0); rep.UsedAfter != want {
		t.Errorf("used after = %d, want %d", rep.UsedAfter, want)
	}
	if st := s.Budget(); !st.Exceeded || !strings.Contains(st.Message, "in use") || Reason(err) != "DiskBudgetExceeded" {
		t.Errorf("budget status %+v", st)
	}

	// A declared in-use set pins too, and replacing it unpins.
	if err := s.SetInUse([]string{imgs["a"].Digest, dg64("f")}); !errors.Is(err, ErrImageNotCached) {
		t.Errorf("SetInUse with an unknown image: %v", err)
	}
	unpinA()
	if s.Store().InUse(imgs["a"].Digest) != 1 {
		t.Errorf("a not pinned by SetInUse")
	}
	if err := s.SetInUse(nil); err != nil {
		t.Fatal(err)
	}

	// Released images go; the budget is met again.
	if err := s.Unmount(ctx, "uses-b"); err != nil {
		t.Fatal(err)
	}
	s.SetDiskBudget(1)
	if _, err := s.GC(ctx); err != nil {
		t.Fatalf("GC after release: %v", err)
	}
	if len(cached()) != 0 || s.Store().Usage().Layers != 0 || s.Budget().Exceeded {
		t.Errorf("left %q, usage %+v, status %+v", cached(), s.Store().Usage(), s.Budget())
	}
}

func TestPullRefusedOverBudget(t *testing.T) {
	reg := newTestRegistry(t)
	inUse := reg.push(imageOf(t, amd64, fileLayer(t, "big", 256<<10)), "budget/inuse:1")
	next := fileLayer(t, "next", 64<<10)
	nextRef := reg.push(imageOf(t, amd64, next), "budget/next:1")
	s, _ := newService(t, nil)
	ctx := context.Background()
	img, err := s.Pull(ctx, PullRequest{Ref: inUse})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pin(img.Digest); err != nil {
		t.Fatal(err)
	}
	s.SetDiskBudget(s.Store().Usage().Bytes + 10)
	_, err = s.Pull(ctx, PullRequest{Ref: nextRef})
	if !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("Pull: %v, want ErrBudgetExceeded", err)
	}
	if !strings.Contains(err.Error(), "budget") || !s.Budget().Exceeded {
		t.Errorf("error %q / status %+v", err, s.Budget())
	}
	if n := reg.blobGets(digestOf(t, next)); n != 0 {
		t.Errorf("downloaded %d times despite the budget", n)
	}
}
