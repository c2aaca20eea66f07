package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

type logsOptions struct {
	container  string
	follow     bool
	tail       int64
	since      time.Duration
	previous   bool
	timestamps bool
}

func newLogsCommand(a *app) *cobra.Command {
	o := logsOptions{tail: -1}
	cmd := &cobra.Command{
		Use:   "logs POD",
		Short: "Print a container's log",
		Example: "  pacctl logs web -n demo\n  pacctl logs web -c main -f --tail 20\n" +
			"  pacctl logs web --previous   # the run before the last restart",
		Args: argsExactly(1, "name one pod, e.g. pacctl logs web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.logs(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.container, "container", "c", "", "container name (required when the pod has several)")
	f.BoolVarP(&o.follow, "follow", "f", false, "stream new lines as they are written")
	f.Int64Var(&o.tail, "tail", -1, "only the last N lines (-1: all)")
	f.DurationVar(&o.since, "since", 0, "only lines newer than this, e.g. 5m")
	f.BoolVarP(&o.previous, "previous", "p", false, "the log of the previous, terminated run")
	f.BoolVar(&o.timestamps, "timestamps", false, "prefix each line with its timestamp")
	return cmd
}

func (a *app) logs(ctx context.Context, pod string, o logsOptions) error {
	if o.tail < -1 {
		return usageError{errors.New("--tail must be -1 (all) or a number of lines")}
	}
	if o.since < 0 {
		return usageError{errors.New("--since must not be negative")}
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	req := &corev1.LogsRequest{
		Namespace: a.defaultNamespace(), Name: pod, Container: o.container,
		Follow: o.follow, Previous: o.previous, Timestamps: o.timestamps,
	}
	if o.tail >= 0 {
		req.TailLines = &o.tail
	}
	if o.since > 0 {
		req.SinceTime = timestamppb.New(a.now().Add(-o.since))
	}
	if !o.follow {
		var cancel context.CancelFunc
		ctx, cancel = a.requestContext(ctx)
		defer cancel()
	}
	stream, err := cl.Pods().Logs(ctx, req)
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) || (err != nil && ctx.Err() != nil) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := a.stdout.Write(msg.GetData()); err != nil {
			return err
		}
	}
}
