package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/openpacific/pacific/internal/devregistry"
	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver"
)

const (
	hostName  = "bench-agentmem"
	namespace = "bench"
)

// control is what runs in this process: one API server replica and a
// loopback registry holding busybox:1.
type control struct {
	api     *apiserver.Server
	apiStop context.CancelFunc
	apiDone chan error
	reg     *devregistry.Registry
	c       *client.Client
	pods    *client.Typed[*corev1.Pod]
	tlsDir  string // CA and the agent's certificate, for its --tls-dir
	image   string // <registry>/busybox:1
}

// startControl starts the API server (creating the namespace) and the
// registry. On error it stops what it started.
func startControl(ctx context.Context, dir, busybox string, log *slog.Logger) (_ *control, err error) {
	cp := &control{}
	defer func() {
		if err != nil {
			cp.close(context.WithoutCancel(ctx), discard)
		}
	}()
	ca, err := pki.NewCA("pacific-bench-agentmem")
	if err != nil {
		return nil, err
	}
	apiTLS, err := ca.LoopbackBundle(grpcserver.APIServerUserPrefix+"bench", grpcserver.GroupAPIServers)
	if err != nil {
		return nil, err
	}
	clientTLS, err := pki.ClientConfig(ca.CertPEM, pki.Identity{})
	if err != nil {
		return nil, err
	}
	// The agent is a host like any other: its own certificate from the
	// cluster CA, as 'pacific ca issue --kind host' makes it.
	hostID, err := ca.Issue(pki.Request{User: grpcserver.HostUserPrefix + hostName, Groups: []string{grpcserver.GroupHosts},
		Hosts: []string{"127.0.0.1", "::1", "localhost"}, Usage: pki.UsageClientServer})
	if err != nil {
		return nil, err
	}
	cp.tlsDir = filepath.Join(dir, "tls") // ca.crt and the host's files; never the CA key
	if err := os.MkdirAll(cp.tlsDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cp.tlsDir, pki.CACertFile), ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	if err := hostID.Save(cp.tlsDir, hostName); err != nil {
		return nil, err
	}
	api, err := apiserver.New(ctx, apiserver.Config{
		ID: "bench", TLS: apiTLS, DataDir: filepath.Join(dir, "apiserver"), Listen: "127.0.0.1:0",
		Bootstrap: true, Logger: log.With("component", "apiserver"),
	})
	if err != nil {
		return nil, fmt.Errorf("start API server: %w", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	cp.api, cp.apiStop, cp.apiDone = api, stop, make(chan error, 1)
	go func() { cp.apiDone <- api.Run(runCtx) }()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := api.Store().WaitLeader(wctx); err != nil {
		return nil, fmt.Errorf("API server store: %w", err)
	}
	if cp.c, err = client.New(client.Options{Servers: []string{api.Addr()}, TLS: clientTLS}); err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	cp.pods = client.For[*corev1.Pod](cp.c)
	if _, err := client.For[*corev1.Namespace](cp.c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: namespace}}); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", namespace, err)
	}

	if cp.reg, err = devregistry.Start("127.0.0.1:0", filepath.Join(dir, "registry")); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	img, err := devregistry.BusyboxImage(busybox)
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w", err)
	}
	cp.image = cp.reg.Addr() + "/busybox:1"
	if err := devregistry.Push(ctx, cp.image, img); err != nil {
		return nil, err
	}
	return cp, nil
}

// addr is the API server's address.
func (cp *control) addr() string { return cp.api.Addr() }

func (cp *control) close(ctx context.Context, log *slog.Logger) {
	if cp.reg != nil {
		if err := cp.reg.Close(ctx); err != nil {
			log.Warn("clean-up: registry", "err", err)
		}
	}
	if cp.c != nil {
		cp.c.Close()
	}
	if cp.apiStop != nil {
		cp.apiStop()
		select {
		case <-cp.apiDone:
		case <-ctx.Done():
			log.Warn("clean-up: API server did not stop in time")
		}
	} else if cp.api != nil {
		cp.api.Close()
	}
}
