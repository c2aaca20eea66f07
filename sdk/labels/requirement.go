package labels

import (
	"fmt"
	"slices"
	"strconv"
)

// NewRequirement validates and returns a requirement. Keys must be
// qualified names and values valid label values (see Validate); values are
// sorted and deduplicated.
func NewRequirement(key string, op Operator, values []string) (Requirement, error) {
	if err := ValidateKey(key); err != nil {
		return Requirement{}, fmt.Errorf("invalid label key %q: %w", key, err)
	}
	vals := slices.Clone(values)
	slices.Sort(vals)
	vals = slices.Compact(vals)
	switch op {
	case Equals, NotEquals:
		if len(vals) != 1 {
			return Requirement{}, fmt.Errorf("operator %q needs exactly one value", op)
		}
	case In, NotIn:
		if len(vals) == 0 {
			return Requirement{}, fmt.Errorf("operator %q needs at least one value", op)
		}
	case Exists, DoesNotExist:
		if len(vals) != 0 {
			return Requirement{}, fmt.Errorf("operator %q takes no values", op)
		}
	case GreaterThan, LessThan:
		if len(vals) != 1 {
			return Requirement{}, fmt.Errorf("operator %q needs exactly one value", op)
		}
		n, err := strconv.ParseInt(vals[0], 10, 64)
		if err != nil {
			return Requirement{}, fmt.Errorf("operator %q needs an integer value, got %q", op, vals[0])
		}
		return Requirement{Key: key, Operator: op, Values: []string{strconv.FormatInt(n, 10)}}, nil
	default:
		return Requirement{}, fmt.Errorf("unknown operator %q", op)
	}
	for _, v := range vals {
		if err := ValidateValue(v); err != nil {
			return Requirement{}, fmt.Errorf("invalid label value %q: %w", v, err)
		}
	}
	if len(vals) == 0 {
		vals = nil
	}
	return Requirement{Key: key, Operator: op, Values: vals}, nil
}
