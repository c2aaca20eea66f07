package kinds

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

// addHostAgentFinalizer puts the host agent's finalizer on a pod when it is
// bound to a host — created with spec.nodeName, or bound by the update that
// sets it — so that its deletion waits for the agent's clean-up without the
// agent writing the finalizer before every start (decision 0029).
func addHostAgentFinalizer(_ context.Context, req registry.AdmissionRequest) error {
	switch req.Op {
	case registry.OpCreate:
	case registry.OpUpdate:
		if req.Old.(*corev1.Pod).GetSpec().GetNodeName() != "" {
			return nil
		}
	default:
		return nil
	}
	pod := req.Obj.(*corev1.Pod)
	md := pod.GetMetadata()
	if pod.GetSpec().GetNodeName() == "" || md == nil || md.GetDeletionTimestamp() != nil ||
		slices.Contains(md.GetFinalizers(), apis.HostAgentFinalizer) {
		return nil
	}
	md.Finalizers = append(md.Finalizers, apis.HostAgentFinalizer)
	return nil
}

// PodScheduled is the pod condition the scheduler and the binding share.
const condPodScheduled = "PodScheduled"

// markScheduledOnBind makes binding one write: the update that sets
// spec.nodeName (from empty) also sets PodScheduled=True, replacing a
// PodScheduled=False the scheduler wrote while no host fitted. Like
// Kubernetes' pods/binding, but an ordinary Update with a resource_version
// precondition, so two schedulers can never bind one pod twice.
func markScheduledOnBind(_ context.Context, req registry.AdmissionRequest) error {
	if req.Op != registry.OpUpdate {
		return nil
	}
	before, after := req.Old.(*corev1.Pod), req.Obj.(*corev1.Pod)
	if before.GetSpec().GetNodeName() != "" || after.GetSpec().GetNodeName() == "" {
		return nil
	}
	if after.Status == nil {
		after.Status = &corev1.PodStatus{Phase: "Pending"}
	}
	cond := &corev1.Condition{
		Type:               condPodScheduled,
		Status:             "True",
		Reason:             "Scheduled",
		Message:            fmt.Sprintf("assigned to host %s", after.GetSpec().GetNodeName()),
		LastTransitionTime: timestamppb.New(time.Now()),
	}
	for i, c := range after.Status.Conditions {
		if c.GetType() == condPodScheduled {
			after.Status.Conditions[i] = cond
			return nil
		}
	}
	after.Status.Conditions = append(after.Status.Conditions, cond)
	return nil
}
