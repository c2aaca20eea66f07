package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

type deleteOptions struct {
	files          []string
	ignoreNotFound bool
	cascade        string
}

func newDeleteCommand(a *app) *cobra.Command {
	var o deleteOptions
	cmd := &cobra.Command{
		Use:   "delete (KIND NAME... | -f FILE|DIR|-)",
		Short: "Delete objects by name or by manifest",
		Long: "Delete objects by kind and name, or those named in manifests. An object\n" +
			"with finalizers is marked for deletion and goes once they are done.",
		Example: "  pacctl delete namespace demo\n  pacctl delete -f demo.yaml",
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.delete(cmd.Context(), args, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.files, "filename", "f", nil, "delete the objects in these manifests")
	f.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "treat objects that do not exist as deleted")
	f.StringVar(&o.cascade, "cascade", "background", "what happens to dependents: background, foreground or orphan")
	return cmd
}

func (a *app) delete(ctx context.Context, args []string, o deleteOptions) error {
	policy, err := propagation(o.cascade)
	if err != nil {
		return err
	}
	type target struct {
		kind      *corev1.KindInfo
		namespace string
		name      string
	}
	var targets []target
	switch {
	case len(o.files) > 0 && len(args) > 0:
		return usageError{errors.New("name objects either by KIND NAME or with -f, not both")}
	case len(o.files) > 0:
		objs, err := a.readManifests(o.files)
		if err != nil {
			return err
		}
		for _, obj := range objs {
			gvk, err := apis.KindOf(obj)
			if err != nil {
				return err
			}
			k, err := a.kindByGVK(ctx, gvk)
			if err != nil {
				return err
			}
			ns := ""
			if k.GetNamespaced() {
				ns = obj.GetMetadata().GetNamespace()
				if ns == "" {
					ns = a.defaultNamespace()
				}
			}
			targets = append(targets, target{kind: k, namespace: ns, name: obj.GetMetadata().GetName()})
		}
	case len(args) < 2:
		return usageError{errors.New("name a kind and at least one object, e.g. pacctl delete namespace demo, or use -f")}
	default:
		k, err := a.kindByName(ctx, args[0])
		if err != nil {
			return err
		}
		ns := ""
		if k.GetNamespaced() {
			ns = a.defaultNamespace()
		}
		for _, name := range args[1:] {
			targets = append(targets, target{kind: k, namespace: ns, name: name})
		}
	}
	for _, t := range targets {
		reqCtx, cancel := a.requestContext(ctx)
		err := a.cl.Dynamic(gvkOf(t.kind)).Delete(reqCtx, t.namespace, t.name, client.Propagation(policy))
		cancel()
		switch {
		case err == nil:
			fmt.Fprintf(a.stdout, "%s %q deleted\n", singular(t.kind), t.name)
		case client.IsNotFound(err) && o.ignoreNotFound:
		default:
			a.report(err)
		}
	}
	return nil
}

func propagation(cascade string) (corev1.PropagationPolicy, error) {
	switch cascade {
	case "background", "true":
		return corev1.PropagationPolicy_PROPAGATION_POLICY_BACKGROUND, nil
	case "foreground":
		return corev1.PropagationPolicy_PROPAGATION_POLICY_FOREGROUND, nil
	case "orphan", "false":
		return corev1.PropagationPolicy_PROPAGATION_POLICY_ORPHAN, nil
	}
	return 0, usageError{fmt.Errorf("--cascade %q: want background, foreground or orphan", cascade)}
}
