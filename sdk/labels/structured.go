package labels

import (
	"fmt"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// structuredOps maps the operators of structured selectors (matchExpressions
// in manifests) to Operator.
var structuredOps = map[string]Operator{
	"In": In, "NotIn": NotIn, "Exists": Exists, "DoesNotExist": DoesNotExist, "Gt": GreaterThan, "Lt": LessThan,
}

// FromLabelSelector converts a structured selector (matchLabels and
// matchExpressions). A nil selector matches nothing, as in Kubernetes;
// an empty one matches everything. Gt and Lt are refused: they belong
// to host (node) selectors only.
func FromLabelSelector(s *corev1.LabelSelector) (sel Selector, matchesNothing bool, err error) {
	if s == nil {
		return Selector{}, true, nil
	}
	reqs := make([]Requirement, 0, len(s.GetMatchLabels())+len(s.GetMatchExpressions()))
	for k, v := range s.GetMatchLabels() {
		r, err := NewRequirement(k, Equals, []string{v})
		if err != nil {
			return Selector{}, false, fmt.Errorf("matchLabels: %w", err)
		}
		reqs = append(reqs, r)
	}
	for i, e := range s.GetMatchExpressions() {
		if e.GetOperator() == "Gt" || e.GetOperator() == "Lt" {
			return Selector{}, false, fmt.Errorf("matchExpressions[%d]: operator %s is allowed only in host selectors", i, e.GetOperator())
		}
		r, err := requirementOf(e)
		if err != nil {
			return Selector{}, false, fmt.Errorf("matchExpressions[%d]: %w", i, err)
		}
		reqs = append(reqs, r)
	}
	return newSelector(reqs), false, nil
}

// FromExpressions converts the matchExpressions of a host selector term
// (which may use Gt and Lt).
func FromExpressions(exprs []*corev1.LabelSelectorRequirement) (Selector, error) {
	reqs := make([]Requirement, 0, len(exprs))
	for i, e := range exprs {
		r, err := requirementOf(e)
		if err != nil {
			return Selector{}, fmt.Errorf("matchExpressions[%d]: %w", i, err)
		}
		reqs = append(reqs, r)
	}
	return newSelector(reqs), nil
}

func requirementOf(e *corev1.LabelSelectorRequirement) (Requirement, error) {
	op, ok := structuredOps[e.GetOperator()]
	if !ok {
		return Requirement{}, fmt.Errorf("unknown operator %q (want In, NotIn, Exists, DoesNotExist, Gt or Lt)", e.GetOperator())
	}
	return NewRequirement(e.GetKey(), op, e.GetValues())
}
