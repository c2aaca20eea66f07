package apis

import (
	// Links the auth.pacific.dev kinds (Role, RoleBinding, ClusterRole,
	// ClusterRoleBinding) so manifests resolve them.
	_ "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
)

// AuthV1 is the apiVersion of the RBAC kinds.
const AuthV1 = "auth.pacific.dev/v1"

// Built-in cluster roles, bindable by name from a RoleBinding
// (spec.role) or a ClusterRoleBinding.
const (
	RoleViewer       = "viewer"
	RoleEditor       = "editor"
	RoleOwner        = "owner"
	RoleClusterAdmin = "cluster-admin"
)

// RBAC subject kinds and role kinds.
const (
	SubjectUser     = "User"
	SubjectGroup    = "Group"
	RoleKindRole    = "Role"
	RoleKindCluster = "ClusterRole"
)
