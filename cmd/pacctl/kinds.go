package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// serverKinds asks the server which kinds it has, once per invocation.
func (a *app) serverKinds(ctx context.Context) ([]*corev1.KindInfo, error) {
	if a.kinds != nil {
		return a.kinds, nil
	}
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	resp, err := c.Discovery().ListKinds(ctx, &corev1.ListKindsRequest{})
	if err != nil {
		return nil, fmt.Errorf("discover kinds: %w", err)
	}
	a.kinds = resp.GetKinds()
	return a.kinds, nil
}

// kindByName resolves what the user typed (namespaces, ns, Namespace,
// namespace.core, namespaces.core.pacific.dev) to a kind.
func (a *app) kindByName(ctx context.Context, name string) (*corev1.KindInfo, error) {
	kinds, err := a.serverKinds(ctx)
	if err != nil {
		return nil, err
	}
	return resolveKind(kinds, name)
}

// kindByGVK finds a manifest object's kind on the server.
func (a *app) kindByGVK(ctx context.Context, g apis.GVK) (*corev1.KindInfo, error) {
	kinds, err := a.serverKinds(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range kinds {
		if k.GetApiVersion() == g.APIVersion && k.GetKind() == g.Kind {
			return k, nil
		}
	}
	return nil, fmt.Errorf("the server doesn't have kind %q in apiVersion %q", g.Kind, g.APIVersion)
}

// resolveKind matches name, case-insensitively, against each kind's name,
// plural and short names, optionally qualified by its group (full, e.g.
// core.pacific.dev, or short, e.g. core).
func resolveKind(kinds []*corev1.KindInfo, name string) (*corev1.KindInfo, error) {
	lower := strings.ToLower(strings.TrimSpace(name))
	resource, group, qualified := strings.Cut(lower, ".")
	var matches []*corev1.KindInfo
	for _, k := range kinds {
		if qualified && !groupMatches(k, group) {
			continue
		}
		if kindNameMatches(k, resource) {
			matches = append(matches, k)
		}
	}
	switch len(matches) {
	case 0:
		return nil, unknownKindError{name: name}
	case 1:
		return matches[0], nil
	}
	names := make([]string, len(matches))
	for i, k := range matches {
		names[i] = k.GetPlural() + "." + apis.GVK{APIVersion: k.GetApiVersion()}.Group()
	}
	sort.Strings(names)
	return nil, fmt.Errorf("%q is ambiguous: it matches %s; name the group", name, strings.Join(names, ", "))
}

func kindNameMatches(k *corev1.KindInfo, name string) bool {
	if name == strings.ToLower(k.GetKind()) || name == k.GetPlural() {
		return true
	}
	for _, s := range k.GetShortNames() {
		if name == strings.ToLower(s) {
			return true
		}
	}
	return false
}

func groupMatches(k *corev1.KindInfo, group string) bool {
	g := apis.GVK{APIVersion: k.GetApiVersion()}.Group()
	return group == g || group+apis.GroupSuffix == g
}

// gvkOf returns the kind's API name.
func gvkOf(k *corev1.KindInfo) apis.GVK {
	return apis.GVK{APIVersion: k.GetApiVersion(), Kind: k.GetKind()}
}

// singular is how kubectl names a kind in messages: namespace/demo.
func singular(k *corev1.KindInfo) string { return strings.ToLower(k.GetKind()) }
