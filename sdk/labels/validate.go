package labels

import (
	"fmt"
	"slices"

	"github.com/openpacific/pacific/sdk/validation"
)

// Error is a problem with one label of a set: its key or its value.
type Error struct {
	Key     string // the label's key, as given
	IsValue bool   // the value, not the key, is at fault
	Err     error  // what rule was broken
}

func (e *Error) Error() string {
	part := "key"
	if e.IsValue {
		part = "value"
	}
	return fmt.Sprintf("label %q: %s: %v", e.Key, part, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ValidateKey checks a label key: a qualified name, i.e. an optional
// DNS-1123 subdomain prefix and '/', then at most 63 characters of
// [A-Za-z0-9-_.] starting and ending with an alphanumeric character.
func ValidateKey(key string) error { return validation.QualifiedName(key) }

// ValidateValue checks a label value: empty, or at most 63 characters of
// [A-Za-z0-9-_.] starting and ending with an alphanumeric character.
func ValidateValue(value string) error { return validation.LabelValue(value) }

// Validate checks every key and value of set and returns one *Error per
// problem, ordered by key, so callers can report all of them with paths such
// as metadata.labels["key"].
func Validate(set map[string]string) []error {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		if err := ValidateKey(k); err != nil {
			errs = append(errs, &Error{Key: k, Err: err})
		}
		if err := ValidateValue(set[k]); err != nil {
			errs = append(errs, &Error{Key: k, IsValue: true, Err: err})
		}
	}
	return errs
}
