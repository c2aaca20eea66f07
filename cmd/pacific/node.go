package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/natsauth"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/internal/prefetch"
	"github.com/openpacific/pacific/internal/rundir"
	"github.com/openpacific/pacific/sdk/client"
	hostv1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/host/v1"
	imagev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/image/v1"
	"github.com/openpacific/pacific/services/hostagent"
	"github.com/openpacific/pacific/services/hostagent/imageclient"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc"
	"github.com/openpacific/pacific/services/imagesvc"
	"github.com/openpacific/pacific/services/imagesvc/grpcapi"
)

// nodeConfig is one host's services: the image service and the host agent.
// unpinnedStartsUsage is the help of --unpinned-starts (dev, hostagent).
const unpinnedStartsUsage = "let each container start's runc run on any CPU (default: at most two starts per CPU at a time, each runc pinned to its CPU; docs/decisions/0034)"

type nodeConfig struct {
	dataDir string
	// runDir holds the volatile files on a tmpfs (default dataDir/run).
	runDir   string
	hostName string
	runcPath string
	// unpinnedStarts turns off runc's start slots (runc.Options.UnpinnedStarts).
	unpinnedStarts bool
	api            *client.Client
	logger         *slog.Logger
	// agentListen is where HostAgentService listens (default 127.0.0.1:0).
	agentListen string
	// imageService is the address of a separately run image service; empty
	// runs one in-process on loopback.
	imageService string
	// natsURL, when set, feeds the embedded image service prefetch requests.
	natsURL string
	// leaseDuration and renewInterval of the host's Lease (0: the agent's
	// defaults, 40s and 10s).
	leaseDuration, renewInterval time.Duration
	// tls is the host's identity (system:host:<name>): the agent serves
	// logs/exec to API servers only and calls the image service with it.
	tls *pki.Bundle
	// imageTLS is the embedded image service's identity (default tls).
	imageTLS *pki.Bundle
}

// nodeUnavailable says why this machine cannot run pods (empty if it can).
func nodeUnavailable(runcPath string) string {
	if os.Geteuid() != 0 {
		return "pods need root (runc, cgroups, namespaces and mounts); run pacific dev as root to get a local host"
	}
	if _, err := exec.LookPath(runcPath); err != nil {
		return fmt.Sprintf("runc not found (%q); run ./hack/install-runc.sh (builds runc 1.5.2 into .bin) or pass --runc", runcPath)
	}
	return ""
}

// node is a running image service + host agent.
type node struct {
	images   *imagesvc.Service
	imageSrv *grpcserver.Server
	imageLis net.Listener
	conn     *grpc.ClientConn
	agent    *hostagent.Agent
	runtime  *runc.Runtime
	agentSrv *grpcserver.Server
	agentLis net.Listener
	prefetch *nats.Conn
	// runDir is the tmpfs of the runtime's and the agent's volatile files.
	runDir string
	log    *slog.Logger
}

func startNode(ctx context.Context, cfg nodeConfig) (*node, error) {
	if cfg.tls == nil {
		return nil, errors.New("host agent: TLS identity required (--tls-dir)")
	}
	n := &node{log: cfg.logger}
	// The agent and the runtime keep absolute paths (mount points, bundles).
	for flag, p := range map[string]*string{"--data-dir": &cfg.dataDir, "--run-dir": &cfg.runDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", flag, *p, err)
		}
		*p = abs
	}
	imageAddr := cfg.imageService
	if imageAddr == "" {
		var err error
		imageTLS := cfg.imageTLS
		if imageTLS == nil {
			imageTLS = cfg.tls
		}
		if n.images, n.imageSrv, n.imageLis, err = startImageService(ctx, filepath.Join(cfg.dataDir, "images"), "127.0.0.1:0", imageTLS, cfg.logger); err != nil {
			return nil, err
		}
		imageAddr = n.imageLis.Addr().String()
		if cfg.natsURL != "" {
			if n.prefetch, err = startPrefetch(ctx, cfg.natsURL, cfg.hostName, cfg.tls, n.images, cfg.logger); err != nil {
				n.close()
				return nil, err
			}
		}
	}
	// The agent calls an embedded image service directly (decision 0037);
	// its gRPC API stays served for tools and prefetch.
	var images hostagent.Images
	if n.images != nil {
		images = imageclient.NewLocal(n.images)
	} else {
		clientTLS, err := cfg.tls.Client()
		if err != nil {
			n.close()
			return nil, fmt.Errorf("host TLS: %w", err)
		}
		if n.conn, err = grpc.NewClient(imageAddr, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS))); err != nil {
			n.close()
			return nil, fmt.Errorf("image service at %s: %w", imageAddr, err)
		}
		images = imageclient.New(imagev1.NewImageServiceClient(n.conn))
	}
	self, err := os.Executable()
	if err != nil {
		n.close()
		return nil, fmt.Errorf("find own executable for the container shim: %w", err)
	}
	// The small pacific-shim next to this binary if installed, else this
	// binary as `pacific shim`.
	shimPath, shimArgs := runc.DefaultShim(self)
	cfg.logger.Debug("container shim", "path", shimPath, "args", shimArgs)
	// Bundles, sandboxes, runc's state and root filesystem mount points
	// on a tmpfs (decision 0035).
	runDir := cfg.runDir
	if runDir == "" {
		runDir = filepath.Join(cfg.dataDir, "run")
	}
	if err := rundir.Mount(runDir); err != nil {
		n.close()
		return nil, err
	}
	n.runDir = runDir
	n.runtime, err = runc.New(ctx, runc.Options{
		StateDir: filepath.Join(cfg.dataDir, "runtime"), RunDir: filepath.Join(runDir, "runtime"), RuncPath: cfg.runcPath,
		ShimPath: shimPath, ShimArgs: shimArgs, UnpinnedStarts: cfg.unpinnedStarts,
		Logger: cfg.logger.With("component", "runtime"),
	})
	if err != nil {
		n.close()
		return nil, fmt.Errorf("runc runtime: %w", err)
	}
	// HostAgentService (logs, exec) for the API server; loopback in dev.
	if cfg.agentListen == "" {
		cfg.agentListen = "127.0.0.1:0"
	}
	if n.agentLis, err = net.Listen("tcp", cfg.agentListen); err != nil {
		n.close()
		return nil, fmt.Errorf("host agent listener on %s: %w", cfg.agentListen, err)
	}
	n.agent, err = hostagent.New(hostagent.Config{
		AgentAddress: n.agentLis.Addr().String(),
		Client:       cfg.api, HostName: cfg.hostName, Runtime: n.runtime,
		Images: images, StateDir: filepath.Join(cfg.dataDir, "agent"), RunDir: filepath.Join(runDir, "agent"),
		Logger: cfg.logger, LeaseDuration: cfg.leaseDuration, RenewInterval: cfg.renewInterval,
	})
	if err != nil {
		n.close()
		return nil, fmt.Errorf("host agent: %w", err)
	}
	// Only API server replicas may ask an agent for logs and exec.
	agentCreds, err := serverCreds(cfg.tls, grpcserver.GroupAPIServers)
	if err != nil {
		n.close()
		return nil, err
	}
	n.agentSrv = grpcserver.New(grpcserver.Config{Logger: cfg.logger.With("component", "hostagent"), ExtraOptions: []grpc.ServerOption{agentCreds}})
	hostv1.RegisterHostAgentServiceServer(n.agentSrv, n.agent.APIServer())
	go n.agentSrv.Serve(n.agentLis)
	return n, nil
}

// run blocks until ctx ends; containers keep running (the next start re-adopts them).
func (n *node) run(ctx context.Context) error {
	defer n.close()
	if err := n.agent.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (n *node) close() {
	if n.prefetch != nil {
		n.prefetch.Close()
	}
	if n.agentSrv != nil {
		n.agentSrv.Server.Stop()
	} else if n.agentLis != nil {
		n.agentLis.Close()
	}
	if n.conn != nil {
		n.conn.Close()
	}
	if n.imageSrv != nil {
		n.imageSrv.Server.Stop()
	}
	if n.runtime != nil {
		n.runtime.Close()
	}
	if n.images != nil {
		n.images.Close()
	}
	// Kept while containers live on (the next start re-adopts them).
	if n.runDir != "" {
		if _, err := rundir.Release(n.runDir); err != nil {
			n.log.Warn("run dir", "err", err)
		}
	}
}

// startImageService opens the image cache under root and serves its gRPC API
// on listen.
// Only host agents (group system:hosts) may call it.
func startImageService(ctx context.Context, root, listen string, tlsBundle *pki.Bundle, logger *slog.Logger) (*imagesvc.Service, *grpcserver.Server, net.Listener, error) {
	logger = logger.With("component", "imagesvc")
	creds, err := serverCreds(tlsBundle, grpcserver.GroupHosts)
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err := imagesvc.New(ctx, imagesvc.Options{Root: root, Logger: logger})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("image service: %w", err)
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		svc.Close()
		return nil, nil, nil, fmt.Errorf("image service listener on %s: %w", listen, err)
	}
	srv := grpcserver.New(grpcserver.Config{Logger: logger, ExtraOptions: []grpc.ServerOption{creds}})
	imagev1.RegisterImageServiceServer(srv, grpcapi.New(svc))
	go srv.Serve(lis)
	return svc, srv, lis, nil
}

// serverCreds is mutual TLS for an internal port: the peer must present a
// certificate from the CA whose groups include group.
func serverCreds(b *pki.Bundle, group string) (grpc.ServerOption, error) {
	if b == nil {
		return nil, errors.New("TLS identity required (--tls-dir)")
	}
	cfg, err := b.Server(true)
	if err != nil {
		return nil, err
	}
	cfg.VerifyConnection = pki.RequireGroup(group)
	return grpc.Creds(credentials.NewTLS(cfg)), nil
}

// startPrefetch consumes this host's image prefetch requests from NATS and
// pulls them into svc. The returned connection ends it when closed.
//
// The connection uses the host's certificate: NATS admits it as the host
// and lets it consume only its own queue (internal/natsauth).
func startPrefetch(ctx context.Context, url, host string, id *pki.Bundle, svc *imagesvc.Service, logger *slog.Logger) (*nats.Conn, error) {
	tlsCfg, err := id.Client()
	if err != nil {
		return nil, fmt.Errorf("image prefetch: NATS TLS: %w", err)
	}
	secure, err := natsauth.ClientOptions(tlsCfg)
	if err != nil {
		return nil, fmt.Errorf("image prefetch: %w", err)
	}
	opts := append([]nats.Option{nats.Name("pacific-imagesvc-" + host), nats.MaxReconnects(-1)}, secure...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("image prefetch: connect to NATS at %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	logger = logger.With("component", "imagesvc")
	pull := func(ctx context.Context, r prefetch.Request) error {
		_, err := svc.Pull(ctx, imagesvc.PullRequest{Ref: r.Ref, Namespace: r.Namespace})
		return err
	}
	permanent := func(err error) bool {
		return errors.Is(err, imagesvc.ErrNotFound) || errors.Is(err, imagesvc.ErrInvalidReference) || errors.Is(err, imagesvc.ErrUnauthorized)
	}
	go func() {
		if err := prefetch.Consume(ctx, js, host, pull, prefetch.ConsumeOptions{Permanent: permanent, Logger: logger}); err != nil {
			logger.Error("image prefetch stopped", "err", err)
		}
	}()
	return nc, nil
}
