package sim

import (
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent"
)

// simulatedHostIP is what simulated hosts report as their and their pods'
// host IP: they have no network of their own.
const simulatedHostIP = "127.0.0.1"

var podConditionTypes = []string{hostagent.CondPodScheduled, hostagent.CondInitialized, hostagent.CondContainersReady, hostagent.CondReady}

// runningStatus is the status of pod p once its simulated containers run,
// or nil when the stored status says that already.
func runningStatus(p *corev1.Pod, now time.Time) *corev1.PodStatus {
	old := p.GetStatus()
	if isRunning(p) {
		return nil
	}
	start := old.GetStartTime()
	if start == nil {
		start = timestamppb.New(now)
	}
	st := &corev1.PodStatus{
		Phase:                 hostagent.PhaseRunning,
		HostIp:                simulatedHostIP,
		StartTime:             start,
		SchedulingExplanation: old.GetSchedulingExplanation(),
	}
	for _, c := range p.GetSpec().GetContainers() {
		st.ContainerStatuses = append(st.ContainerStatuses, &corev1.ContainerStatus{
			Name:        c.GetName(),
			State:       &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
			Ready:       true,
			Started:     true,
			Image:       c.GetImage(),
			ImageId:     "sim://" + c.GetImage(),
			ContainerId: "sim://" + p.GetMetadata().GetUid() + "/" + c.GetName(),
		})
	}
	gen := p.GetMetadata().GetGeneration()
	for _, typ := range podConditionTypes {
		c := &corev1.Condition{Type: typ, Status: "True", ObservedGeneration: gen, LastTransitionTime: timestamppb.New(now)}
		if prev := findCondition(old.GetConditions(), typ); prev != nil && prev.GetStatus() == "True" {
			c.LastTransitionTime = prev.GetLastTransitionTime()
			c.Reason, c.Message = prev.GetReason(), prev.GetMessage()
		}
		st.Conditions = append(st.Conditions, c)
	}
	for _, c := range old.GetConditions() {
		if !slices.Contains(podConditionTypes, c.GetType()) {
			st.Conditions = append(st.Conditions, c)
		}
	}
	return st
}

func isRunning(p *corev1.Pod) bool {
	st := p.GetStatus()
	if st.GetPhase() != hostagent.PhaseRunning || len(st.GetContainerStatuses()) != len(p.GetSpec().GetContainers()) {
		return false
	}
	for _, typ := range podConditionTypes {
		if c := findCondition(st.GetConditions(), typ); c == nil || c.GetStatus() != "True" {
			return false
		}
	}
	return true
}

func findCondition(conds []*corev1.Condition, typ string) *corev1.Condition {
	for _, c := range conds {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}
