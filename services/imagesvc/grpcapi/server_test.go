package grpcapi

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/internal/apierr"
	imagev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/image/v1"
	"github.com/openpacific/pacific/services/imagesvc"
)

func TestPullOverGRPCStreamsProgressThenImage(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/demo/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := imagesvc.New(ctx, imagesvc.Options{Root: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	imagev1.RegisterImageServiceServer(srv, New(svc))
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := imagev1.NewImageServiceClient(conn)

	stream, err := client.Pull(ctx, &imagev1.PullRequest{Ref: host + "/demo/app:1", Namespace: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	var got *imagev1.Image
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p := msg.GetProgress(); p != nil {
			phases = append(phases, p.GetPhase())
		}
		if msg.GetImage() != nil {
			got = msg.GetImage()
		}
	}
	want, _ := img.Digest()
	if got == nil || got.GetDigest() != want.String() {
		t.Fatalf("pulled %v, want digest %s", got, want)
	}
	if len(phases) == 0 || phases[len(phases)-1] != "done" {
		t.Fatalf("progress phases %v do not end with done", phases)
	}

	list, err := client.ListImages(ctx, &imagev1.ListImagesRequest{})
	if err != nil || len(list.GetImages()) != 1 {
		t.Fatalf("ListImages = %v, %v", list, err)
	}

	found, err := client.LookupImage(ctx, &imagev1.LookupImageRequest{Ref: host + "/demo/app:1"})
	if err != nil || found.GetImage().GetDigest() != got.GetDigest() || found.GetImage().GetSize() == 0 {
		t.Fatalf("LookupImage = %v, %v", found, err)
	}
	missing, err := client.Pull(ctx, &imagev1.PullRequest{Ref: host + "/demo/nope:1"})
	if err == nil {
		for err == nil {
			_, err = missing.Recv()
		}
	}
	if status.Code(err) != codes.NotFound || apierr.ReasonOf(err, ErrorDomain) == "" {
		t.Fatalf("missing image: %v (reason %q)", err, apierr.ReasonOf(err, ErrorDomain))
	}
	_, err = client.Mount(ctx, &imagev1.MountRequest{ImageDigest: got.GetDigest(), ContainerId: "c1", Target: "relative/path"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("relative mount target: %v", err)
	}
}
