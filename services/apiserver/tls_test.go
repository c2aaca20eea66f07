package apiserver_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/internal/testutil"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

// plainStream is a raft StreamLayer that dials without TLS, as an attacker
// (or a misconfigured replica) would.
type plainStream struct {
	net.Listener
	dial func(addr string, timeout time.Duration) (net.Conn, error)
}

func (p plainStream) Dial(a raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return p.dial(string(a), timeout)
}

// requestVote sends a real Raft RequestVote to addr through a transport
// dialing with dial; it must fail unless the peer accepted the connection.
func requestVote(t *testing.T, addr string, dial func(string, time.Duration) (net.Conn, error)) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trans := raft.NewNetworkTransport(plainStream{Listener: l, dial: dial}, 1, 3*time.Second, nil)
	defer trans.Close()
	var resp raft.RequestVoteResponse
	return trans.RequestVote("r0", raft.ServerAddress(addr), &raft.RequestVoteRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte(l.Addr().String())},
		Term:      1 << 40, Candidate: []byte(l.Addr().String()), LastLogIndex: 1 << 40, LastLogTerm: 1 << 40,
	}, &resp)
}

func tlsDial(cfg *tls.Config) func(string, time.Duration) (net.Conn, error) {
	return func(addr string, timeout time.Duration) (net.Conn, error) {
		return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
	}
}

// TestRaftAndAPIPortsRefuseUntrustedPeers: plaintext, a certificate from
// another CA and a valid certificate of the wrong identity all fail closed
// on the Raft port; the API port refuses plaintext and foreign client
// certificates. A replica certificate works (the positive control).
func TestRaftAndAPIPortsRefuseUntrustedPeers(t *testing.T) {
	// Transport only: no authentication, so a TLS call that gets through
	// the handshake succeeds.
	r := apiservertest.StartCluster(t, 1, apiservertest.Options{NoAuth: true})[0]
	raftAddr := r.Store().RaftAddr()

	if err := requestVote(t, raftAddr, func(a string, to time.Duration) (net.Conn, error) { return net.DialTimeout("tcp", a, to) }); err == nil {
		t.Error("Raft accepted a plaintext RequestVote")
	}
	otherCA, err := pki.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := otherCA.LoopbackBundle(grpcserver.APIServerUserPrefix+"r9", grpcserver.GroupAPIServers)
	forgedTLS, _ := forged.Client()
	forgedTLS.RootCAs = testutil.CA(t).Pool()
	// Present the foreign certificate even though the server asks for its
	// own CA's (Go's client would otherwise send none).
	forgedCert := forgedTLS.Certificates[0]
	forgedTLS.Certificates = nil
	forgedTLS.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &forgedCert, nil }
	if err := requestVote(t, raftAddr, tlsDial(forgedTLS)); err == nil {
		t.Error("Raft accepted a certificate from another CA")
	}
	if err := requestVote(t, raftAddr, tlsDial(testutil.ClientTLS(t, grpcserver.HostUserPrefix+"h1", grpcserver.GroupHosts))); err == nil {
		t.Error("Raft accepted a host agent's certificate")
	}
	if err := requestVote(t, raftAddr, tlsDial(testutil.ClientTLS(t, grpcserver.APIServerUserPrefix+"r9", grpcserver.GroupAPIServers))); err != nil {
		t.Errorf("Raft refused a replica certificate (the test cannot tell refusals apart): %v", err)
	}

	call := func(creds grpc.DialOption) error {
		conn, err := grpc.NewClient(r.Addr(), creds)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = corev1.NewDiscoveryServiceClient(conn).ListKinds(ctx, &corev1.ListKindsRequest{})
		return err
	}
	if err := call(grpc.WithTransportCredentials(insecure.NewCredentials())); status.Code(err) != codes.Unavailable {
		t.Errorf("plaintext API call: %v, want Unavailable", err)
	}
	if err := call(grpc.WithTransportCredentials(credentials.NewTLS(forgedTLS))); status.Code(err) != codes.Unavailable {
		t.Errorf("API call with another CA's client certificate: %v, want Unavailable", err)
	}
	if err := call(testutil.DialTLS(t, "")); err != nil {
		t.Errorf("TLS API call: %v", err)
	}
}
