package fields

import (
	"fmt"
	"strings"
)

// Term is one path op value requirement.
type Term struct {
	Path   string
	Negate bool
	Value  string
}

// Selector is an AND of terms; the zero value matches everything.
type Selector struct {
	Terms []Term
}

// Parse reads a selector; the empty string selects everything.
func Parse(s string) (Selector, error) {
	var sel Selector
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var t Term
		var ok bool
		if t.Path, t.Value, ok = strings.Cut(part, "!="); ok {
			t.Negate = true
		} else if t.Path, t.Value, ok = strings.Cut(part, "=="); ok {
		} else if t.Path, t.Value, ok = strings.Cut(part, "="); !ok {
			return Selector{}, fmt.Errorf("term %d %q: want path=value, path==value or path!=value", i+1, part)
		}
		t.Path, t.Value = strings.TrimSpace(t.Path), strings.TrimSpace(t.Value)
		if !validPath(t.Path) {
			return Selector{}, fmt.Errorf("term %d %q: %q is not a field path like spec.nodeName", i+1, part, t.Path)
		}
		if strings.ContainsAny(t.Value, "=!,") {
			return Selector{}, fmt.Errorf("term %d %q: value must not contain '=', '!' or ','", i+1, part)
		}
		sel.Terms = append(sel.Terms, t)
	}
	return sel, nil
}

func validPath(p string) bool {
	if p == "" || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		return false
	}
	for _, c := range p {
		if !(c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// Empty reports whether the selector matches everything.
func (s Selector) Empty() bool { return len(s.Terms) == 0 }

// Matches evaluates the selector; get returns the value at a path.
func (s Selector) Matches(get func(path string) string) bool {
	for _, t := range s.Terms {
		if (get(t.Path) == t.Value) == t.Negate {
			return false
		}
	}
	return true
}

// String formats the selector canonically.
func (s Selector) String() string {
	parts := make([]string, len(s.Terms))
	for i, t := range s.Terms {
		op := "="
		if t.Negate {
			op = "!="
		}
		parts[i] = t.Path + op + t.Value
	}
	return strings.Join(parts, ",")
}
