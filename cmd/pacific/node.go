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

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/openpacific/pacific/internal/grpcserver"
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
type nodeConfig struct {
	dataDir  string
	hostName string
	runcPath string
	api      *client.Client
	logger   *slog.Logger
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
}

func startNode(ctx context.Context, cfg nodeConfig) (*node, error) {
	n := &node{}
	var err error
	n.images, err = imagesvc.New(ctx, imagesvc.Options{Root: filepath.Join(cfg.dataDir, "images"), Logger: cfg.logger.With("component", "imagesvc")})
	if err != nil {
		return nil, fmt.Errorf("image service: %w", err)
	}
	n.imageSrv = grpcserver.New(grpcserver.Config{Logger: cfg.logger.With("component", "imagesvc")})
	imagev1.RegisterImageServiceServer(n.imageSrv, grpcapi.New(n.images))
	// The image service listens on loopback only: it is the agent's, not the world's.
	if n.imageLis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		n.close()
		return nil, fmt.Errorf("image service listener: %w", err)
	}
	go n.imageSrv.Serve(n.imageLis)
	if n.conn, err = grpc.NewClient(n.imageLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		n.close()
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		n.close()
		return nil, fmt.Errorf("find own executable for the container shim: %w", err)
	}
	n.runtime, err = runc.New(ctx, runc.Options{
		StateDir: filepath.Join(cfg.dataDir, "runtime"), RuncPath: cfg.runcPath,
		ShimPath: self, ShimArgs: []string{shimCommand}, Logger: cfg.logger.With("component", "runtime"),
	})
	if err != nil {
		n.close()
		return nil, fmt.Errorf("runc runtime: %w", err)
	}
	// HostAgentService (logs, exec) for the API server; loopback in dev.
	if n.agentLis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		n.close()
		return nil, fmt.Errorf("host agent listener: %w", err)
	}
	n.agent, err = hostagent.New(hostagent.Config{
		AgentAddress: n.agentLis.Addr().String(),
		Client:       cfg.api, HostName: cfg.hostName, Runtime: n.runtime,
		Images: imageclient.New(imagev1.NewImageServiceClient(n.conn)), StateDir: filepath.Join(cfg.dataDir, "agent"),
		Logger: cfg.logger,
	})
	if err != nil {
		n.close()
		return nil, fmt.Errorf("host agent: %w", err)
	}
	n.agentSrv = grpcserver.New(grpcserver.Config{Logger: cfg.logger.With("component", "hostagent")})
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
}
