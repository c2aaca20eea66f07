package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

type getOptions struct {
	output        string
	allNamespaces bool
	selector      string
	fieldSelector string
	watch         bool
	showLabels    bool
	noHeaders     bool
}

func newGetCommand(a *app) *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get KIND [NAME...]",
		Short: "Show objects",
		Long: "Show objects of one kind as a table (the kind's printer columns), or as\n" +
			"wide, yaml, json or name. KIND is a kind, its plural or a short name, in\n" +
			"any case (namespaces, namespace, ns, Namespace), optionally with its group\n" +
			"(namespaces.core). With -w the list is followed by every change.",
		Example: "  pacctl get namespaces\n  pacctl get ns demo -o yaml\n  pacctl get events -A -l app=web -w",
		Args:    argsAtLeast(1, "name a kind, e.g. pacctl get namespaces"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.get(cmd.Context(), args[0], args[1:], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output format: wide, yaml, json or name")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list objects in every namespace")
	f.StringVarP(&o.selector, "selector", "l", "", "label selector, e.g. app=web,tier!=db,env in (a,b)")
	f.StringVar(&o.fieldSelector, "field-selector", "", "field selector, e.g. spec.nodeName=host-1 (see the kind's selectable fields)")
	f.BoolVarP(&o.watch, "watch", "w", false, "after the list, print every change until interrupted")
	f.BoolVar(&o.showLabels, "show-labels", false, "add a LABELS column")
	f.BoolVar(&o.noHeaders, "no-headers", false, "print no table header")
	return cmd
}

func (a *app) get(ctx context.Context, kindName string, names []string, o getOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	if o.allNamespaces && len(names) > 0 {
		return usageError{errors.New("a name cannot be combined with --all-namespaces")}
	}
	k, err := a.kindByName(ctx, kindName)
	if err != nil {
		return err
	}
	ns := ""
	if k.GetNamespaced() && !o.allNamespaces {
		ns = a.defaultNamespace()
	}
	dyn := a.cl.Dynamic(gvkOf(k))
	p := newPrinter(a, k, o.output, tableOptions{allNamespaces: o.allNamespaces, showLabels: o.showLabels}, o.noHeaders)

	if len(names) > 0 && !o.watch {
		var objs []apis.Object
		for _, name := range names {
			obj, err := a.getOne(ctx, dyn, ns, name)
			if err != nil {
				a.report(err)
				continue
			}
			objs = append(objs, obj)
		}
		return p.list(objs, len(names) == 1)
	}

	reqCtx, cancel := a.requestContext(ctx)
	objs, rev, err := dyn.ListAll(reqCtx, client.ListOptions{Namespace: ns, LabelSelector: o.selector, FieldSelector: o.fieldSelector})
	cancel()
	if err != nil {
		return err
	}
	if len(names) > 0 {
		objs = slices.DeleteFunc(objs, func(obj apis.Object) bool { return !slices.Contains(names, obj.GetMetadata().GetName()) })
	}
	if !o.watch {
		if len(objs) == 0 && (o.output == outTable || o.output == outWide) {
			fmt.Fprintln(a.stderr, noResources(k, ns))
			return nil
		}
		return p.list(objs, false)
	}
	if o.output == outTable || o.output == outWide {
		err = p.rows(objs, true)
	} else {
		for _, obj := range objs {
			if err = p.event(obj); err != nil {
				break
			}
		}
	}
	if err != nil {
		return err
	}
	return a.watch(ctx, dyn, p, client.WatchOptions{Namespace: ns, LabelSelector: o.selector, FieldSelector: o.fieldSelector, ResourceVersion: rev}, names)
}

// watch prints changes until the context ends.
func (a *app) watch(ctx context.Context, dyn *client.Dynamic, p *printer, o client.WatchOptions, names []string) error {
	w, err := dyn.Watch(ctx, o)
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.Events() {
		if ev.Type == corev1.EventType_EVENT_TYPE_BOOKMARK {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, ev.Object.GetMetadata().GetName()) {
			continue
		}
		if err := p.event(ev.Object); err != nil {
			return err
		}
	}
	if err := w.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// getOne gets one object within --request-timeout.
func (a *app) getOne(ctx context.Context, dyn *client.Dynamic, ns, name string) (apis.Object, error) {
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	return dyn.Get(ctx, ns, name)
}

func noResources(k *corev1.KindInfo, ns string) string {
	if k.GetNamespaced() && ns != "" {
		return fmt.Sprintf("No resources found in %s namespace.", ns)
	}
	return "No resources found"
}
