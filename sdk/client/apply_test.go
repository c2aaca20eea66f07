package client

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func liveNamespace() *corev1.Namespace {
	return &corev1.Namespace{
		ApiVersion: "core.pacific.dev/v1",
		Kind:       "Namespace",
		Metadata: &corev1.ObjectMeta{
			Name:              "demo",
			Uid:               "u-1",
			ResourceVersion:   7,
			Generation:        2,
			CreationTimestamp: timestamppb.Now(),
			Labels:            map[string]string{"team": "a", "pacific.dev/managed": "yes", "old": "x"},
			Annotations:       map[string]string{"note": "hi", "ctl.pacific.dev/seen": "1"},
			Finalizers:        []string{"pacific.dev/namespace-contents"},
		},
		Spec:   &corev1.NamespaceSpec{Description: "before"},
		Status: &corev1.NamespaceStatus{Phase: "Active"},
	}
}

func TestMergeForApply(t *testing.T) {
	live := liveNamespace()
	applied := &corev1.Namespace{
		Metadata: &corev1.ObjectMeta{
			Name:       "demo",
			Labels:     map[string]string{"team": "b"},
			Finalizers: []string{"example.com/keep"},
		},
		Spec:   &corev1.NamespaceSpec{Description: "after"},
		Status: &corev1.NamespaceStatus{Phase: "Terminating"},
	}
	liveBefore, appliedBefore := proto.Clone(live), proto.Clone(applied)
	got := MergeForApply(live, applied)

	if !proto.Equal(live, liveBefore) || !proto.Equal(applied, appliedBefore) {
		t.Fatal("MergeForApply modified its arguments")
	}
	md := got.GetMetadata()
	wantLabels := map[string]string{"team": "b", "pacific.dev/managed": "yes"}
	if len(md.GetLabels()) != len(wantLabels) || md.Labels["team"] != "b" || md.Labels["pacific.dev/managed"] != "yes" {
		t.Errorf("labels = %v, want %v", md.GetLabels(), wantLabels)
	}
	if len(md.GetAnnotations()) != 1 || md.Annotations["ctl.pacific.dev/seen"] != "1" {
		t.Errorf("annotations = %v, want only the system one", md.GetAnnotations())
	}
	if f := md.GetFinalizers(); len(f) != 2 || f[0] != "pacific.dev/namespace-contents" || f[1] != "example.com/keep" {
		t.Errorf("finalizers = %v", f)
	}
	if md.GetResourceVersion() != 7 || md.GetUid() != "u-1" || md.GetGeneration() != 2 {
		t.Errorf("server-owned metadata changed: %v", md)
	}
	if got.GetSpec().GetDescription() != "after" {
		t.Errorf("spec = %v", got.GetSpec())
	}
	if got.GetStatus().GetPhase() != "Active" {
		t.Errorf("status = %v, want the server's", got.GetStatus())
	}
	// The result shares nothing with applied.
	got.Spec.Description = "mutated"
	got.Metadata.Labels["team"] = "mutated"
	if applied.GetSpec().GetDescription() != "after" || applied.GetMetadata().GetLabels()["team"] != "b" {
		t.Fatal("result aliases the applied object")
	}
}

func TestMergeForApplyUnchanged(t *testing.T) {
	live := liveNamespace()
	// What the user wrote the first time: no spec, the server defaulted an
	// empty one; no finalizer, the server added one.
	live.Spec = &corev1.NamespaceSpec{}
	live.Metadata.Labels = map[string]string{"team": "a"}
	live.Metadata.Annotations = nil
	applied := &corev1.Namespace{ApiVersion: "core.pacific.dev/v1", Kind: "Namespace", Metadata: &corev1.ObjectMeta{Name: "demo", Labels: map[string]string{"team": "a"}}}
	if got := MergeForApply(live, applied); !proto.Equal(got, live) {
		t.Fatalf("re-applying the same manifest changes the object:\n got %v\nlive %v", got, live)
	}
	// Removing the spec's content is a change.
	live.Spec.Description = "x"
	if got := MergeForApply(live, applied); proto.Equal(got, live) || got.Spec != nil {
		t.Fatalf("dropping spec.description was not a change: %v", got.GetSpec())
	}
}

func TestMergeForApplyOwnerReferences(t *testing.T) {
	live := liveNamespace()
	live.Metadata.OwnerReferences = []*corev1.OwnerReference{{ApiVersion: "core.pacific.dev/v1", Kind: "X", Name: "server-set", Uid: "1"}}
	applied := &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "demo"}}
	if got := MergeForApply(live, applied); len(got.GetMetadata().GetOwnerReferences()) != 1 {
		t.Fatal("owner references dropped though the manifest has none")
	}
	applied.Metadata.OwnerReferences = []*corev1.OwnerReference{{Name: "a"}, {Name: "b"}}
	if got := MergeForApply(live, applied); len(got.GetMetadata().GetOwnerReferences()) != 2 {
		t.Fatal("the manifest's owner references were not applied")
	}
}

func TestSystemKey(t *testing.T) {
	for k, want := range map[string]bool{
		"pacific.dev/x": true, "vm.pacific.dev/x": true, "team": false,
		"notpacific.dev/x": false, "example.com/pacific.dev": false,
	} {
		if systemKey(k) != want {
			t.Errorf("systemKey(%q) = %v", k, !want)
		}
	}
}

func TestForCreateDropsServerMetadata(t *testing.T) {
	exported := liveNamespace()
	exported.Metadata.DeletionTimestamp = timestamppb.Now()
	c := forCreate(exported)
	if c.GetMetadata().GetResourceVersion() != 0 || c.GetMetadata().GetDeletionTimestamp() != nil {
		t.Fatalf("forCreate kept server metadata: %v", c.GetMetadata())
	}
	if exported.GetMetadata().GetResourceVersion() != 7 {
		t.Fatal("forCreate modified its argument")
	}
	fresh := &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "x"}}
	if forCreate(fresh) != fresh {
		t.Fatal("forCreate copied an object that needed nothing")
	}
}
