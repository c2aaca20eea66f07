package apis

import (
	"slices"
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func TestRemoveFinalizer(t *testing.T) {
	md := &corev1.ObjectMeta{Finalizers: []string{"a", HostAgentFinalizer, "b"}}
	if !RemoveFinalizer(md, HostAgentFinalizer) || !slices.Equal(md.Finalizers, []string{"a", "b"}) {
		t.Fatalf("after removal: %v", md.Finalizers)
	}
	if RemoveFinalizer(md, HostAgentFinalizer) || !slices.Equal(md.Finalizers, []string{"a", "b"}) {
		t.Fatalf("a second removal changed something: %v", md.Finalizers)
	}
	if RemoveFinalizer(nil, "a") {
		t.Fatal("nil metadata has no finalizer")
	}
}
