package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

type execOptions struct {
	container string
	stdin     bool
	tty       bool
}

func newExecCommand(a *app) *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [ARG...]",
		Short: "Run a command in a running container",
		Long: "Run a command in a running container. pacctl exits with the command's\n" +
			"exit code. -i passes stdin; -t allocates a terminal (with -i, your\n" +
			"terminal is put in raw mode and resizes are forwarded).",
		Example: "  pacctl exec web -- cat /etc/hostname\n  pacctl exec -it web -- sh",
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 || len(args) < 2 {
				return usageError{errors.New("usage: pacctl exec POD -- COMMAND [ARG...]")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.exec(cmd.Context(), args[0], args[1:], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.container, "container", "c", "", "container name (required when the pod has several)")
	f.BoolVarP(&o.stdin, "stdin", "i", false, "pass stdin to the command")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a terminal")
	return cmd
}

func (a *app) exec(ctx context.Context, pod string, command []string, o execOptions) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := cl.Pods().Exec(ctx)
	if err != nil {
		return err
	}
	start := &corev1.ExecStart{
		Namespace: a.defaultNamespace(), Name: pod, Container: o.container,
		Command: command, Stdin: o.stdin, Tty: o.tty,
	}
	fd, isTerm := terminalFD(a.stdin)
	if o.tty && isTerm {
		if w, h, err := term.GetSize(fd); err == nil {
			start.Size = &corev1.TerminalSize{Width: uint32(w), Height: uint32(h)}
		}
		if o.stdin {
			old, err := term.MakeRaw(fd)
			if err == nil {
				defer term.Restore(fd, old)
			}
		}
		go forwardResizes(ctx, fd, stream)
	}
	if err := stream.Send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_Start{Start: start}}); err != nil {
		return err
	}
	if o.stdin {
		go forwardStdin(a.stdin, stream)
	} else if err := stream.Send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_StdinClose{StdinClose: true}}); err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return errors.New("the exec stream ended without an exit code")
		}
		if err != nil {
			return err
		}
		switch m := msg.GetMsg().(type) {
		case *corev1.ExecResponse_Stdout:
			a.stdout.Write(m.Stdout)
		case *corev1.ExecResponse_Stderr:
			a.stderr.Write(m.Stderr)
		case *corev1.ExecResponse_Exit:
			a.exitCode = int(m.Exit.GetExitCode())
			return nil
		}
	}
}

func terminalFD(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

func forwardStdin(r io.Reader, stream corev1.PodService_ExecClient) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if stream.Send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_Stdin{Stdin: append([]byte(nil), buf[:n]...)}}) != nil {
				return
			}
		}
		if err != nil {
			stream.Send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_StdinClose{StdinClose: true}})
			return
		}
	}
}

func forwardResizes(ctx context.Context, fd int, stream corev1.PodService_ExecClient) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			if w, h, err := term.GetSize(fd); err == nil {
				stream.Send(&corev1.ExecRequest{Msg: &corev1.ExecRequest_Resize{Resize: &corev1.TerminalSize{Width: uint32(w), Height: uint32(h)}}})
			}
		}
	}
}
