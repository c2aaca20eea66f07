package devregistry

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestSeedBusybox(t *testing.T) {
	bb := FindBusybox()
	if bb == "" {
		t.Skip("no static busybox (apt-get install busybox-static)")
	}
	r, err := Start("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	img, err := BusyboxImage(bb)
	if err != nil {
		t.Fatal(err)
	}
	ref := r.Addr() + "/busybox:1"
	if err := Push(context.Background(), ref, img); err != nil {
		t.Fatal(err)
	}
	parsed, _ := name.ParseReference(ref, name.Insecure)
	got, err := remote.Image(parsed)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("pulled %s, pushed %s", d, want)
	}
	if _, err := Start("10.0.0.1:5000", t.TempDir()); err == nil {
		t.Fatal("non-loopback address accepted")
	}
}
