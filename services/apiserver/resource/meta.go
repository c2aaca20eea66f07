package resource

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

// Limits on metadata, so one object cannot make lists or watches heavy.
const (
	maxLabels          = 64
	maxAnnotationBytes = 256 << 10
	maxFinalizers      = 32
	maxOwnerReferences = 32
)

// prepareForCreate stamps server-owned metadata and drops status (status is
// written only through UpdateStatus, except what Default sets).
func (s *Service) prepareForCreate(k *registry.Kind, obj apis.Object) {
	md := obj.GetMetadata()
	md.Uid = s.newUID()
	md.Generation = 1
	md.CreationTimestamp = timestamppb.New(s.now().UTC())
	md.DeletionTimestamp = nil
	clearField(obj.ProtoReflect(), "status")
	if k.PrepareForCreate != nil {
		k.PrepareForCreate(obj)
	}
	if k.Default != nil {
		k.Default(obj)
	}
}

// validateCreateMeta checks what a client may not set on create.
func validateCreateMeta(md *corev1.ObjectMeta) apierr.FieldErrors {
	var fe apierr.FieldErrors
	if md.GetResourceVersion() != 0 {
		fe.Add("metadata.resourceVersion", "must not be set when creating an object")
	}
	if md.GetDeletionTimestamp() != nil {
		fe.Add("metadata.deletionTimestamp", "must not be set when creating an object")
	}
	return fe
}

// validateMeta checks metadata every kind shares.
func validateMeta(k *registry.Kind, md *corev1.ObjectMeta) apierr.FieldErrors {
	var fe apierr.FieldErrors
	switch {
	case md.GetName() == "":
		fe.Required("metadata.name")
	case k.NameIsLabel:
		if msg := dns1123Label(md.GetName()); msg != "" {
			fe.Add("metadata.name", "%q: %s", md.GetName(), msg)
		}
	default:
		if msg := dns1123Subdomain(md.GetName()); msg != "" {
			fe.Add("metadata.name", "%q: %s", md.GetName(), msg)
		}
	}
	switch {
	case k.Namespaced && md.GetNamespace() == "":
		fe.Required("metadata.namespace")
	case k.Namespaced:
		if msg := dns1123Label(md.GetNamespace()); msg != "" {
			fe.Add("metadata.namespace", "%q: %s", md.GetNamespace(), msg)
		}
	case md.GetNamespace() != "":
		fe.Add("metadata.namespace", "must be empty: %s is cluster-scoped", k.GVK.Kind)
	}
	if len(md.GetLabels()) > maxLabels {
		fe.Add("metadata.labels", "%d labels exceed the limit of %d", len(md.GetLabels()), maxLabels)
	}
	for key, v := range md.GetLabels() {
		if msg := qualifiedName(key); msg != "" {
			fe.Add("metadata.labels["+quote(key)+"]", "key: %s", msg)
		}
		if msg := labelValue(v); msg != "" {
			fe.Add("metadata.labels["+quote(key)+"]", "value %q: %s", v, msg)
		}
	}
	size := 0
	for key, v := range md.GetAnnotations() {
		size += len(key) + len(v)
		if msg := qualifiedName(key); msg != "" {
			fe.Add("metadata.annotations["+quote(key)+"]", "key: %s", msg)
		}
	}
	if size > maxAnnotationBytes {
		fe.Add("metadata.annotations", "%d bytes exceed the limit of %d", size, maxAnnotationBytes)
	}
	if len(md.GetFinalizers()) > maxFinalizers {
		fe.Add("metadata.finalizers", "%d finalizers exceed the limit of %d", len(md.GetFinalizers()), maxFinalizers)
	}
	seen := map[string]bool{}
	for i, f := range md.GetFinalizers() {
		path := indexPath("metadata.finalizers", i)
		if msg := qualifiedName(f); msg != "" {
			fe.Add(path, "%q: %s", f, msg)
		}
		if seen[f] {
			fe.Add(path, "duplicate %q", f)
		}
		seen[f] = true
	}
	if len(md.GetOwnerReferences()) > maxOwnerReferences {
		fe.Add("metadata.ownerReferences", "%d references exceed the limit of %d", len(md.GetOwnerReferences()), maxOwnerReferences)
	}
	controllers := 0
	for i, ref := range md.GetOwnerReferences() {
		path := indexPath("metadata.ownerReferences", i)
		for _, f := range []struct{ name, v string }{{"apiVersion", ref.GetApiVersion()}, {"kind", ref.GetKind()}, {"name", ref.GetName()}, {"uid", ref.GetUid()}} {
			if f.v == "" {
				fe.Required(path + "." + f.name)
			}
		}
		if ref.GetController() {
			controllers++
		}
	}
	if controllers > 1 {
		fe.Add("metadata.ownerReferences", "only one reference may have controller=true")
	}
	return fe
}

// mergeForUpdate builds the object to store from the current one and the
// request: identity and server-owned metadata come from current; labels,
// annotations, owner references, finalizers and every non-status field come
// from the request.
func mergeForUpdate(current, req apis.Object) apis.Object {
	next := proto.Clone(current).(apis.Object)
	md, rmd := next.GetMetadata(), req.GetMetadata()
	md.Labels = rmd.GetLabels()
	md.Annotations = rmd.GetAnnotations()
	md.OwnerReferences = rmd.GetOwnerReferences()
	md.Finalizers = rmd.GetFinalizers()
	forEachBodyField(next.ProtoReflect(), func(fd protoreflect.FieldDescriptor) {
		if fd.Name() != "status" {
			copyField(next.ProtoReflect(), req.ProtoReflect(), fd)
		}
	})
	return next
}

// mergeForStatus takes only status from the request.
func mergeForStatus(current, req apis.Object) apis.Object {
	next := proto.Clone(current).(apis.Object)
	fd := next.ProtoReflect().Descriptor().Fields().ByName("status")
	copyField(next.ProtoReflect(), req.ProtoReflect(), fd)
	return next
}

// specChanged reports whether any non-metadata, non-status field differs.
func specChanged(a, b apis.Object) bool {
	changed := false
	forEachBodyField(a.ProtoReflect(), func(fd protoreflect.FieldDescriptor) {
		if fd.Name() == "status" || changed {
			return
		}
		am, bm := a.ProtoReflect(), b.ProtoReflect()
		if am.Has(fd) != bm.Has(fd) || (am.Has(fd) && !am.Get(fd).Equal(bm.Get(fd))) {
			changed = true
		}
	})
	return changed
}

// validateImmutableMeta refuses changes to identity fields on update.
func validateImmutableMeta(current, req *corev1.ObjectMeta) apierr.FieldErrors {
	var fe apierr.FieldErrors
	if req.GetUid() != "" && req.GetUid() != current.GetUid() {
		fe.Add("metadata.uid", "immutable (object was deleted and recreated?)")
	}
	if req.GetCreationTimestamp() != nil && !proto.Equal(req.GetCreationTimestamp(), current.GetCreationTimestamp()) {
		fe.Add("metadata.creationTimestamp", "immutable")
	}
	if current.GetDeletionTimestamp() != nil {
		seen := map[string]bool{}
		for _, f := range current.GetFinalizers() {
			seen[f] = true
		}
		for i, f := range req.GetFinalizers() {
			if !seen[f] {
				fe.Add(indexPath("metadata.finalizers", i), "cannot add finalizer %q to an object being deleted", f)
			}
		}
	}
	return fe
}

// forEachBodyField calls fn for each top-level field other than
// api_version, kind and metadata.
func forEachBodyField(m protoreflect.Message, fn func(protoreflect.FieldDescriptor)) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch fd.Name() {
		case "api_version", "kind", "metadata":
			continue
		}
		fn(fd)
	}
}

func copyField(dst, src protoreflect.Message, fd protoreflect.FieldDescriptor) {
	if fd == nil {
		return
	}
	if src.Has(fd) {
		dst.Set(fd, src.Get(fd))
	} else {
		dst.Clear(fd)
	}
}

func clearField(m protoreflect.Message, name protoreflect.Name) {
	if fd := m.Descriptor().Fields().ByName(name); fd != nil {
		m.Clear(fd)
	}
}
