package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func newApplyCommand(a *app) *cobra.Command {
	var files []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update objects from manifests",
		Long: "Create or update the objects in YAML or JSON manifests (several documents\n" +
			"per file, separated by ---). Every document is checked first, locally and\n" +
			"by the server (dry run); if any is invalid nothing is applied.",
		Example: "  pacctl apply -f demo.yaml\n  pacctl apply -f manifests/\n  cat demo.yaml | pacctl apply -f -",
		Args:    argsExactly(0, "takes no arguments; name manifests with -f"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.apply(cmd.Context(), files, dryRun)
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "manifest file, directory or - for stdin (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only check and report what would happen (the server validates; nothing is stored)")
	return cmd
}

// pending is one object to apply, with its kind.
type pending struct {
	kind *corev1.KindInfo
	obj  apis.Object
}

func (a *app) apply(ctx context.Context, files []string, dryRun bool) error {
	objs, err := a.readManifests(files)
	if err != nil {
		return err
	}
	if _, err := a.client(); err != nil {
		return err
	}
	todo, ok, err := a.prepare(ctx, objs)
	if err != nil {
		return err
	}
	if !ok {
		a.failed = true
		fmt.Fprintln(a.stderr, "error: nothing was applied")
		return nil
	}
	// Check everything before changing anything. Errors that may be the
	// effect of an earlier document not applied yet (its namespace does not
	// exist) are left for the real apply.
	invalid := false
	results := make([]client.ApplyResult, len(todo))
	for i, p := range todo {
		results[i], err = a.applyOne(ctx, p, true)
		switch client.Code(err) {
		case codes.OK, codes.NotFound, codes.FailedPrecondition:
		case codes.InvalidArgument, codes.ResourceExhausted:
			a.printError(err)
			invalid = true
		default:
			return err // unreachable, unauthenticated, ...: stop now
		}
	}
	if invalid {
		a.failed = true
		fmt.Fprintln(a.stderr, "error: nothing was applied")
		return nil
	}
	if dryRun {
		for i, p := range todo {
			fmt.Fprintf(a.stdout, "%s %s (dry run)\n", objectName(p), results[i])
		}
		return nil
	}
	for _, p := range todo {
		result, err := a.applyOne(ctx, p, false)
		if err != nil {
			a.report(err)
			continue
		}
		fmt.Fprintf(a.stdout, "%s %s\n", objectName(p), result)
	}
	return nil
}

// prepare finds each object's kind on the server and settles its
// namespace: the manifest's, else -n or the context's. Problems with
// objects are printed (ok is false); err is for failures to ask the server.
func (a *app) prepare(ctx context.Context, objs []apis.Object) (todo []pending, ok bool, err error) {
	ok = true
	for _, obj := range objs {
		gvk, err := apis.KindOf(obj)
		if err != nil {
			return nil, false, err
		}
		k, err := a.kindByGVK(ctx, gvk)
		if client.Status(err) != nil {
			return nil, false, err
		}
		if err != nil {
			a.printError(fmt.Errorf("%s %q: %w", gvk.Kind, obj.GetMetadata().GetName(), err))
			ok = false
			continue
		}
		md := obj.GetMetadata()
		if k.GetNamespaced() {
			switch ns := a.defaultNamespace(); {
			case md.GetNamespace() == "":
				md.Namespace = ns
			case a.flags.namespace != "" && md.GetNamespace() != a.flags.namespace:
				a.printError(fmt.Errorf("%s/%s: the manifest's namespace %q does not match --namespace %q", singular(k), md.GetName(), md.GetNamespace(), a.flags.namespace))
				ok = false
				continue
			}
		}
		todo = append(todo, pending{kind: k, obj: obj})
	}
	return todo, ok, nil
}

func (a *app) applyOne(ctx context.Context, p pending, dryRun bool) (client.ApplyResult, error) {
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	var opts []client.WriteOption
	if dryRun {
		opts = append(opts, client.DryRun())
	}
	_, result, err := a.cl.Dynamic(gvkOf(p.kind)).Apply(ctx, p.obj, opts...)
	return result, err
}

// objectName is how apply names an object: namespace/demo.
func objectName(p pending) string {
	return singular(p.kind) + "/" + p.obj.GetMetadata().GetName()
}
