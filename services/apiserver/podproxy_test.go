package apiserver_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/testutil"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	hostv1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/host/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

// echoAgent is a test double of a host agent's HostAgentService: logs
// return the request's container name; exec echoes stdin and exits 7.
// For pod "stuck" logs find none and exec says it is not running.
type echoAgent struct {
	hostv1.UnimplementedHostAgentServiceServer
}

var errNotRunning = status.Error(codes.FailedPrecondition, `container "c" is not running`)

func (echoAgent) Logs(req *corev1.LogsRequest, s hostv1.HostAgentService_LogsServer) error {
	if req.GetName() == "stuck" { // as the agent says when the container never ran
		return status.Error(codes.NotFound, `container "c": logs of uid/c: not found`)
	}
	return s.Send(&corev1.LogsResponse{Data: []byte("log of " + req.GetNamespace() + "/" + req.GetName() + "/" + req.GetContainer() + "\n")})
}

func (echoAgent) Exec(s hostv1.HostAgentService_ExecServer) error {
	first, err := s.Recv()
	if err != nil {
		return err
	}
	if first.GetStart().GetName() == "stuck" {
		return errNotRunning
	}
	if err := s.Send(&corev1.ExecResponse{Msg: &corev1.ExecResponse_Stdout{Stdout: []byte(strings.Join(first.GetStart().GetCommand(), " ") + "\n")}}); err != nil {
		return err
	}
	for {
		msg, err := s.Recv()
		if err != nil || msg.GetStdinClose() {
			return s.Send(&corev1.ExecResponse{Msg: &corev1.ExecResponse_Exit{Exit: &corev1.ExecExit{ExitCode: 7}}})
		}
		if err := s.Send(&corev1.ExecResponse{Msg: &corev1.ExecResponse_Stdout{Stdout: msg.GetStdin()}}); err != nil {
			return err
		}
	}
}

func TestPodLogsAndExecAreForwardedToTheHostAgent(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	agentTLS, err := testutil.Bundle(t, grpcserver.HostUserPrefix+"h1", grpcserver.GroupHosts).Server(true)
	if err != nil {
		t.Fatal(err)
	}
	agent := grpc.NewServer(grpc.Creds(credentials.NewTLS(agentTLS)))
	hostv1.RegisterHostAgentServiceServer(agent, echoAgent{})
	go agent.Serve(lis)
	t.Cleanup(agent.Stop)

	a := dial(t, apiservertest.StartReplica(t))
	a.mustCreateNS("demo", nil)
	host := &corev1.Host{Metadata: &corev1.ObjectMeta{Name: "h1"}}
	resp, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, host)})
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.GetObject().UnmarshalTo(host); err != nil {
		t.Fatal(err)
	}
	host.Status = &corev1.HostStatus{AgentAddress: lis.Addr().String()}
	if _, err := a.rc.UpdateStatus(ctx(t), &corev1.UpdateStatusRequest{Object: pack(t, host)}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{
		{Metadata: &corev1.ObjectMeta{Name: "bound", Namespace: "demo"}, Spec: &corev1.PodSpec{NodeName: "h1", Containers: []*corev1.Container{{Name: "c", Image: "busybox:1"}}}},
		{Metadata: &corev1.ObjectMeta{Name: "pending", Namespace: "demo"}, Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox:1"}}}},
		{Metadata: &corev1.ObjectMeta{Name: "stuck", Namespace: "demo"}, Spec: &corev1.PodSpec{NodeName: "h1", Containers: []*corev1.Container{{Name: "c", Image: "nope:1"}}}},
		{Metadata: &corev1.ObjectMeta{Name: "two", Namespace: "demo"}, Spec: &corev1.PodSpec{NodeName: "h1", Containers: []*corev1.Container{{Name: "a", Image: "busybox:1"}, {Name: "b", Image: "busybox:1"}}}},
	} {
		resp, err := a.rc.Create(ctx(t), &corev1.CreateRequest{Object: pack(t, p)})
		if err != nil {
			t.Fatal(err)
		}
		if p.GetMetadata().GetName() != "stuck" {
			continue
		}
		if err := resp.GetObject().UnmarshalTo(p); err != nil {
			t.Fatal(err)
		}
		p.Status = &corev1.PodStatus{Phase: "Pending", ContainerStatuses: []*corev1.ContainerStatus{{
			Name: "c", Image: "nope:1",
			State: &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}},
		}}}
		if _, err := a.rc.UpdateStatus(ctx(t), &corev1.UpdateStatusRequest{Object: pack(t, p)}); err != nil {
			t.Fatal(err)
		}
	}
	pods := corev1.NewPodServiceClient(a.conn)

	// The container may be left out when the pod has one: the agent gets
	// its name.
	for _, container := range []string{"c", ""} {
		logs, err := pods.Logs(ctx(t), &corev1.LogsRequest{Namespace: "demo", Name: "bound", Container: container})
		if err != nil {
			t.Fatal(err)
		}
		chunk, err := logs.Recv()
		if err != nil || string(chunk.GetData()) != "log of demo/bound/c\n" {
			t.Fatalf("logs (container %q) = %q, %v", container, chunk.GetData(), err)
		}
	}
	logsErr := func(req *corev1.LogsRequest) error {
		logs, err := pods.Logs(ctx(t), req)
		if err == nil {
			_, err = logs.Recv()
		}
		return err
	}
	wantCode(t, logsErr(&corev1.LogsRequest{Namespace: "demo", Name: "bound", Container: "zzz"}), codes.InvalidArgument, `"zzz" is not a container of pod "bound"`)
	wantCode(t, logsErr(&corev1.LogsRequest{Namespace: "demo", Name: "two"}), codes.InvalidArgument, "container", "a, b")
	// "No logs" and "not running" from the agent are worded from the pod's
	// status.
	wantCode(t, logsErr(&corev1.LogsRequest{Namespace: "demo", Name: "stuck"}), codes.FailedPrecondition,
		`container "c" in pod "stuck" is waiting to start: ImagePullBackOff: Back-off pulling image`)
	stuck, err := pods.Exec(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stuck.Send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_Start{Start: &corev1.ExecStart{Namespace: "demo", Name: "stuck", Command: []string{"true"}}}}); err != nil {
		t.Fatal(err)
	}
	_, err = stuck.Recv()
	wantCode(t, err, codes.FailedPrecondition, "is waiting to start: ImagePullBackOff")

	exec, err := pods.Exec(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	send := func(r *corev1.ExecRequest) {
		if err := exec.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_Start{Start: &corev1.ExecStart{Namespace: "demo", Name: "bound", Command: []string{"echo", "hi"}, Stdin: true}}})
	send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_Stdin{Stdin: []byte("ping\n")}})
	send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_StdinClose{StdinClose: true}})
	var out strings.Builder
	exit := int32(-1)
	for {
		msg, err := exec.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out.Write(msg.GetStdout())
		if msg.GetExit() != nil {
			exit = msg.GetExit().GetExitCode()
		}
	}
	if out.String() != "echo hi\nping\n" || exit != 7 {
		t.Fatalf("exec output %q exit %d", out.String(), exit)
	}

	// A pod that is not bound has no agent to reach.
	logs, err := pods.Logs(ctx(t), &corev1.LogsRequest{Namespace: "demo", Name: "pending"})
	if err == nil {
		_, err = logs.Recv()
	}
	wantCode(t, err, codes.FailedPrecondition, "not scheduled")
}
