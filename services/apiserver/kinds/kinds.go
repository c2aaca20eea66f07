package kinds

import (
	"fmt"

	"github.com/openpacific/pacific/services/apiserver/registry"
)

// NewRegistry returns a registry holding every built-in kind.
func NewRegistry() (*registry.Registry, error) {
	reg := registry.New()
	for _, k := range []*registry.Kind{namespaceKind(), eventKind(), podKind(), hostKind(), leaseKind(), secretKind(), roleKind(), clusterRoleKind(), roleBindingKind(), clusterRoleBindingKind(), deploymentKind(), replicaSetKind()} {
		if err := reg.Register(k); err != nil {
			return nil, fmt.Errorf("register kinds: %w", err)
		}
	}
	return reg, nil
}
