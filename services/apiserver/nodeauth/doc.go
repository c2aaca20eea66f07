// Package nodeauth is the node authorizer: a host agent (user
// system:host:<name>, group system:hosts) may touch only its own Host and
// Lease and the pods bound to it, so a stolen host certificate or token
// cannot read or change another host's pods. It runs before RBAC and
// denies outright; whatever it allows RBAC still checks. See
// docs/decisions/0026-node-authorizer.md.
package nodeauth
