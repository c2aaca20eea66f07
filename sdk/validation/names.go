package validation

import (
	"errors"
	"fmt"
	"strings"
)

// Limits, as in Kubernetes.
const (
	// MaxDNS1123LabelLength bounds a DNS-1123 label (RFC 1123 §2.1).
	MaxDNS1123LabelLength = 63
	// MaxDNS1123SubdomainLength bounds a DNS-1123 subdomain.
	MaxDNS1123SubdomainLength = 253
	// MaxQualifiedNameLength bounds the name part of a qualified name.
	MaxQualifiedNameLength = 63
	// MaxLabelValueLength bounds a label value.
	MaxLabelValueLength = 63
)

var (
	errEmpty            = errors.New("must not be empty")
	errDNS1123Label     = errors.New("a DNS-1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc')")
	errDNS1123Subdomain = errors.New("a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')")
	errQualifiedName    = errors.New("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc')")
	errLabelValue       = errors.New("a label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', 'my_value' or '12345')")
)

// DNS1123Label checks that s is a lowercase RFC 1123 label: at most 63
// characters of [a-z0-9-], starting and ending with [a-z0-9]. Namespace
// names and names that become DNS names must be labels.
func DNS1123Label(s string) error {
	if s == "" {
		return errEmpty
	}
	if len(s) > MaxDNS1123LabelLength {
		return tooLong(MaxDNS1123LabelLength)
	}
	if !isDNSLabel(s) {
		return errDNS1123Label
	}
	return nil
}

// DNS1123Subdomain checks that s is a lowercase RFC 1123 subdomain: at most
// 253 characters, DNS-1123 labels joined by '.'. Most object names must be
// subdomains.
func DNS1123Subdomain(s string) error {
	if s == "" {
		return errEmpty
	}
	if len(s) > MaxDNS1123SubdomainLength {
		return tooLong(MaxDNS1123SubdomainLength)
	}
	for part := range strings.SplitSeq(s, ".") {
		if !isDNSLabel(part) {
			return errDNS1123Subdomain
		}
	}
	return nil
}

// QualifiedName checks a label key, annotation key or finalizer name: an
// optional DNS-1123 subdomain prefix and '/', then a name of at most 63
// characters of [A-Za-z0-9-_.] starting and ending with an alphanumeric
// character, e.g. "app", "pacific.dev/team".
func QualifiedName(s string) error {
	prefix, name, hasPrefix := strings.Cut(s, "/")
	if !hasPrefix {
		name = s
	} else {
		if prefix == "" {
			return errors.New("prefix part must not be empty")
		}
		if err := DNS1123Subdomain(prefix); err != nil {
			return fmt.Errorf("prefix part: %w", err)
		}
		if strings.Contains(name, "/") {
			return errors.New("must contain at most one '/'")
		}
	}
	if name == "" {
		return errors.New("name part must not be empty")
	}
	if len(name) > MaxQualifiedNameLength {
		return fmt.Errorf("name part %w", tooLong(MaxQualifiedNameLength))
	}
	if !isQualifiedToken(name) {
		return errQualifiedName
	}
	return nil
}

// LabelValue checks a label value: empty, or at most 63 characters of
// [A-Za-z0-9-_.] starting and ending with an alphanumeric character.
func LabelValue(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxLabelValueLength {
		return tooLong(MaxLabelValueLength)
	}
	if !isQualifiedToken(s) {
		return errLabelValue
	}
	return nil
}

func tooLong(n int) error {
	return fmt.Errorf("must be no more than %d characters", n)
}

// isDNSLabel reports whether s matches [a-z0-9]([-a-z0-9]*[a-z0-9])? and is
// at most 63 characters long.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > MaxDNS1123LabelLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLowerAlnum(c):
		case c == '-' && i != 0 && i != len(s)-1:
		default:
			return false
		}
	}
	return true
}

// isQualifiedToken reports whether s matches
// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?.
func isQualifiedToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c):
		case (c == '-' || c == '_' || c == '.') && i != 0 && i != len(s)-1:
		default:
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

func isAlnum(c byte) bool { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z') }

// ConfigMapKey checks a key of Secret (or ConfigMap) data: at most 253
// characters of [-._a-zA-Z0-9], not "." or "..".
func ConfigMapKey(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > 253 {
		return tooLong(253)
	}
	if s == "." || s == ".." {
		return errors.New(`must not be "." or ".."`)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return errors.New("must consist of alphanumeric characters, '-', '_' or '.'")
		}
	}
	return nil
}
