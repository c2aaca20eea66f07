package podproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

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

// agentFor returns a client for the agent running namespace/name, and the
// pod.
func (p *Proxy) agentFor(ctx context.Context, namespace, name string) (hostv1.HostAgentServiceClient, *corev1.Pod, error) {
	var fe apierr.FieldErrors
	if namespace == "" {
		fe.Required("namespace")
	}
	if name == "" {
		fe.Required("name")
	}
	if err := fe.Err("request"); err != nil {
		return nil, nil, err
	}
	pod := &corev1.Pod{}
	if err := p.get(ctx, "Pod", namespace, name, pod); err != nil {
		return nil, nil, err
	}
	host := pod.GetSpec().GetNodeName()
	if host == "" {
		return nil, nil, apierr.New(codes.FailedPrecondition, "pod %q is not scheduled to a host yet", name)
	}
	h := &corev1.Host{}
	if err := p.get(ctx, "Host", "", host, h); err != nil {
		return nil, nil, err
	}
	addr := h.GetStatus().GetAgentAddress()
	if addr == "" {
		return nil, nil, apierr.New(codes.Unavailable, "host %q has not reported its agent address", host)
	}
	conn, err := p.conn(addr)
	if err != nil {
		return nil, nil, apierr.Unavailable(err, "cannot reach the agent of host %q", host)
	}
	return hostv1.NewHostAgentServiceClient(conn), pod, nil
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
	agent, pod, err := p.agentFor(stream.Context(), req.GetNamespace(), req.GetName())
	if err != nil {
		return err
	}
	container, err := containerOf(pod, req.GetContainer())
	if err != nil {
		return err
	}
	req = proto.CloneOf(req)
	req.Container = container
	up, err := agent.Logs(stream.Context(), req)
	if err != nil {
		return explain(err, pod, container)
	}
	for {
		msg, err := up.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return explain(err, pod, container)
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
	agent, pod, err := p.agentFor(ctx, start.GetNamespace(), start.GetName())
	if err != nil {
		return err
	}
	container, err := containerOf(pod, start.GetContainer())
	if err != nil {
		return err
	}
	start = proto.CloneOf(start)
	start.Container = container
	up, err := agent.Exec(ctx)
	if err != nil {
		return err
	}
	if err := up.Send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_Start{Start: start}}); err != nil {
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
			return explain(err, pod, container)
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}

// containerOf resolves the container a logs or exec request names, from
// the pod's spec: optional when the pod has one container.
func containerOf(pod *corev1.Pod, name string) (string, error) {
	var names []string
	for _, c := range pod.GetSpec().GetContainers() {
		names = append(names, c.GetName())
	}
	switch {
	case name == "" && len(names) == 1:
		return names[0], nil
	case name == "":
		return "", apierr.Invalid("container", "required: pod %q has several: %s", pod.GetMetadata().GetName(), strings.Join(names, ", "))
	case !slices.Contains(names, name):
		return "", apierr.Invalid("container", "%q is not a container of pod %q (it has: %s)", name, pod.GetMetadata().GetName(), strings.Join(names, ", "))
	}
	return name, nil
}

// explain words the agent's "not running" (FailedPrecondition) or "no
// logs" (NotFound: the container never ran) from the pod's status, as
// kubectl does: what the container waits for, or how it ended.
func explain(err error, pod *corev1.Pod, container string) error {
	if c := status.Code(err); c != codes.FailedPrecondition && c != codes.NotFound {
		return err
	}
	for _, cs := range pod.GetStatus().GetContainerStatuses() {
		if cs.GetName() != container {
			continue
		}
		name := pod.GetMetadata().GetName()
		if w := cs.GetState().GetWaiting(); w != nil {
			return apierr.New(codes.FailedPrecondition, "container %q in pod %q is waiting to start: %s", container, name, reasonMessage(w.GetReason(), w.GetMessage()))
		}
		if t := cs.GetState().GetTerminated(); t != nil {
			return apierr.New(codes.FailedPrecondition, "container %q in pod %q has terminated (exit code %d): %s", container, name, t.GetExitCode(), reasonMessage(t.GetReason(), t.GetMessage()))
		}
	}
	return err
}

func reasonMessage(reason, message string) string {
	switch {
	case message == "":
		return reason
	case reason == "":
		return message
	}
	return reason + ": " + message
}
