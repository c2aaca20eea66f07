package client

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Typed is a client for one kind. T is the kind's message type, e.g.
// *corev1.Namespace, or apis.Object for a Dynamic client.
type Typed[T apis.Object] struct {
	rs     corev1.ResourceServiceClient
	gvk    apis.GVK
	newObj func() (T, error)
	// err is why the client cannot work (T is not a kind); every call
	// returns it.
	err error
}

// For returns a typed client for the kind T:
//
//	ns, err := client.For[*corev1.Namespace](c).Get(ctx, "", "demo")
//
// If T is not a kind (a message named pacific.<domain>.<version>.<Kind>
// with metadata), every call returns an error saying so.
func For[T apis.Object](c *Client) *Typed[T] {
	var zero T
	t := &Typed[T]{rs: c.resources}
	if any(zero) == nil {
		t.err = fmt.Errorf("client.For[%T]: want a generated message type such as *corev1.Namespace; use Client.Dynamic for kinds chosen at run time", zero)
		return t
	}
	mt := zero.ProtoReflect().Type()
	t.gvk, t.err = apis.KindOf(zero)
	t.newObj = func() (T, error) { return mt.New().Interface().(T), nil }
	return t
}

// Dynamic is a client for a kind chosen at run time, for generic tools.
// Objects are the kind's generated message type, as apis.Object.
type Dynamic = Typed[apis.Object]

// Dynamic returns a client for the kind gvk. The kind's Go package must be
// linked into the program (or be known to Options.Types); otherwise every
// call returns an error naming the kind.
func (c *Client) Dynamic(gvk apis.GVK) *Dynamic {
	_, err := c.types.New(gvk)
	if err != nil {
		err = fmt.Errorf("%s is not known to this client: %w", gvk, err)
	}
	return &Dynamic{
		rs:     c.resources,
		gvk:    gvk,
		err:    err,
		newObj: func() (apis.Object, error) { return c.types.New(gvk) },
	}
}

// GVK returns the kind the client works on.
func (t *Typed[T]) GVK() apis.GVK { return t.gvk }

// ReadOption changes how Get reads.
type ReadOption func(*corev1.GetRequest)

// Stale serves the read from whichever replica answers, without checking it
// is up to date with the leader: faster, for caches.
func Stale() ReadOption { return func(r *corev1.GetRequest) { r.Stale = true } }

// DeleteOption changes how Delete deletes.
type DeleteOption func(*corev1.DeleteRequest)

// Precondition deletes only if the object is still at resourceVersion
// (otherwise the call fails with Aborted, see IsConflict).
func Precondition(resourceVersion int64) DeleteOption {
	return func(r *corev1.DeleteRequest) { r.ResourceVersion = resourceVersion }
}

// Propagation says what happens to the object's dependents.
func Propagation(p corev1.PropagationPolicy) DeleteOption {
	return func(r *corev1.DeleteRequest) { r.PropagationPolicy = p }
}

// WriteOption changes how Create and Update write.
type WriteOption func(*writeOptions)

type writeOptions struct{ dryRun bool }

// DryRun validates, defaults and admits the object and returns it as it
// would be stored, without storing it.
func DryRun() WriteOption { return func(o *writeOptions) { o.dryRun = true } }

// Create stores a new object and returns it as stored (with uid,
// resource_version, defaults).
func (t *Typed[T]) Create(ctx context.Context, obj T, opts ...WriteOption) (T, error) {
	var zero T
	a, err := t.pack("create", obj)
	if err != nil {
		return zero, err
	}
	resp, err := t.rs.Create(ctx, &corev1.CreateRequest{Object: a, DryRun: applyWriteOptions(opts).dryRun})
	if err != nil {
		return zero, t.wrap("create", obj.GetMetadata(), err)
	}
	return t.unpack("create", resp.GetObject())
}

// Get returns one object. For cluster-scoped kinds namespace is "".
func (t *Typed[T]) Get(ctx context.Context, namespace, name string, opts ...ReadOption) (T, error) {
	var zero T
	if t.err != nil {
		return zero, t.err
	}
	req := &corev1.GetRequest{ApiVersion: t.gvk.APIVersion, Kind: t.gvk.Kind, Namespace: namespace, Name: name}
	for _, o := range opts {
		o(req)
	}
	resp, err := t.rs.Get(ctx, req)
	if err != nil {
		return zero, fmt.Errorf("get %s %s: %w", t.gvk.Kind, key(namespace, name), err)
	}
	return t.unpack("get", resp.GetObject())
}

// Update replaces the object's metadata (labels, annotations, owner
// references, finalizers) and spec; status is ignored. With a non-zero
// metadata.resource_version the update fails with Aborted (IsConflict) if
// the object changed since; with zero the last writer wins. An update that
// changes nothing stores nothing and returns the object unchanged.
func (t *Typed[T]) Update(ctx context.Context, obj T, opts ...WriteOption) (T, error) {
	var zero T
	a, err := t.pack("update", obj)
	if err != nil {
		return zero, err
	}
	resp, err := t.rs.Update(ctx, &corev1.UpdateRequest{Object: a, DryRun: applyWriteOptions(opts).dryRun})
	if err != nil {
		return zero, t.wrap("update", obj.GetMetadata(), err)
	}
	return t.unpack("update", resp.GetObject())
}

// UpdateStatus replaces the object's status only; it is for the kind's
// controller. resource_version works as in Update.
func (t *Typed[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	var zero T
	a, err := t.pack("update status of", obj)
	if err != nil {
		return zero, err
	}
	resp, err := t.rs.UpdateStatus(ctx, &corev1.UpdateStatusRequest{Object: a})
	if err != nil {
		return zero, t.wrap("update status of", obj.GetMetadata(), err)
	}
	return t.unpack("update status of", resp.GetObject())
}

// Delete deletes the object, or marks it for deletion (deletion timestamp)
// while finalizers remain.
func (t *Typed[T]) Delete(ctx context.Context, namespace, name string, opts ...DeleteOption) error {
	if t.err != nil {
		return t.err
	}
	req := &corev1.DeleteRequest{ApiVersion: t.gvk.APIVersion, Kind: t.gvk.Kind, Namespace: namespace, Name: name}
	for _, o := range opts {
		o(req)
	}
	if _, err := t.rs.Delete(ctx, req); err != nil {
		return fmt.Errorf("delete %s %s: %w", t.gvk.Kind, key(namespace, name), err)
	}
	return nil
}

func applyWriteOptions(opts []WriteOption) writeOptions {
	var o writeOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// pack checks obj is of the client's kind and wraps it in an Any.
func (t *Typed[T]) pack(verb string, obj T) (*anypb.Any, error) {
	if t.err != nil {
		return nil, t.err
	}
	if any(obj) == nil || !obj.ProtoReflect().IsValid() {
		return nil, fmt.Errorf("%s %s: nil object", verb, t.gvk.Kind)
	}
	if got := obj.ProtoReflect().Descriptor().FullName(); got != t.messageName() {
		return nil, fmt.Errorf("%s %s: object is a %s", verb, t.gvk.Kind, got)
	}
	a, err := anypb.New(obj)
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", verb, t.gvk.Kind, apis.Key(obj), err)
	}
	return a, nil
}

// unpack decodes an object the server returned.
func (t *Typed[T]) unpack(verb string, a *anypb.Any) (T, error) {
	obj, err := t.newObj()
	if err != nil {
		return obj, err
	}
	if a == nil {
		return obj, fmt.Errorf("%s %s: the server returned no object", verb, t.gvk.Kind)
	}
	if err := anypb.UnmarshalTo(a, obj, proto.UnmarshalOptions{}); err != nil {
		return obj, fmt.Errorf("%s %s: decode the server's object: %w", verb, t.gvk.Kind, err)
	}
	return obj, nil
}

func (t *Typed[T]) messageName() protoreflect.FullName {
	name, _ := t.gvk.MessageName()
	return name
}

func (t *Typed[T]) wrap(verb string, md *corev1.ObjectMeta, err error) error {
	return fmt.Errorf("%s %s %s: %w", verb, t.gvk.Kind, key(md.GetNamespace(), md.GetName()), err)
}

func key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
