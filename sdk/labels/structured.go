package labels

import (
	"fmt"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// hostOps maps the operators of host (node) selector terms to Operator:
// those of FromProto plus Gt and Lt.
var hostOps = map[string]Operator{
	"In": In, "NotIn": NotIn, "Exists": Exists, "DoesNotExist": DoesNotExist, "Gt": GreaterThan, "Lt": LessThan,
}

// FromExpressions converts the matchExpressions of a host selector term
// (node affinity), which may also use Gt and Lt on integer labels.
func FromExpressions(exprs []*corev1.LabelSelectorRequirement) (Selector, error) {
	reqs := make([]Requirement, 0, len(exprs))
	for i, e := range exprs {
		op, ok := hostOps[e.GetOperator()]
		if !ok {
			return Selector{}, fmt.Errorf("matchExpressions[%d].operator: %q: want In, NotIn, Exists, DoesNotExist, Gt or Lt", i, e.GetOperator())
		}
		r, err := NewRequirement(e.GetKey(), op, e.GetValues())
		if err != nil {
			return Selector{}, fmt.Errorf("matchExpressions[%d]: %w", i, err)
		}
		reqs = append(reqs, r)
	}
	return newSelector(reqs), nil
}
