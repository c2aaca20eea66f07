// Package rbac authorizes API calls with Kubernetes-style role-based access
// control: Roles and ClusterRoles hold rules (verbs on kinds), RoleBindings
// grant them inside one namespace and ClusterRoleBindings everywhere.
// Built-in cluster roles (viewer, editor, owner, cluster-admin) and the
// service identities' roles are defined here, not stored.
//
// Rules are compiled per subject (user + groups) and cached until any RBAC
// object changes, so an allowed call costs a map lookup and a short scan.
// Listing or watching across all namespaces needs a cluster-wide grant
// (kubectl behaves the same): a viewer of one namespace who asks for -A is
// denied rather than shown a partial list.
package rbac
