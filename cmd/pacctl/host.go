package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	"github.com/openpacific/pacific/sdk/drain"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func newHostCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "host SUBCOMMAND HOST",
		Short: "Cordon, drain and service hosts",
		Long: "Cordon, drain and service hosts. cordon stops new pods from landing on a\n" +
			"host; drain also moves its pods away (keeping each Deployment within its\n" +
			"maxUnavailable); maintenance enter makes the control plane drain the host and\n" +
			"keep it empty until maintenance exit.",
	}
	cmd.AddCommand(
		newHostSetCommand(a, "cordon", "Mark a host unschedulable", func(ctx context.Context, h string) (bool, error) {
			return drain.SetUnschedulable(ctx, a.cl, h, true)
		}, "cordoned", "already cordoned"),
		newHostSetCommand(a, "uncordon", "Mark a host schedulable again", func(ctx context.Context, h string) (bool, error) {
			return drain.SetUnschedulable(ctx, a.cl, h, false)
		}, "uncordoned", "already schedulable"),
		newDrainCommand(a),
		newMaintenanceCommand(a),
	)
	return cmd
}

func newHostSetCommand(a *app, use, short string, set func(context.Context, string) (bool, error), did, already string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " HOST",
		Short: short,
		Args:  argsExactly(1, "name one host"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.client(); err != nil {
				return err
			}
			changed, err := set(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			msg := did
			if !changed {
				msg = already
			}
			fmt.Fprintf(a.stdout, "host/%s %s\n", args[0], msg)
			return nil
		},
	}
}

func newDrainCommand(a *app) *cobra.Command {
	var (
		force   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "drain HOST",
		Short: "Cordon a host and move its pods elsewhere",
		Long: "Cordon a host and evict its pods, one Deployment replica at a time within\n" +
			"its maxUnavailable (a replacement starts first where needed), until no pod is\n" +
			"bound there. Pods without an owner are refused unless --force: they would\n" +
			"not be recreated anywhere.",
		Example: "  pacctl host drain sim-2\n  pacctl host drain sim-2 --force --timeout 5m",
		Args:    argsExactly(1, "name one host"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout < 0 {
				return usageError{errors.New("--timeout must not be negative")}
			}
			if _, err := a.client(); err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return drain.Drain(ctx, a.cl, args[0], drain.Options{
				Force:    force,
				Progress: func(line string) { fmt.Fprintln(a.stdout, line) },
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "also delete pods without an owner (they are lost)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: no limit)")
	return cmd
}

func newMaintenanceCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "maintenance enter|exit HOST",
		Short: "Put a host in or out of maintenance mode",
		Long: "maintenance enter cordons the host and has the control plane drain it (as\n" +
			"drain does, and pods without an owner block it until deleted); it shows the\n" +
			"progress until the host is in maintenance. maintenance exit makes it\n" +
			"schedulable again.",
	}
	var (
		wait    bool
		timeout time.Duration
	)
	enter := &cobra.Command{
		Use:   "enter HOST",
		Short: "Drain a host and keep it empty",
		Args:  argsExactly(1, "name one host"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout < 0 {
				return usageError{errors.New("--timeout must not be negative")}
			}
			if _, err := a.client(); err != nil {
				return err
			}
			ctx := cmd.Context()
			if _, err := drain.SetMaintenance(ctx, a.cl, args[0], true); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "host/%s entering maintenance\n", args[0])
			if !wait {
				return nil
			}
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return a.waitMaintenance(ctx, args[0], timeout)
		},
	}
	enter.Flags().BoolVar(&wait, "wait", true, "show progress until the host is in maintenance")
	enter.Flags().DurationVar(&timeout, "timeout", 0, "with --wait: give up after this long (0: no limit)")
	exit := &cobra.Command{
		Use:   "exit HOST",
		Short: "End maintenance: the host takes pods again",
		Args:  argsExactly(1, "name one host"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.client(); err != nil {
				return err
			}
			changed, err := drain.SetMaintenance(cmd.Context(), a.cl, args[0], false)
			if err != nil {
				return err
			}
			msg := "left maintenance"
			if !changed {
				msg = "was not in maintenance"
			}
			fmt.Fprintf(a.stdout, "host/%s %s\n", args[0], msg)
			return nil
		},
	}
	cmd.AddCommand(enter, exit)
	return cmd
}

// waitMaintenance prints the host's Maintenance condition as it changes
// until it is True.
func (a *app) waitMaintenance(ctx context.Context, name string, timeout time.Duration) error {
	hosts := client.For[*corev1.Host](a.cl)
	h, err := hosts.Get(ctx, "", name)
	if err != nil {
		return err
	}
	last := ""
	show := func(h *corev1.Host) bool {
		c := apis.FindCondition(h.GetStatus().GetConditions(), "Maintenance")
		if c == nil {
			return false
		}
		line := fmt.Sprintf("host/%s %s: %s", name, c.GetReason(), c.GetMessage())
		if line != last {
			fmt.Fprintln(a.stdout, line)
			last = line
		}
		return c.GetStatus() == "True"
	}
	if show(h) {
		return nil
	}
	w, err := hosts.Watch(ctx, client.WatchOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: h.GetMetadata().GetResourceVersion()})
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.Events() {
		if ev.Type == corev1.EventType_EVENT_TYPE_DELETED {
			return fmt.Errorf("host %s was deleted", name)
		}
		if ev.Type != corev1.EventType_EVENT_TYPE_BOOKMARK && show(ev.Object) {
			return nil
		}
	}
	if timeout > 0 && deadlinePassed(ctx) {
		return fmt.Errorf("timed out after %s waiting for host %s to enter maintenance (it stays in maintenance mode; see pacctl describe host %s)", timeout, name, name)
	}
	return w.Err()
}
