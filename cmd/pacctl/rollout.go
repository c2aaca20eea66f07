package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/rollout"
)

func newRolloutCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout SUBCOMMAND deployment/NAME",
		Short: "Follow and manage Deployment rollouts",
		Long: "Follow and manage Deployment rollouts: status (waits until done),\n" +
			"history, undo (roll back), pause, resume and restart.",
		Example: "  pacctl rollout status deployment/web -n demo\n" +
			"  pacctl rollout undo deployment/web --to-revision 2",
	}
	cmd.AddCommand(newRolloutStatusCommand(a), newRolloutHistoryCommand(a), newRolloutUndoCommand(a),
		newRolloutSetCommand(a, "pause", "Pause a rollout: template changes start nothing until resumed",
			func(d *corev1.Deployment) (bool, string) {
				if d.GetSpec().GetPaused() {
					return false, "already paused"
				}
				d.Spec.Paused = true
				return true, "paused"
			}),
		newRolloutSetCommand(a, "resume", "Resume a paused rollout",
			func(d *corev1.Deployment) (bool, string) {
				if !d.GetSpec().GetPaused() {
					return false, "is not paused"
				}
				d.Spec.Paused = false
				return true, "resumed"
			}),
		newRolloutSetCommand(a, "restart", "Restart every pod of a Deployment through a rollout",
			func(d *corev1.Deployment) (bool, string) {
				t := d.GetSpec().GetTemplate()
				if t.Metadata == nil {
					t.Metadata = &corev1.ObjectMeta{}
				}
				if t.Metadata.Annotations == nil {
					t.Metadata.Annotations = map[string]string{}
				}
				t.Metadata.Annotations[apis.RestartedAtAnnotation] = time.Now().UTC().Format(time.RFC3339)
				return true, "restarted"
			}),
	)
	return cmd
}

// deploymentArg resolves deployment/NAME (or deployment NAME) to a name.
func (a *app) deploymentArg(ctx context.Context, args []string) (string, error) {
	targets, err := splitTargets(args)
	if err != nil {
		return "", usageError{err}
	}
	if len(targets) != 1 {
		return "", usageError{errors.New("name one deployment, e.g. deployment/web")}
	}
	k, err := a.kindByName(ctx, targets[0].kind)
	if err != nil {
		return "", err
	}
	if k.GetKind() != "Deployment" || k.GetApiVersion() != apis.CoreV1 {
		return "", usageError{fmt.Errorf("%s: only deployments have rollouts", targets[0].kind)}
	}
	return targets[0].name, nil
}

func newRolloutStatusCommand(a *app) *cobra.Command {
	var timeout time.Duration
	var watch bool
	cmd := &cobra.Command{
		Use:   "status deployment/NAME",
		Short: "Show a rollout's progress until it completes",
		Long: "Show a rollout's progress, one line per change, until it completes (exit 0).\n" +
			"Exits 1 when the rollout exceeds its progress deadline or --timeout passes.",
		Args: argsAtLeast(1, "name a deployment, e.g. deployment/web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout < 0 {
				return usageError{errors.New("--timeout must not be negative")}
			}
			ctx := cmd.Context()
			name, err := a.deploymentArg(ctx, args)
			if err != nil {
				return err
			}
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return a.rolloutStatus(ctx, name, watch, timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: wait as long as the rollout progresses)")
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "follow the rollout until it completes; false prints the status once")
	return cmd
}

func (a *app) rolloutStatus(ctx context.Context, name string, watch bool, timeout time.Duration) error {
	err := a.followRollout(ctx, name, watch)
	// The --timeout deadline may fire inside any call (Get, opening the
	// watch, between events); all of them mean the same to the user.
	if err != nil && timeout > 0 && deadlinePassed(ctx) {
		return fmt.Errorf("timed out after %s waiting for deployment %q to roll out", timeout, name)
	}
	return err
}

func (a *app) followRollout(ctx context.Context, name string, watch bool) error {
	ns := a.defaultNamespace()
	deployments := client.For[*corev1.Deployment](a.cl)
	d, err := deployments.Get(ctx, ns, name)
	if err != nil {
		return err
	}
	last := ""
	show := func(d *corev1.Deployment) (bool, error) {
		msg, done, err := rollout.Status(d)
		if err != nil {
			return false, err
		}
		if msg != last {
			fmt.Fprint(a.stdout, msg)
			last = msg
		}
		return done, nil
	}
	if done, err := show(d); err != nil || done || !watch {
		return err
	}
	w, err := deployments.Watch(ctx, client.WatchOptions{Namespace: ns, FieldSelector: "metadata.name=" + name, ResourceVersion: d.GetMetadata().GetResourceVersion()})
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.Events() {
		switch ev.Type {
		case corev1.EventType_EVENT_TYPE_BOOKMARK:
			continue
		case corev1.EventType_EVENT_TYPE_DELETED:
			return fmt.Errorf("deployment %q was deleted", name)
		}
		if done, err := show(ev.Object); err != nil || done {
			return err
		}
	}
	if err := w.Err(); err != nil {
		return err
	}
	return ctx.Err()
}

func newRolloutHistoryCommand(a *app) *cobra.Command {
	var revision int64
	cmd := &cobra.Command{
		Use:   "history deployment/NAME",
		Short: "List a Deployment's revisions",
		Args:  argsAtLeast(1, "name a deployment, e.g. deployment/web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name, err := a.deploymentArg(ctx, args)
			if err != nil {
				return err
			}
			d, err := client.For[*corev1.Deployment](a.cl).Get(ctx, a.defaultNamespace(), name)
			if err != nil {
				return err
			}
			hist, err := rollout.History(ctx, a.cl, d)
			if err != nil {
				return err
			}
			if revision > 0 {
				for _, r := range hist {
					if r.Number == revision {
						fmt.Fprintf(a.stdout, "deployment %q revision %d\n", name, revision)
						return a.printObject(r.ReplicaSet.GetSpec().GetTemplate(), "Pod Template")
					}
				}
				return fmt.Errorf("deployment %q has no revision %d", name, revision)
			}
			fmt.Fprintf(a.stdout, "deployment %q\n", name)
			tw := tabwriter.NewWriter(a.stdout, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "REVISION\tCHANGE-CAUSE")
			for _, r := range hist {
				cause := r.ChangeCause
				if cause == "" {
					cause = "<none>"
				}
				fmt.Fprintf(tw, "%d\t%s\n", r.Number, cause)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().Int64Var(&revision, "revision", 0, "show the pod template of this revision")
	return cmd
}

// printObject prints a message as YAML under a title.
func (a *app) printObject(m proto.Message, title string) error {
	fields, err := toFields(m)
	if err != nil {
		return err
	}
	d := &describer{w: a.stdout}
	d.yamlBlock(title, fields)
	return d.err
}

func newRolloutUndoCommand(a *app) *cobra.Command {
	var to int64
	cmd := &cobra.Command{
		Use:   "undo deployment/NAME",
		Short: "Roll a Deployment back to its previous (or a given) revision",
		Args:  argsAtLeast(1, "name a deployment, e.g. deployment/web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to < 0 {
				return usageError{errors.New("--to-revision must not be negative")}
			}
			ctx := cmd.Context()
			name, err := a.deploymentArg(ctx, args)
			if err != nil {
				return err
			}
			rev, err := rollout.Undo(ctx, a.cl, a.defaultNamespace(), name, to)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "deployment.core.pacific.dev/%s rolled back to revision %d\n", name, rev)
			return nil
		},
	}
	cmd.Flags().Int64Var(&to, "to-revision", 0, "the revision to roll back to (0: the previous one)")
	return cmd
}

// newRolloutSetCommand builds pause, resume and restart: a change to the
// Deployment's spec, retried on conflicts.
func newRolloutSetCommand(a *app, use, short string, change func(*corev1.Deployment) (bool, string)) *cobra.Command {
	return &cobra.Command{
		Use:   use + " deployment/NAME",
		Short: short,
		Args:  argsAtLeast(1, "name a deployment, e.g. deployment/web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name, err := a.deploymentArg(ctx, args)
			if err != nil {
				return err
			}
			msg, err := a.updateDeployment(ctx, name, change)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "deployment.core.pacific.dev/%s %s\n", name, msg)
			return nil
		},
	}
}

func (a *app) updateDeployment(ctx context.Context, name string, change func(*corev1.Deployment) (bool, string)) (string, error) {
	deployments := client.For[*corev1.Deployment](a.cl)
	for range 5 {
		d, err := deployments.Get(ctx, a.defaultNamespace(), name)
		if err != nil {
			return "", err
		}
		ok, msg := change(d)
		if !ok {
			return msg, nil
		}
		_, err = deployments.Update(ctx, d)
		if client.IsConflict(err) {
			continue
		}
		return msg, err
	}
	return "", fmt.Errorf("deployment %q kept changing; try again", name)
}

func newScaleCommand(a *app) *cobra.Command {
	var replicas int32
	cmd := &cobra.Command{
		Use:     "scale deployment/NAME --replicas N",
		Short:   "Set a Deployment's (or ReplicaSet's) number of replicas",
		Example: "  pacctl scale deployment/web -n demo --replicas 5",
		Args:    argsAtLeast(1, "name a deployment, e.g. deployment/web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("replicas") {
				return usageError{errors.New("--replicas is required")}
			}
			if replicas < 0 {
				return usageError{fmt.Errorf("--replicas %d: must not be negative", replicas)}
			}
			ctx := cmd.Context()
			targets, err := splitTargets(args)
			if err != nil {
				return usageError{err}
			}
			for _, t := range targets {
				if err := a.scale(ctx, t, replicas); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().Int32Var(&replicas, "replicas", 0, "the new number of replicas")
	return cmd
}

func (a *app) scale(ctx context.Context, t waitTarget, replicas int32) error {
	k, err := a.kindByName(ctx, t.kind)
	if err != nil {
		return err
	}
	switch k.GetKind() {
	case "Deployment":
		_, err := a.updateDeployment(ctx, t.name, func(d *corev1.Deployment) (bool, string) {
			d.Spec.Replicas = proto.Int32(replicas)
			return true, ""
		})
		if err != nil {
			return err
		}
	case "ReplicaSet":
		rss := client.For[*corev1.ReplicaSet](a.cl)
		rs, err := rss.Get(ctx, a.defaultNamespace(), t.name)
		if err != nil {
			return err
		}
		if ref := apis.ControllerRef(rs.GetMetadata()); ref != nil {
			return fmt.Errorf("replicaset %q is managed by %s %q: scale that instead", t.name, strings.ToLower(ref.GetKind()), ref.GetName())
		}
		rs.Spec.Replicas = proto.Int32(replicas)
		if _, err := rss.Update(ctx, rs); err != nil {
			return err
		}
	default:
		return usageError{fmt.Errorf("%s cannot be scaled: only deployments and replicasets", k.GetPlural())}
	}
	fmt.Fprintf(a.stdout, "%s.%s/%s scaled\n", singular(k), apis.GVK{APIVersion: k.GetApiVersion()}.Group(), t.name)
	return nil
}

// deadlinePassed reports whether ctx's deadline is over. gRPC may fail a
// call with DeadlineExceeded a moment before ctx.Err() says so.
func deadlinePassed(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && !time.Now().Before(d))
}
