package kinds

import (
	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

const maxEventMessageBytes = 4096

func eventKind() *registry.Kind {
	return &registry.Kind{
		GVK:        apis.GVK{APIVersion: apis.CoreV1, Kind: "Event"},
		Plural:     "events",
		ShortNames: []string{"ev"},
		Namespaced: true,
		New:        func() apis.Object { return &corev1.Event{} },
		// describe finds the events about one object.
		SelectableFields: []string{"involvedObject.kind", "involvedObject.name", "involvedObject.uid", "reason", "type"},
		Default: func(obj apis.Object) {
			ev := obj.(*corev1.Event)
			if ev.Type == "" {
				ev.Type = apis.EventNormal
			}
			if ev.Count == 0 {
				ev.Count = 1
			}
			if ev.FirstTimestamp == nil {
				ev.FirstTimestamp = ev.GetMetadata().GetCreationTimestamp()
			}
			if ev.LastTimestamp == nil {
				ev.LastTimestamp = ev.FirstTimestamp
			}
		},
		Validate: func(obj apis.Object) apierr.FieldErrors {
			var fe apierr.FieldErrors
			ev := obj.(*corev1.Event)
			ref := ev.GetInvolvedObject()
			if ref == nil {
				fe.Required("involvedObject")
			} else {
				if ref.GetKind() == "" {
					fe.Required("involvedObject.kind")
				}
				if ref.GetName() == "" {
					fe.Required("involvedObject.name")
				}
			}
			if ev.GetReason() == "" {
				fe.Required("reason")
			}
			if len(ev.GetMessage()) > maxEventMessageBytes {
				fe.Add("message", "%d bytes exceed the limit of %d", len(ev.GetMessage()), maxEventMessageBytes)
			}
			switch ev.GetType() {
			case apis.EventNormal, apis.EventWarning:
			default:
				fe.Add("type", "%q: must be Normal or Warning", ev.GetType())
			}
			if ev.GetCount() < 0 {
				fe.Add("count", "must not be negative")
			}
			return fe
		},
		PrinterColumns: []*corev1.PrinterColumn{
			column("Last Seen", ".lastTimestamp", "date"),
			column("Type", ".type", "string"),
			column("Reason", ".reason", "string"),
			column("Object", ".involvedObject.name", "string"),
			column("Message", ".message", "string"),
			wideColumn("Count", ".count", "integer"),
		},
	}
}
