package record

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// eventNamespace holds the Events of cluster-scoped objects.
const eventNamespace = "default"

// Recorder writes Events as Component.
type Recorder struct {
	Events    *client.Typed[*corev1.Event]
	Component string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Eventf records an Event of type typ (apis.EventNormal or EventWarning)
// about obj.
func (r *Recorder) Eventf(ctx context.Context, obj apis.Object, typ, reason, format string, args ...any) {
	if r == nil || r.Events == nil {
		return
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	ref := reference(obj)
	msg := fmt.Sprintf(format, args...)
	ev := &corev1.Event{
		Metadata: &corev1.ObjectMeta{
			// Kubernetes' scheme: the object's name and a unique suffix.
			Name:      ref.GetName() + "." + strconv.FormatInt(now.UnixNano(), 16),
			Namespace: eventNamespaceOf(ref),
		},
		InvolvedObject: ref,
		Reason:         reason, Message: msg, Type: typ, Count: 1,
		FirstTimestamp: timestamppb.New(now), LastTimestamp: timestamppb.New(now),
		Source: &corev1.EventSource{Component: r.Component},
	}
	if _, err := r.Events.Create(ctx, ev); err != nil && r.Logger != nil {
		r.Logger.WarnContext(ctx, "record event", "object", apis.Key(obj), "reason", reason, "err", err)
	}
}

// reference is the involvedObject of Events about obj.
func reference(obj apis.Object) *corev1.ObjectReference {
	md := obj.GetMetadata()
	gvk, _ := apis.KindOf(obj)
	return &corev1.ObjectReference{
		ApiVersion: gvk.APIVersion, Kind: gvk.Kind, Namespace: md.GetNamespace(), Name: md.GetName(),
		Uid: md.GetUid(), ResourceVersion: md.GetResourceVersion(),
	}
}

// eventNamespaceOf is where Events about ref live: its namespace, or
// eventNamespace for cluster-scoped objects.
func eventNamespaceOf(ref *corev1.ObjectReference) string {
	if ns := ref.GetNamespace(); ns != "" {
		return ns
	}
	return eventNamespace
}
