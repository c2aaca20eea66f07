package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// waitCondition is a parsed --for.
type waitCondition struct {
	raw string
	// Exactly one of these.
	deleted   bool
	condition string // condition type; value in want
	path      string // jsonpath; value in want
	want      string
}

func parseWaitFor(s string) (waitCondition, error) {
	w := waitCondition{raw: s}
	switch {
	case s == "delete":
		w.deleted = true
	case strings.HasPrefix(s, "condition="):
		cond, value, hasValue := strings.Cut(strings.TrimPrefix(s, "condition="), "=")
		if cond == "" {
			return w, fmt.Errorf("--for %q: want condition=TYPE[=VALUE]", s)
		}
		w.condition, w.want = cond, "True"
		if hasValue {
			w.want = value
		}
	case strings.HasPrefix(s, "jsonpath="):
		expr, value, ok := strings.Cut(strings.TrimPrefix(s, "jsonpath="), "=")
		expr = strings.TrimSuffix(strings.TrimPrefix(expr, "{"), "}")
		if !ok || !strings.HasPrefix(expr, ".") {
			return w, fmt.Errorf("--for %q: want jsonpath='{.status.phase}'=VALUE", s)
		}
		w.path, w.want = expr, value
	default:
		return w, fmt.Errorf("--for %q: want delete, condition=TYPE[=VALUE] or jsonpath='{.path}'=VALUE", s)
	}
	return w, nil
}

// met reports whether obj satisfies the condition.
func (w waitCondition) met(obj apis.Object) (bool, error) {
	fields, err := toFields(obj)
	if err != nil {
		return false, err
	}
	if w.path != "" {
		v, ok := lookup(fields, w.path)
		return ok && scalar(v) == w.want, nil
	}
	conds, _ := lookup(fields, ".status.conditions")
	list, _ := conds.([]any)
	for _, c := range list {
		m, _ := c.(map[string]any)
		if scalar(m["type"]) == w.condition {
			return strings.EqualFold(scalar(m["status"]), w.want), nil
		}
	}
	return false, nil
}

func newWaitCommand(a *app) *cobra.Command {
	var (
		forFlag string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "wait (KIND/NAME | KIND NAME...) --for=CONDITION",
		Short: "Wait until objects meet a condition",
		Long: "Wait until objects meet a condition, like kubectl wait: --for=delete,\n" +
			"--for=condition=Ready (or condition=Ready=False), or\n" +
			"--for=jsonpath='{.status.phase}'=Running. Exits 1 on timeout.",
		Example: "  pacctl wait pod/hello -n demo --for=condition=Ready --timeout=60s\n" +
			"  pacctl wait pod hello --for=delete",
		Args: argsAtLeast(1, "name objects, e.g. pacctl wait pod/hello --for=condition=Ready"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if forFlag == "" {
				return usageError{errors.New("--for is required")}
			}
			w, err := parseWaitFor(forFlag)
			if err != nil {
				return usageError{err}
			}
			if timeout < 0 {
				return usageError{errors.New("--timeout must not be negative")}
			}
			targets, err := splitTargets(args)
			if err != nil {
				return usageError{err}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			for _, t := range targets {
				if err := a.waitFor(ctx, t.kind, t.name, w); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&forFlag, "for", "", "delete, condition=TYPE[=VALUE] or jsonpath='{.path}'=VALUE")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}

type waitTarget struct{ kind, name string }

// splitTargets accepts KIND/NAME... or KIND NAME....
func splitTargets(args []string) ([]waitTarget, error) {
	var out []waitTarget
	if strings.Contains(args[0], "/") {
		for _, arg := range args {
			kind, name, ok := strings.Cut(arg, "/")
			if !ok || kind == "" || name == "" {
				return nil, fmt.Errorf("%q: want KIND/NAME", arg)
			}
			out = append(out, waitTarget{kind, name})
		}
		return out, nil
	}
	if len(args) < 2 {
		return nil, fmt.Errorf("name an object: %s NAME or %s/NAME", args[0], args[0])
	}
	for _, name := range args[1:] {
		out = append(out, waitTarget{args[0], name})
	}
	return out, nil
}

func (a *app) waitFor(ctx context.Context, kindName, name string, w waitCondition) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	k, err := a.kindByName(ctx, kindName)
	if err != nil {
		return err
	}
	ns := ""
	if k.GetNamespaced() {
		ns = a.defaultNamespace()
	}
	label := strings.ToLower(k.GetKind()) + "/" + name
	dyn := cl.Dynamic(gvkOf(k))
	obj, err := dyn.Get(ctx, ns, name)
	switch {
	case client.IsNotFound(err) && w.deleted:
		fmt.Fprintf(a.stdout, "%s deleted\n", label)
		return nil
	case err != nil:
		return a.waitErr(ctx, err, k, name)
	}
	if !w.deleted {
		if ok, err := w.met(obj); err != nil || ok {
			if ok {
				fmt.Fprintf(a.stdout, "%s condition met\n", label)
			}
			return err
		}
	}
	watch, err := dyn.Watch(ctx, client.WatchOptions{Namespace: ns, FieldSelector: "metadata.name=" + name, ResourceVersion: obj.GetMetadata().GetResourceVersion()})
	if err != nil {
		return a.waitErr(ctx, err, k, name)
	}
	defer watch.Stop()
	for ev := range watch.Events() {
		switch {
		case ev.Type == corev1.EventType_EVENT_TYPE_BOOKMARK:
			continue
		case ev.Type == corev1.EventType_EVENT_TYPE_DELETED && w.deleted:
			fmt.Fprintf(a.stdout, "%s deleted\n", label)
			return nil
		case ev.Type == corev1.EventType_EVENT_TYPE_DELETED:
			return fmt.Errorf("%s was deleted while waiting for %s", label, w.raw)
		case !w.deleted:
			ok, err := w.met(ev.Object)
			if err != nil {
				return err
			}
			if ok {
				fmt.Fprintf(a.stdout, "%s condition met\n", label)
				return nil
			}
		}
	}
	return a.waitErr(ctx, watch.Err(), k, name)
}

func (a *app) waitErr(ctx context.Context, err error, k *corev1.KindInfo, name string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("timed out waiting for the condition on %s/%s", k.GetPlural(), name)
	}
	return err
}
