// Package validation checks the syntax of names shared by every kind:
// object names (RFC 1123 DNS labels and subdomains), qualified names (label
// and annotation keys, finalizers) and label values. The rules and limits
// are those of Kubernetes, so names move freely between the two systems.
//
// Each function returns nil or an error whose text describes the rule that
// was broken, without repeating the value, so callers can prefix a field
// path and the value: `metadata.name: "Foo": a DNS-1123 label must ...`.
package validation
