package kinds

import (
	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

func leaseKind() *registry.Kind {
	return &registry.Kind{
		GVK:        apis.GVK{APIVersion: apis.CoreV1, Kind: "Lease"},
		Plural:     "leases",
		Namespaced: true,
		New:        func() apis.Object { return &corev1.Lease{} },
		Validate: func(obj apis.Object) apierr.FieldErrors {
			var fe apierr.FieldErrors
			spec := obj.(*corev1.Lease).GetSpec()
			if spec == nil {
				fe.Required("spec")
				return fe
			}
			if d := spec.GetLeaseDurationSeconds(); d < 1 || d > 3600 {
				fe.Add("spec.leaseDurationSeconds", "%d: must be between 1 and 3600", d)
			}
			if len(spec.GetHolderIdentity()) > 253 {
				fe.Add("spec.holderIdentity", "must be at most 253 characters")
			}
			return fe
		},
		PrinterColumns: []*corev1.PrinterColumn{
			column("Holder", ".spec.holderIdentity", "string"),
			column("Renewed", ".spec.renewTime", "date"),
			ageColumn(),
		},
	}
}
