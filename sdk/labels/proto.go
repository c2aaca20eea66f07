package labels

import (
	"fmt"
	"maps"
	"slices"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// FromProto converts a structured selector (matchLabels and
// matchExpressions with In, NotIn, Exists, DoesNotExist) to a Selector.
// A nil or empty selector matches everything.
func FromProto(ls *corev1.LabelSelector) (Selector, error) {
	var reqs []Requirement
	for _, k := range slices.Sorted(maps.Keys(ls.GetMatchLabels())) {
		r, err := NewRequirement(k, Equals, []string{ls.GetMatchLabels()[k]})
		if err != nil {
			return Selector{}, fmt.Errorf("matchLabels[%q]: %w", k, err)
		}
		reqs = append(reqs, r)
	}
	for i, e := range ls.GetMatchExpressions() {
		var op Operator
		switch e.GetOperator() {
		case "In":
			op = In
		case "NotIn":
			op = NotIn
		case "Exists":
			op = Exists
		case "DoesNotExist":
			op = DoesNotExist
		default:
			return Selector{}, fmt.Errorf("matchExpressions[%d].operator: %q: want In, NotIn, Exists or DoesNotExist", i, e.GetOperator())
		}
		r, err := NewRequirement(e.GetKey(), op, e.GetValues())
		if err != nil {
			return Selector{}, fmt.Errorf("matchExpressions[%d]: %w", i, err)
		}
		reqs = append(reqs, r)
	}
	return NewSelector(reqs...), nil
}
