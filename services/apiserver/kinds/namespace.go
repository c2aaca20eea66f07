package kinds

import (
	"slices"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/podsecurity"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

const maxDescriptionBytes = 4096

func namespaceKind() *registry.Kind {
	return &registry.Kind{
		GVK:         apis.GVK{APIVersion: apis.CoreV1, Kind: "Namespace"},
		Plural:      "namespaces",
		ShortNames:  []string{"ns"},
		NameIsLabel: true,
		New:         func() apis.Object { return &corev1.Namespace{} },
		Default: func(obj apis.Object) {
			if ns := obj.(*corev1.Namespace); ns.Spec == nil {
				ns.Spec = &corev1.NamespaceSpec{}
			}
		},
		PrepareForCreate: func(obj apis.Object) {
			ns := obj.(*corev1.Namespace)
			md := ns.GetMetadata()
			if !slices.Contains(md.GetFinalizers(), apis.NamespaceFinalizer) {
				md.Finalizers = append(md.Finalizers, apis.NamespaceFinalizer)
			}
			ns.Status = &corev1.NamespaceStatus{Phase: apis.NamespaceActive}
		},
		Validate: func(obj apis.Object) apierr.FieldErrors {
			var fe apierr.FieldErrors
			ns := obj.(*corev1.Namespace)
			if len(ns.GetSpec().GetDescription()) > maxDescriptionBytes {
				fe.Add("spec.description", "%d bytes exceed the limit of %d", len(ns.GetSpec().GetDescription()), maxDescriptionBytes)
			}
			switch ns.GetStatus().GetPhase() {
			case "", apis.NamespaceActive, apis.NamespaceTerminating:
			default:
				fe.Add("status.phase", "%q: must be Active or Terminating", ns.GetStatus().GetPhase())
			}
			return fe
		},
		Admission: []registry.AdmissionHook{podsecurity.AdmitNamespace},
		PrepareForDelete: func(obj apis.Object) {
			ns := obj.(*corev1.Namespace)
			if ns.Status == nil {
				ns.Status = &corev1.NamespaceStatus{}
			}
			ns.Status.Phase = apis.NamespaceTerminating
		},
		PrinterColumns: []*corev1.PrinterColumn{
			column("Status", ".status.phase", "string"),
			ageColumn(),
			wideColumn("Description", ".spec.description", "string"),
		},
	}
}
