package client

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/sdk/apis"
)

// ApplyResult says what Apply did, in kubectl's words.
type ApplyResult string

// Apply results.
const (
	Created    ApplyResult = "created"
	Configured ApplyResult = "configured"
	Unchanged  ApplyResult = "unchanged"
)

// maxApplyAttempts bounds Apply's get-merge-update loop when other writers
// keep changing the object.
const maxApplyAttempts = 5

// Apply creates obj, or if it exists updates it to what obj declares:
//
//   - spec (and every other top-level field except metadata and status) is
//     replaced by obj's; a field obj leaves unset keeps the server's value
//     only if that value is empty (a defaulted "spec: {}");
//   - labels and annotations are replaced by obj's, except keys under a
//     pacific.dev domain that obj does not mention (the system owns those);
//   - finalizers are the server's plus any obj adds; owner references are
//     obj's if it has any, else the server's;
//   - status, uid, timestamps and generation stay the server's, and the
//     update carries the server copy's resource_version (a concurrent
//     change is merged again, up to 5 times).
//
// The result is Created, Configured, or Unchanged when the object already
// matched (nothing is written). With DryRun the server validates and
// nothing is stored; the result says what would happen.
func (t *Typed[T]) Apply(ctx context.Context, obj T, opts ...WriteOption) (T, ApplyResult, error) {
	var zero T
	if t.err != nil {
		return zero, "", t.err
	}
	if any(obj) == nil || !obj.ProtoReflect().IsValid() {
		return zero, "", fmt.Errorf("apply %s: nil object", t.gvk.Kind)
	}
	for attempt := 1; ; attempt++ {
		created, err := t.Create(ctx, forCreate(obj), opts...)
		if err == nil {
			return created, Created, nil
		}
		if !IsAlreadyExists(err) {
			return zero, "", err
		}
		md := obj.GetMetadata()
		live, err := t.Get(ctx, md.GetNamespace(), md.GetName())
		if IsNotFound(err) && attempt < maxApplyAttempts {
			continue // deleted meanwhile: create again
		}
		if err != nil {
			return zero, "", err
		}
		desired := MergeForApply(live, obj)
		if proto.Equal(desired, live) {
			return live, Unchanged, nil
		}
		out, err := t.Update(ctx, desired, opts...)
		if IsConflict(err) && attempt < maxApplyAttempts {
			continue
		}
		if err != nil {
			return zero, "", err
		}
		if proto.Equal(out, live) {
			return out, Unchanged, nil
		}
		return out, Configured, nil
	}
}

// forCreate drops the server-owned metadata an exported object carries
// (pacctl get -o yaml output applied again), which Create would refuse.
func forCreate[T apis.Object](obj T) T {
	md := obj.GetMetadata()
	if md.GetResourceVersion() == 0 && md.GetDeletionTimestamp() == nil {
		return obj
	}
	c := proto.Clone(obj).(T)
	c.GetMetadata().ResourceVersion = 0
	c.GetMetadata().DeletionTimestamp = nil
	return c
}

// MergeForApply returns the object Apply would send as an update of live to
// make it what applied declares (see Apply for the rules). Neither
// argument is modified.
func MergeForApply[T apis.Object](live, applied T) T {
	out := proto.Clone(live).(T)
	applied = proto.Clone(applied).(T) // out shares nothing with the arguments
	md, amd := out.GetMetadata(), applied.GetMetadata()
	if md == nil { // a live object always has metadata; be safe anyway
		return out
	}
	md.Labels = mergeUserKeys(md.GetLabels(), amd.GetLabels())
	md.Annotations = mergeUserKeys(md.GetAnnotations(), amd.GetAnnotations())
	for _, f := range amd.GetFinalizers() {
		if !slices.Contains(md.Finalizers, f) {
			md.Finalizers = append(md.Finalizers, f)
		}
	}
	if len(amd.GetOwnerReferences()) > 0 {
		md.OwnerReferences = amd.GetOwnerReferences()
	}
	dst, src := out.ProtoReflect(), applied.ProtoReflect()
	fields := dst.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch fd.Name() {
		case "api_version", "kind", "metadata", "status":
			continue
		}
		switch {
		case src.Has(fd):
			dst.Set(fd, src.Get(fd))
		case dst.Has(fd) && fd.Message() != nil && !fd.IsList() && !fd.IsMap() && proto.Size(dst.Get(fd).Message().Interface()) == 0:
			// The server defaulted an empty message; unset means the same.
		default:
			dst.Clear(fd)
		}
	}
	return out
}

// mergeUserKeys returns the applied map plus live's system keys (under a
// pacific.dev domain) that applied does not set.
func mergeUserKeys(live, applied map[string]string) map[string]string {
	out := make(map[string]string, len(applied))
	for k, v := range live {
		if systemKey(k) {
			out[k] = v
		}
	}
	for k, v := range applied {
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// systemKey reports whether a label or annotation key's prefix is
// pacific.dev or a subdomain of it.
func systemKey(k string) bool {
	prefix, _, ok := strings.Cut(k, "/")
	return ok && (prefix == "pacific.dev" || strings.HasSuffix(prefix, ".pacific.dev"))
}
