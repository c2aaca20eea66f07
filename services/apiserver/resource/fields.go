package resource

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/fields"
	"github.com/openpacific/pacific/sdk/labels"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

// filter is a request's label and field selectors.
type filter struct {
	labels labels.Selector
	fields fields.Selector
}

// parseFilter validates both selectors, adding problems to fe.
func parseFilter(k *registry.Kind, labelSel, fieldSel string, fe *apierr.FieldErrors) filter {
	var f filter
	var err error
	if f.labels, err = labels.Parse(labelSel); err != nil {
		fe.Add("labelSelector", "%v", err)
	}
	if f.fields, err = fields.Parse(fieldSel); err != nil {
		fe.Add("fieldSelector", "%v", err)
		return f
	}
	allowed := append([]string{"metadata.name", "metadata.namespace"}, k.SelectableFields...)
	for _, t := range f.fields.Terms {
		if !slices.Contains(allowed, t.Path) {
			fe.Add("fieldSelector", "%s cannot be selected on for %s; selectable: %s", t.Path, k.Plural, strings.Join(allowed, ", "))
		}
	}
	return f
}

func (f filter) empty() bool { return f.labels.Empty() && f.fields.Empty() }

func (f filter) matches(obj apis.Object) bool {
	if !f.labels.Matches(obj.GetMetadata().GetLabels()) {
		return false
	}
	return f.fields.Matches(func(path string) string { return fieldValue(obj.ProtoReflect(), path) })
}

// fieldValue returns the scalar at a protojson path ("spec.nodeName"), or ""
// when any part is unset.
func fieldValue(m protoreflect.Message, path string) string {
	parts := strings.Split(path, ".")
	for i, name := range parts {
		fd := m.Descriptor().Fields().ByJSONName(name)
		if fd == nil || fd.IsList() || fd.IsMap() {
			return ""
		}
		if i == len(parts)-1 {
			if fd.Message() != nil {
				return ""
			}
			v := m.Get(fd)
			if fd.Enum() != nil {
				if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
					return string(ev.Name())
				}
			}
			return fmt.Sprint(v.Interface())
		}
		if fd.Message() == nil || !m.Has(fd) {
			return ""
		}
		m = m.Get(fd).Message()
	}
	return ""
}
