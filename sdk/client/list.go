package client

import (
	"context"
	"fmt"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// ListOptions selects objects.
type ListOptions struct {
	// Namespace limits the list to one namespace; "" lists all namespaces
	// (and is required for cluster-scoped kinds).
	Namespace string
	// LabelSelector uses Kubernetes syntax: "app=web,tier!=db,env in (a,b),!legacy".
	LabelSelector string
	// FieldSelector: "spec.nodeName=host-1"; see package fields.
	FieldSelector string
	// Limit is the page size, 1..1000; 0 lets the server choose (500).
	Limit int32
	// Continue is the token from a previous page; the next page comes from
	// the same consistent snapshot.
	Continue string
	// Stale serves the list without checking the replica is up to date.
	Stale bool
}

// List is one page of objects.
type List[T any] struct {
	Items []T
	// Continue is non-empty when more items remain: pass it in
	// ListOptions.Continue to get the next page.
	Continue string
	// ResourceVersion is the store revision the list is consistent with:
	// watch from it to see every later change.
	ResourceVersion int64
}

// List returns one page of objects.
func (t *Typed[T]) List(ctx context.Context, opts ListOptions) (*List[T], error) {
	if t.err != nil {
		return nil, t.err
	}
	resp, err := t.rs.List(ctx, &corev1.ListRequest{
		ApiVersion:    t.gvk.APIVersion,
		Kind:          t.gvk.Kind,
		Namespace:     opts.Namespace,
		LabelSelector: opts.LabelSelector,
		FieldSelector: opts.FieldSelector,
		Limit:         opts.Limit,
		Continue:      opts.Continue,
		Stale:         opts.Stale,
	})
	if err != nil {
		return nil, fmt.Errorf("list %s%s: %w", t.gvk.Kind, inNamespace(opts.Namespace), err)
	}
	out := &List[T]{Continue: resp.GetContinue(), ResourceVersion: resp.GetResourceVersion(), Items: make([]T, 0, len(resp.GetItems()))}
	for _, a := range resp.GetItems() {
		obj, err := t.unpack("list", a)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, obj)
	}
	return out, nil
}

// ListAll returns every selected object, following continue tokens from
// opts.Continue on, and the revision the whole list is consistent with.
func (t *Typed[T]) ListAll(ctx context.Context, opts ListOptions) ([]T, int64, error) {
	var all []T
	for {
		page, err := t.List(ctx, opts)
		if err != nil {
			return nil, 0, err
		}
		all = append(all, page.Items...)
		if page.Continue == "" {
			return all, page.ResourceVersion, nil
		}
		opts.Continue = page.Continue
	}
}

func inNamespace(ns string) string {
	if ns == "" {
		return ""
	}
	return " in namespace " + ns
}
