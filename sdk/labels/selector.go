package labels

import (
	"slices"
	"strconv"
	"strings"
)

// Operator is how a requirement compares a label.
type Operator string

// Operators. Their values are the canonical spellings used by String.
const (
	Equals       Operator = "="
	NotEquals    Operator = "!="
	In           Operator = "in"
	NotIn        Operator = "notin"
	Exists       Operator = "exists"
	DoesNotExist Operator = "!"
	GreaterThan  Operator = ">"
	LessThan     Operator = "<"
)

// Requirement is one condition on one label.
type Requirement struct {
	Key      string
	Operator Operator
	// Values is sorted and free of duplicates: one value for Equals,
	// NotEquals, GreaterThan and LessThan (an integer for the last two), at
	// least one for In and NotIn, none for Exists and DoesNotExist.
	Values []string
}

// Matches reports whether the label set satisfies r.
func (r Requirement) Matches(set map[string]string) bool {
	v, ok := set[r.Key]
	switch r.Operator {
	case Equals, In:
		return ok && slices.Contains(r.Values, v)
	case NotEquals, NotIn:
		return !ok || !slices.Contains(r.Values, v)
	case Exists:
		return ok
	case DoesNotExist:
		return !ok
	case GreaterThan, LessThan:
		if !ok || len(r.Values) != 1 {
			return false
		}
		have, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		want, err := strconv.ParseInt(r.Values[0], 10, 64)
		if err != nil {
			return false
		}
		if r.Operator == GreaterThan {
			return have > want
		}
		return have < want
	}
	return false
}

// String returns r in selector syntax.
func (r Requirement) String() string {
	switch r.Operator {
	case Exists:
		return r.Key
	case DoesNotExist:
		return "!" + r.Key
	case In, NotIn:
		return r.Key + " " + string(r.Operator) + " (" + strings.Join(r.Values, ",") + ")"
	default:
		return r.Key + string(r.Operator) + strings.Join(r.Values, ",")
	}
}

// Selector is a conjunction of requirements. The zero value (and
// Everything) matches every label set. A Selector is immutable.
type Selector struct {
	reqs []Requirement
}

// Everything returns the selector that matches every label set.
func Everything() Selector { return Selector{} }

// SelectorFromSet returns the selector that matches label sets containing
// every key=value pair of set. It fails if a key or value is invalid.
func SelectorFromSet(set map[string]string) (Selector, error) {
	reqs := make([]Requirement, 0, len(set))
	for k, v := range set {
		r, err := NewRequirement(k, Equals, []string{v})
		if err != nil {
			return Selector{}, err
		}
		reqs = append(reqs, r)
	}
	return newSelector(reqs), nil
}

// NewSelector returns the conjunction of reqs, which must have been built
// by NewRequirement or taken from another Selector.
func NewSelector(reqs ...Requirement) Selector {
	return newSelector(slices.Clone(reqs))
}

func newSelector(reqs []Requirement) Selector {
	slices.SortStableFunc(reqs, func(a, b Requirement) int { return strings.Compare(a.Key, b.Key) })
	return Selector{reqs: reqs}
}

// Matches reports whether the label set satisfies every requirement.
func (s Selector) Matches(set map[string]string) bool {
	for _, r := range s.reqs {
		if !r.Matches(set) {
			return false
		}
	}
	return true
}

// Empty reports whether s has no requirements (it matches everything).
func (s Selector) Empty() bool { return len(s.reqs) == 0 }

// Requirements returns a copy of the requirements, sorted by key.
func (s Selector) Requirements() []Requirement {
	out := make([]Requirement, len(s.reqs))
	for i, r := range s.reqs {
		r.Values = slices.Clone(r.Values)
		out[i] = r
	}
	return out
}

// String returns the canonical form of s: requirements sorted by key,
// values sorted, "==" written as "=". Parse(s.String()) equals s.
func (s Selector) String() string {
	parts := make([]string, len(s.reqs))
	for i, r := range s.reqs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}
