package podproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	hostv1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/host/v1"
)

// Getter reads objects (the API server's own ResourceService).
type Getter interface {
	Get(ctx context.Context, req *corev1.GetRequest) (*corev1.GetResponse, error)
}

// Proxy serves PodService.
type Proxy struct {
	corev1.UnimplementedPodServiceServer
	objects     Getter
	dialOptions []grpc.DialOption

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

// New returns a Proxy; dialOptions must carry the TLS credentials (the API
// server's certificate) for the agents: without them every dial fails.
func New(objects Getter, dialOptions ...grpc.DialOption) *Proxy {
	return &Proxy{objects: objects, dialOptions: dialOptions, conns: map[string]*grpc.ClientConn{}}
}

// Close closes the agent connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, c := range p.conns {
		c.Close()
		delete(p.conns, addr)
	}
}

// agentFor returns a client for the agent running namespace/name.
func (p *Proxy) agentFor(ctx context.Context, namespace, name string) (hostv1.HostAgentServiceClient, error) {
	var fe apierr.FieldErrors
	if namespace == "" {
		fe.Required("namespace")
	}
	if name == "" {
		fe.Required("name")
	}
	if err := fe.Err("request"); err != nil {
		return nil, err
	}
	pod := &corev1.Pod{}
	if err := p.get(ctx, "Pod", namespace, name, pod); err != nil {
		return nil, err
	}
	host := pod.GetSpec().GetNodeName()
	if host == "" {
		return nil, apierr.New(codes.FailedPrecondition, "pod %q is not scheduled to a host yet", name)
	}
	h := &corev1.Host{}
	if err := p.get(ctx, "Host", "", host, h); err != nil {
		return nil, err
	}
	addr := h.GetStatus().GetAgentAddress()
	if addr == "" {
		return nil, apierr.New(codes.Unavailable, "host %q has not reported its agent address", host)
	}
	conn, err := p.conn(addr)
	if err != nil {
		return nil, apierr.Unavailable(err, "cannot reach the agent of host %q", host)
	}
	return hostv1.NewHostAgentServiceClient(conn), nil
}

func (p *Proxy) get(ctx context.Context, kind, namespace, name string, into apis.Object) error {
	resp, err := p.objects.Get(ctx, &corev1.GetRequest{ApiVersion: apis.CoreV1, Kind: kind, Namespace: namespace, Name: name})
	if err != nil {
		return err
	}
	if err := resp.GetObject().UnmarshalTo(into); err != nil {
		return fmt.Errorf("decode %s %s: %w", kind, name, err)
	}
	return nil
}

func (p *Proxy) conn(addr string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[addr]; ok {
		return c, nil
	}
	c, err := grpc.NewClient(addr, p.dialOptions...)
	if err != nil {
		return nil, err
	}
	p.conns[addr] = c
	return c, nil
}

// Logs implements PodService.
func (p *Proxy) Logs(req *corev1.LogsRequest, stream corev1.PodService_LogsServer) error {
	agent, err := p.agentFor(stream.Context(), req.GetNamespace(), req.GetName())
	if err != nil {
		return err
	}
	up, err := agent.Logs(stream.Context(), req)
	if err != nil {
		return err
	}
	for {
		msg, err := up.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}

// Exec implements PodService.
func (p *Proxy) Exec(stream corev1.PodService_ExecServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return apierr.Invalid("start", "the first message of an exec must be start")
	}
	if len(start.GetCommand()) == 0 {
		return apierr.Invalid("start.command", "required")
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	agent, err := p.agentFor(ctx, start.GetNamespace(), start.GetName())
	if err != nil {
		return err
	}
	up, err := agent.Exec(ctx)
	if err != nil {
		return err
	}
	if err := up.Send(first); err != nil {
		return err
	}
	// Client → agent until the client stops sending.
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				up.CloseSend()
				return
			}
			if err := up.Send(msg); err != nil {
				return
			}
		}
	}()
	// Agent → client until the agent ends the stream.
	for {
		msg, err := up.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}
