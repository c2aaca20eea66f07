// Package podsecurity is pod security admission: each namespace enforces one
// of Kubernetes' Pod Security Standards levels, chosen by the label
// pod-security.pacific.dev/enforce (privileged, baseline or restricted;
// baseline when absent). Pods are checked on create (their spec is
// immutable afterwards); only a cluster admin may label a namespace
// privileged. See docs/decisions/0014-pod-security-admission.md.
package podsecurity
