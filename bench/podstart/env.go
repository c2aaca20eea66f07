package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/openpacific/pacific/internal/devregistry"
	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/internal/rundir"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	hostv1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/host/v1"
	imagev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/image/v1"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/hostagent"
	"github.com/openpacific/pacific/services/hostagent/imageclient"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
	"github.com/openpacific/pacific/services/imagesvc"
	"github.com/openpacific/pacific/services/imagesvc/grpcapi"
)

const (
	hostName  = "bench-host"
	namespace = "bench"
)

type envConfig struct {
	dir      string
	cgroup   string // the runtime's cgroup parent
	runc     string
	shim     string // the container shim's ShimPath and ShimArgs
	shimArgs []string
	busybox  string
	workers  int  // 0: the agent's default
	unpinned bool // runc.Options.UnpinnedStarts
	perCPU   int  // runc.Options.StartsPerCPU
	// grpcImages: the agent calls the image service over loopback gRPC
	// (else in-process, as pacific dev).
	grpcImages bool
	log        *slog.Logger
}

// env is one host in this process, assembled like cmd/pacific's dev mode:
// API server, loopback registry, image service (called in-process; its gRPC
// API served on loopback), runc runtime, host agent.
type env struct {
	dir    string
	log    *slog.Logger
	cgroup string
	img    v1.Image
	image  string // <registry>/busybox:1

	api     *apiserver.Server
	apiStop context.CancelFunc
	apiDone chan error
	reg     *devregistry.Registry
	c       *client.Client
	pods    *client.Typed[*corev1.Pod]
	watch   *podWatch

	images    *imagesvc.Service
	imageSrv  *grpcserver.Server
	conn      *grpc.ClientConn
	rt        *runc.Runtime
	agent     *hostagent.Agent
	agentSrv  *grpcserver.Server
	agentStop context.CancelFunc
	agentDone chan error
}

// startEnv starts everything; on error it has stopped what it started
// (the caller removes cfg.dir).
func startEnv(ctx context.Context, cfg envConfig) (_ *env, err error) {
	e := &env{dir: cfg.dir, log: cfg.log, cgroup: cfg.cgroup}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			e.close(cctx, discard)
		}
	}()
	if err := e.startAPI(ctx); err != nil {
		return nil, err
	}
	if err := e.startRegistry(ctx, cfg.busybox); err != nil {
		return nil, err
	}
	if err := e.startNode(ctx, cfg); err != nil {
		return nil, err
	}
	if e.watch, err = watchPods(ctx, e.pods); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *env) startAPI(ctx context.Context) error {
	apiTLS, clientTLS, err := pki.Ephemeral(grpcserver.APIServerUserPrefix+"bench", grpcserver.GroupAPIServers)
	if err != nil {
		return err
	}
	api, err := apiserver.New(ctx, apiserver.Config{
		ID: "bench", TLS: apiTLS, DataDir: filepath.Join(e.dir, "apiserver"), Listen: "127.0.0.1:0",
		Bootstrap: true, Logger: e.log.With("component", "apiserver"),
	})
	if err != nil {
		return fmt.Errorf("start API server: %w", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.api, e.apiStop, e.apiDone = api, stop, make(chan error, 1)
	go func() { e.apiDone <- api.Run(runCtx) }()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := api.Store().WaitLeader(wctx); err != nil {
		return fmt.Errorf("API server store: %w", err)
	}
	if e.c, err = client.New(client.Options{Servers: []string{api.Addr()}, TLS: clientTLS}); err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	e.pods = client.For[*corev1.Pod](e.c)
	_, err = client.For[*corev1.Namespace](e.c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: namespace}})
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", namespace, err)
	}
	return nil
}

// startRegistry serves a loopback registry holding busybox:1.
func (e *env) startRegistry(ctx context.Context, busybox string) error {
	reg, err := devregistry.Start("127.0.0.1:0", filepath.Join(e.dir, "registry"))
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	e.reg = reg
	if e.img, err = devregistry.BusyboxImage(busybox); err != nil {
		return fmt.Errorf("busybox image: %w", err)
	}
	e.image = reg.Addr() + "/busybox:1"
	if err := devregistry.Push(ctx, e.image, e.img); err != nil {
		return err
	}
	return nil
}

// startNode starts the image service (and its gRPC API on loopback), the
// runc runtime and the host agent, as cmd/pacific/node.go does.
func (e *env) startNode(ctx context.Context, cfg envConfig) error {
	var err error
	e.images, err = imagesvc.New(ctx, imagesvc.Options{Root: filepath.Join(e.dir, "images"), Logger: e.log.With("component", "imagesvc")})
	if err != nil {
		return fmt.Errorf("image service: %w", err)
	}
	e.imageSrv = grpcserver.New(grpcserver.Config{Logger: e.log.With("component", "imagesvc")})
	imagev1.RegisterImageServiceServer(e.imageSrv, grpcapi.New(e.images))
	imageLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("image service listener: %w", err)
	}
	go e.imageSrv.Serve(imageLis)
	var images hostagent.Images = imageclient.NewLocal(e.images)
	if cfg.grpcImages {
		if e.conn, err = grpc.NewClient(imageLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return fmt.Errorf("image service client: %w", err)
		}
		images = imageclient.New(imagev1.NewImageServiceClient(e.conn))
	}
	// As pacific dev: volatile files on a tmpfs of their own.
	if err := rundir.Mount(e.runDir()); err != nil {
		return err
	}
	e.rt, err = runc.New(ctx, runc.Options{
		StateDir: filepath.Join(e.dir, "runtime"), RunDir: filepath.Join(e.runDir(), "runtime"), RuncPath: cfg.runc,
		ShimPath: cfg.shim, ShimArgs: cfg.shimArgs, CgroupParent: e.cgroup,
		UnpinnedStarts: cfg.unpinned, StartsPerCPU: cfg.perCPU, Logger: e.log.With("component", "runtime"),
	})
	if err != nil {
		return fmt.Errorf("runc runtime: %w", err)
	}
	agentLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("host agent listener: %w", err)
	}
	e.agent, err = hostagent.New(hostagent.Config{
		AgentAddress: agentLis.Addr().String(),
		Client:       e.c, HostName: hostName, Runtime: e.rt,
		Images:   images,
		StateDir: filepath.Join(e.dir, "agent"),
		RunDir:   filepath.Join(e.runDir(), "agent"),
		Workers:  cfg.workers,
		Logger:   e.log,
	})
	if err != nil {
		agentLis.Close()
		return fmt.Errorf("host agent: %w", err)
	}
	e.agentSrv = grpcserver.New(grpcserver.Config{Logger: e.log.With("component", "hostagent")})
	hostv1.RegisterHostAgentServiceServer(e.agentSrv, e.agent.APIServer())
	go e.agentSrv.Serve(agentLis)
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.agentStop, e.agentDone = stop, make(chan error, 1)
	go func() { e.agentDone <- e.agent.Run(runCtx) }()
	return nil
}

// close deletes the benchmark's pods (through the agent, as a user would),
// stops the agent, removes whatever the runtime still has, and stops the
// rest. Everything is bounded by ctx.
func (e *env) close(ctx context.Context, log *slog.Logger) {
	if e.watch != nil && e.agentDone != nil {
		if err := e.deleteAll(ctx); err != nil {
			log.Warn("clean-up: delete pods", "err", err)
		}
	}
	if e.watch != nil {
		e.watch.stop()
	}
	if e.agentStop != nil {
		e.agentStop()
		select {
		case err := <-e.agentDone:
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("clean-up: host agent", "err", err)
			}
		case <-ctx.Done():
			log.Warn("clean-up: host agent did not stop in time")
		}
	}
	e.sweepRuntime(ctx, log)
	if e.agentSrv != nil {
		e.agentSrv.Server.Stop()
	}
	if e.conn != nil {
		e.conn.Close()
	}
	if e.imageSrv != nil {
		e.imageSrv.Server.Stop()
	}
	if e.rt != nil {
		e.rt.Close()
	}
	if e.images != nil {
		e.images.Close()
	}
	if hs, err := cgroups.Hierarchies(); err == nil {
		if err := cgroups.Remove(ctx, hs, e.cgroup); err != nil {
			log.Warn("clean-up: cgroups", "parent", e.cgroup, "err", err)
		}
	}
	if e.reg != nil {
		e.reg.Close(ctx)
	}
	if e.c != nil {
		e.c.Close()
	}
	if e.apiStop != nil {
		e.apiStop()
		select {
		case <-e.apiDone:
		case <-ctx.Done():
			log.Warn("clean-up: API server did not stop in time")
		}
	} else if e.api != nil {
		e.api.Close()
	}
}

// runDir is the tmpfs of the runtime's and the agent's volatile files.
func (e *env) runDir() string { return filepath.Join(e.dir, "run") }

// sweepRuntime removes containers and sandboxes the agent left (none after
// a clean run) and their root filesystems.
func (e *env) sweepRuntime(ctx context.Context, log *slog.Logger) {
	if e.rt == nil {
		return
	}
	cs, _ := e.rt.ListContainers(ctx)
	for _, c := range cs {
		if err := e.rt.RemoveContainer(ctx, c.ID); err != nil {
			log.Warn("clean-up: remove container", "id", c.ID, "err", err)
		}
		if e.images != nil {
			e.images.Unmount(ctx, c.ID)
		}
	}
	sbs, _ := e.rt.ListSandboxes(ctx)
	for _, s := range sbs {
		if err := e.rt.RemoveSandbox(ctx, s.ID); err != nil {
			log.Warn("clean-up: remove sandbox", "id", s.ID, "err", err)
		}
	}
	if len(cs)+len(sbs) > 0 {
		log.Warn("clean-up: the agent left runtime state behind; removed it", "containers", len(cs), "sandboxes", len(sbs))
	}
}
