package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/openpacific/pacific/internal/devregistry"
	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/natsauth"
	"github.com/openpacific/pacific/internal/natsembed"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/internal/prefetch"
	"github.com/openpacific/pacific/internal/testutil"
	imagev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/image/v1"
	"github.com/openpacific/pacific/services/hostagent/imageclient"
)

// runPacific runs the pacific command line in this process until ctx
// ends; the channel gets what it returned.
func runPacific(ctx context.Context, args ...string) <-chan error {
	root := newRootCommand(io.Discard, io.Discard)
	root.SetArgs(args)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	return done
}

// A separate image service (`pacific imagesvc --nats`) consumes its host's
// prefetch queue with the host's certificate and pulls what the scheduler
// asks for, before any pod needs it.
func TestImageServicePrefetchesFromNATS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ca, err := pki.NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := t.TempDir()
	issue := func(name, user string, groups ...string) {
		id, err := ca.Issue(pki.Request{User: user, Groups: groups, Hosts: []string{"127.0.0.1"}, Usage: pki.UsageClientServer})
		if err != nil {
			t.Fatal(err)
		}
		if err := id.Save(tlsDir, name); err != nil {
			t.Fatal(err)
		}
	}
	issue("imagesvc", "system:imagesvc")
	issue("h1", grpcserver.HostUserPrefix+"h1", grpcserver.GroupHosts)
	if err := os.WriteFile(filepath.Join(tlsDir, pki.CACertFile), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}

	natsID, err := ca.LoopbackBundle("system:nats")
	if err != nil {
		t.Fatal(err)
	}
	natsTLS, err := natsID.Server(true)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := natsembed.Start(ctx, natsembed.Config{StoreDir: t.TempDir(), TLS: natsTLS, Auth: natsauth.New(nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ns.Shutdown(context.Background()) })

	reg, err := devregistry.Start("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close(context.Background()) })
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Addr() + "/prefetched:1"
	if err := devregistry.Push(ctx, ref, img); err != nil {
		t.Fatal(err)
	}

	// No certificate for the host named: refused before anything starts.
	done := runPacific(ctx, "imagesvc", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--tls-dir", tlsDir, "--nats", ns.ClientURL(), "--host-name", "h2")
	if err := <-done; err == nil || !strings.Contains(err.Error(), "--nats needs this host's certificate") {
		t.Fatalf("imagesvc --nats for a host without a certificate: %v", err)
	}

	listen := testutil.UnusedLoopbackAddr(t)
	sctx, stop := context.WithCancel(ctx)
	done = runPacific(sctx, "imagesvc", "--data-dir", t.TempDir(), "--listen", listen,
		"--tls-dir", tlsDir, "--nats", ns.ClientURL(), "--host-name", "h1")
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("imagesvc exited with %v", err)
		}
	}()

	// The scheduler's identity queues a prefetch for h1.
	schedID, err := ca.Issue(pki.Request{User: grpcserver.UserScheduler, Usage: pki.UsageClient})
	if err != nil {
		t.Fatal(err)
	}
	schedTLS, err := pki.ClientConfig(ca.CertPEM, schedID)
	if err != nil {
		t.Fatal(err)
	}
	schedOpts, err := natsauth.ClientOptions(schedTLS)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL(), schedOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	testutil.EventuallyNoError(t, 20*time.Second, "prefetch request queued", func() error {
		return prefetch.Publish(ctx, js, "h1", prefetch.Request{Ref: ref})
	})

	// The image is there, as the host agent would look it up.
	hostID, err := pki.LoadBundle(tlsDir, "h1")
	if err != nil {
		t.Fatal(err)
	}
	hostTLS, err := hostID.Client()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(listen, grpc.WithTransportCredentials(credentials.NewTLS(hostTLS)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	images := imageclient.New(imagev1.NewImageServiceClient(conn))
	testutil.EventuallyNoError(t, 30*time.Second, "prefetched image in the cache", func() error {
		_, err := images.Lookup(ctx, ref)
		return err
	})
}
