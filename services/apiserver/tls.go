package apiserver

import (
	"crypto/tls"
	"fmt"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/pki"
)

// tlsConfigs are the replica's TLS settings for each kind of connection.
type tlsConfigs struct {
	// api serves clients and replicas: a client certificate is verified if
	// presented (services, host agents), people use bearer tokens.
	api *tls.Config
	// raftServer/raftClient: only API server replicas may speak Raft.
	raftServer, raftClient *tls.Config
	// replicaClient forwards to other replicas; agentClient reaches host
	// agents for logs and exec.
	replicaClient, agentClient *tls.Config
	// natsClient connects to a tls:// NATS (feed and audit publishers).
	natsClient *tls.Config
}

func newTLSConfigs(b *pki.Bundle) (*tlsConfigs, error) {
	api, err := b.Server(false)
	if err != nil {
		return nil, fmt.Errorf("apiserver: TLS: %w", err)
	}
	raftServer, err := b.Server(true)
	if err != nil {
		return nil, fmt.Errorf("apiserver: TLS: %w", err)
	}
	raftServer.VerifyConnection = pki.RequireGroup(grpcserver.GroupAPIServers)
	client, err := b.Client()
	if err != nil {
		return nil, fmt.Errorf("apiserver: TLS: %w", err)
	}
	raftClient := client.Clone()
	raftClient.VerifyConnection = pki.RequireGroup(grpcserver.GroupAPIServers)
	replicaClient := raftClient.Clone()
	return &tlsConfigs{api: api, raftServer: raftServer, raftClient: raftClient, replicaClient: replicaClient, agentClient: client.Clone(), natsClient: client.Clone()}, nil
}
