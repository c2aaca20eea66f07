package apis

import (
	"slices"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Pod phases.
const (
	PodPending   = "Pending"
	PodRunning   = "Running"
	PodSucceeded = "Succeeded"
	PodFailed    = "Failed"
	PodUnknown   = "Unknown"
)

// PodReadyCondition is the pod condition that says it serves.
const PodReadyCondition = "Ready"

// PodContainersReadyCondition says all of a pod's containers are ready.
const PodContainersReadyCondition = "ContainersReady"

// PodReady reports whether pod's Ready condition is True, and the
// condition (nil if absent).
func PodReady(pod *corev1.Pod) (bool, *corev1.Condition) {
	c := FindCondition(pod.GetStatus().GetConditions(), PodReadyCondition)
	return c.GetStatus() == "True", c
}

// PodActive reports whether pod counts toward its owner's replicas: not
// being deleted and not finished.
func PodActive(pod *corev1.Pod) bool {
	phase := pod.GetStatus().GetPhase()
	return pod.GetMetadata().GetDeletionTimestamp() == nil && phase != PodSucceeded && phase != PodFailed
}

// ControllerRef returns the owner reference marked controller, or nil.
func ControllerRef(md *corev1.ObjectMeta) *corev1.OwnerReference {
	for _, ref := range md.GetOwnerReferences() {
		if ref.GetController() {
			return ref
		}
	}
	return nil
}

// NewControllerRef is the owner reference a controller puts on what it
// creates for owner: controller, and blocking the owner's foreground
// deletion.
func NewControllerRef(owner Object) *corev1.OwnerReference {
	gvk, _ := KindOf(owner)
	md := owner.GetMetadata()
	return &corev1.OwnerReference{
		ApiVersion: gvk.APIVersion, Kind: gvk.Kind, Name: md.GetName(), Uid: md.GetUid(),
		Controller: true, BlockOwnerDeletion: true,
	}
}

// RemoveFinalizer removes finalizer f from md and reports whether it was
// there (then the caller has an update to write).
func RemoveFinalizer(md *corev1.ObjectMeta, f string) bool {
	if md == nil || !slices.Contains(md.Finalizers, f) {
		return false
	}
	md.Finalizers = slices.DeleteFunc(md.Finalizers, func(x string) bool { return x == f })
	return true
}
