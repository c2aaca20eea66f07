package kinds

import (
	"fmt"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/quantity"
	"github.com/openpacific/pacific/sdk/validation"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

func hostKind() *registry.Kind {
	return &registry.Kind{
		GVK:        apis.GVK{APIVersion: apis.CoreV1, Kind: "Host"},
		Plural:     "hosts",
		ShortNames: []string{"ho"},
		New:        func() apis.Object { return &corev1.Host{} },
		Default: func(obj apis.Object) {
			if h := obj.(*corev1.Host); h.Spec == nil {
				h.Spec = &corev1.HostSpec{}
			}
		},
		Validate: validateHost,
		PrinterColumns: []*corev1.PrinterColumn{
			column("Unschedulable", ".spec.unschedulable", "boolean"),
			column("Maintenance", ".spec.maintenance", "boolean"),
			column("Runtimes", ".status.runtimes[*].name", "string"),
			ageColumn(),
			wideColumn("CPU", ".status.allocatable.cpu", "string"),
			wideColumn("Memory", ".status.allocatable.memory", "string"),
			wideColumn("Kernel", ".status.info.kernelVersion", "string"),
		},
	}
}

func validateHost(obj apis.Object) apierr.FieldErrors {
	var fe apierr.FieldErrors
	h := obj.(*corev1.Host)
	seen := map[string]bool{}
	for i, t := range h.GetSpec().GetTaints() {
		path := fmt.Sprintf("spec.taints[%d]", i)
		if seen[t.GetKey()+"/"+t.GetEffect()] {
			fe.Add(path, "duplicate taint %s with effect %s", t.GetKey(), t.GetEffect())
		}
		seen[t.GetKey()+"/"+t.GetEffect()] = true
		if t.GetKey() == "" {
			fe.Required(path + ".key")
		} else if err := validation.QualifiedName(t.GetKey()); err != nil {
			fe.Add(path+".key", "%q: %v", t.GetKey(), err)
		}
		if err := validation.LabelValue(t.GetValue()); err != nil {
			fe.Add(path+".value", "%q: %v", t.GetValue(), err)
		}
		oneOf(&fe, path+".effect", t.GetEffect(), "NoSchedule", "PreferNoSchedule", "NoExecute")
	}
	for _, part := range []struct {
		name string
		m    map[string]string
	}{{"capacity", h.GetStatus().GetCapacity()}, {"allocatable", h.GetStatus().GetAllocatable()}} {
		for name, v := range part.m {
			if _, err := quantity.Parse(v); err != nil {
				fe.Add(fmt.Sprintf("status.%s[%q]", part.name, name), "%v", err)
			}
		}
	}
	for i, r := range h.GetStatus().GetRuntimes() {
		oneOf(&fe, fmt.Sprintf("status.runtimes[%d].isolation", i), r.GetIsolation(), "container", "vm")
	}
	return fe
}
