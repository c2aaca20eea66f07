package hostagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	hostv1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/host/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/logs"
)

// APIServer serves HostAgentService (logs and exec of this host's pods) to
// the API server.
type APIServer struct {
	hostv1.UnimplementedHostAgentServiceServer
	rt runtime.Runtime
}

// APIServer returns the agent's HostAgentService implementation.
func (a *Agent) APIServer() *APIServer { return &APIServer{rt: a.rt} }

// logChunkBytes batches log lines into messages of about this size.
const logChunkBytes = 32 << 10

// Logs implements HostAgentService.
func (s *APIServer) Logs(req *corev1.LogsRequest, stream hostv1.HostAgentService_LogsServer) error {
	ctx := stream.Context()
	sb, name, err := s.locate(ctx, req.GetNamespace(), req.GetName(), req.GetContainer())
	if err != nil {
		return err
	}
	opts := runtime.LogOptions{SandboxID: sb.ID, Name: name, Previous: req.GetPrevious(), Tail: -1, Follow: req.GetFollow()}
	if req.TailLines != nil {
		opts.Tail = int(req.GetTailLines())
	}
	if req.GetSinceTime() != nil {
		opts.Since = req.GetSinceTime().AsTime()
	}
	var buf []byte
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := stream.Send(&corev1.LogsResponse{Data: buf})
		buf = nil
		return err
	}
	err = s.rt.ReadLogs(ctx, opts, func(e logs.Entry) error {
		if req.GetTimestamps() {
			buf = append(buf, e.Time.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")...)
			buf = append(buf, ' ')
		}
		buf = append(buf, e.Content...)
		if !e.Partial {
			buf = append(buf, '\n')
		}
		// Following: send each line at once; otherwise batch.
		if req.GetFollow() || len(buf) >= logChunkBytes {
			return flush()
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return runtimeStatus(err, name)
	}
	return flush()
}

// Exec implements HostAgentService.
func (s *APIServer) Exec(stream hostv1.HostAgentService_ExecServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil || len(start.GetCommand()) == 0 {
		return status.Error(codes.InvalidArgument, "start.command: required")
	}
	sb, name, err := s.locate(ctx, start.GetNamespace(), start.GetName(), start.GetContainer())
	if err != nil {
		return err
	}
	id, err := s.runningContainer(ctx, sb.ID, name)
	if err != nil {
		return err
	}
	out := &streamWriter{stream: stream}
	spec := runtime.ExecSpec{Args: start.GetCommand(), TTY: start.GetTty(), Stdout: out.stdout(), Stderr: out.stderr()}
	if sz := start.GetSize(); sz != nil {
		spec.Size = &runtime.WindowSize{Width: uint16(sz.GetWidth()), Height: uint16(sz.GetHeight())}
	}
	var stdinW *io.PipeWriter
	if start.GetStdin() {
		var stdinR *io.PipeReader
		stdinR, stdinW = io.Pipe()
		defer stdinR.Close()
		spec.Stdin = stdinR
	}
	proc, err := s.rt.Exec(ctx, id, spec)
	if err != nil {
		return runtimeStatus(err, name)
	}
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				if stdinW != nil {
					stdinW.Close()
				}
				return
			}
			switch m := msg.GetMsg().(type) {
			case *corev1.ExecRequest_Stdin:
				if stdinW != nil {
					stdinW.Write(m.Stdin)
				}
			case *corev1.ExecRequest_StdinClose:
				if stdinW != nil {
					stdinW.Close()
				}
			case *corev1.ExecRequest_Resize:
				proc.Resize(runtime.WindowSize{Width: uint16(m.Resize.GetWidth()), Height: uint16(m.Resize.GetHeight())})
			}
		}
	}()
	code, err := proc.Wait(ctx)
	if err != nil {
		return runtimeStatus(err, name)
	}
	return out.send(&corev1.ExecResponse{Msg: &corev1.ExecResponse_Exit{Exit: &corev1.ExecExit{ExitCode: int32(code)}}})
}

// locate finds the pod's sandbox on this host and resolves the container
// name (optional when the pod has one container).
func (s *APIServer) locate(ctx context.Context, namespace, name, container string) (runtime.Sandbox, string, error) {
	sandboxes, err := s.rt.ListSandboxes(ctx)
	if err != nil {
		return runtime.Sandbox{}, "", err
	}
	for _, sb := range sandboxes {
		if sb.Labels[labelPodNamespace] != namespace || sb.Labels[labelPodName] != name {
			continue
		}
		if container != "" {
			return sb, container, nil
		}
		names, err := s.containerNames(ctx, sb.ID)
		if err != nil {
			return runtime.Sandbox{}, "", err
		}
		switch len(names) {
		case 0:
			return runtime.Sandbox{}, "", status.Errorf(codes.FailedPrecondition, "pod %q has no containers yet", name)
		case 1:
			return sb, names[0], nil
		}
		return runtime.Sandbox{}, "", status.Errorf(codes.InvalidArgument, "container: required: pod %q has several: %s", name, strings.Join(names, ", "))
	}
	return runtime.Sandbox{}, "", status.Errorf(codes.FailedPrecondition, "pod %s/%s is not running on this host", namespace, name)
}

func (s *APIServer) containerNames(ctx context.Context, sandboxID string) ([]string, error) {
	all, err := s.rt.ListContainers(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range all {
		if c.SandboxID == sandboxID {
			seen[c.Name] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// runningContainer is the current run of container name, if it runs.
func (s *APIServer) runningContainer(ctx context.Context, sandboxID, name string) (string, error) {
	all, err := s.rt.ListContainers(ctx)
	if err != nil {
		return "", err
	}
	best, attempt := "", -1
	for _, c := range all {
		if c.SandboxID == sandboxID && c.Name == name && c.State == runtime.StateRunning && c.Attempt > attempt {
			best, attempt = c.ID, c.Attempt
		}
	}
	if best == "" {
		return "", status.Errorf(codes.FailedPrecondition, "container %q is not running", name)
	}
	return best, nil
}

func runtimeStatus(err error, container string) error {
	switch {
	case errors.Is(err, runtime.ErrNotRunning):
		return status.Errorf(codes.FailedPrecondition, "container %q is not running", container)
	case errors.Is(err, runtime.ErrNotFound):
		return status.Errorf(codes.NotFound, "container %q: %v", container, err)
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "canceled")
	}
	return fmt.Errorf("container %q: %w", container, err)
}

// streamWriter serializes stdout/stderr chunks onto the exec stream.
type streamWriter struct {
	mu     sync.Mutex
	stream hostv1.HostAgentService_ExecServer
}

func (w *streamWriter) send(m *corev1.ExecResponse) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stream.Send(m)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (w *streamWriter) stdout() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		return len(p), w.send(&corev1.ExecResponse{Msg: &corev1.ExecResponse_Stdout{Stdout: append([]byte(nil), p...)}})
	})
}

func (w *streamWriter) stderr() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		return len(p), w.send(&corev1.ExecResponse{Msg: &corev1.ExecResponse_Stderr{Stderr: append([]byte(nil), p...)}})
	})
}
