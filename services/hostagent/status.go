package hostagent

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Pod phases.
const (
	PhasePending   = "Pending"
	PhaseRunning   = "Running"
	PhaseSucceeded = "Succeeded"
	PhaseFailed    = "Failed"
)

// Pod condition types, in the order the agent writes them.
const (
	CondPodScheduled    = "PodScheduled"
	CondInitialized     = "Initialized"
	CondContainersReady = apis.PodContainersReadyCondition
	CondReady           = apis.PodReadyCondition
)

// Restart policies.
const (
	RestartAlways    = "Always"
	RestartOnFailure = "OnFailure"
	RestartNever     = "Never"
)

// statusInput is everything a pod's status is computed from.
type statusInput struct {
	Pod *corev1.Pod
	// Containers are the observed statuses, one per spec container in
	// spec order.
	Containers []*corev1.ContainerStatus
	HostIP     string
	// Reason and Message are pod-level (e.g. why the pod cannot run here).
	Reason, Message string
	// Unschedulable marks the pod as refused by this host: PodScheduled is
	// False with reason Unschedulable and Message.
	Unschedulable bool
	// Failed ends the pod (phase Failed, with Reason and Message), e.g.
	// when it is evicted.
	Failed bool
	Now    time.Time
}

// computeStatus returns the pod's status: phase and conditions from the
// container statuses, keeping what other writers own (scheduling
// explanation, pod IP, condition types the agent does not manage) and the
// transition times of conditions whose status did not change.
func computeStatus(in statusInput) *corev1.PodStatus {
	old := in.Pod.GetStatus()
	phase := podPhase(in.Pod.GetSpec().GetRestartPolicy(), in.Containers)
	switch oldPhase := old.GetPhase(); {
	case in.Failed:
		phase = PhaseFailed
	case oldPhase == PhaseSucceeded || oldPhase == PhaseFailed:
		// A pod that ended stays ended, with why.
		phase = oldPhase
		if in.Reason == "" {
			in.Reason, in.Message = old.GetReason(), old.GetMessage()
		}
	case in.Unschedulable:
		phase = PhasePending
	}
	st := &corev1.PodStatus{
		Phase:                 phase,
		ContainerStatuses:     in.Containers,
		HostIp:                in.HostIP,
		PodIp:                 old.GetPodIp(),
		StartTime:             old.GetStartTime(),
		Reason:                in.Reason,
		Message:               in.Message,
		SchedulingExplanation: old.GetSchedulingExplanation(),
	}
	if st.StartTime == nil && !in.Unschedulable {
		st.StartTime = timestamppb.New(in.Now)
	}
	st.Conditions = podConditions(in, phase)
	return st
}

// podPhase is the kubelet's rule: Pending while a container has not started
// yet; Running while one runs (or, with restarts, will run again);
// Succeeded when all ended with 0 and none will restart; Failed when all
// ended, one failed, and the policy is Never.
func podPhase(restartPolicy string, ctrs []*corev1.ContainerStatus) string {
	var running, waiting, stopped, succeeded int
	for _, c := range ctrs {
		switch s := c.GetState(); {
		case s.GetRunning() != nil:
			running++
		case s.GetTerminated() != nil:
			stopped++
			if s.GetTerminated().GetExitCode() == 0 {
				succeeded++
			}
		case c.GetLastState().GetTerminated() != nil:
			// Waiting to restart (e.g. CrashLoopBackOff): it has run.
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case len(ctrs) == 0 || waiting > 0:
		return PhasePending
	case running > 0:
		return PhaseRunning
	case restartPolicy == RestartAlways || restartPolicy == "":
		return PhaseRunning
	case stopped == succeeded:
		return PhaseSucceeded
	case restartPolicy == RestartNever:
		return PhaseFailed
	default:
		// OnFailure with a failed container: it is being restarted.
		return PhaseRunning
	}
}

func podConditions(in statusInput, phase string) []*corev1.Condition {
	gen := in.Pod.GetMetadata().GetGeneration()
	cond := func(typ string, ok bool, reason, msg string) *corev1.Condition {
		c := &corev1.Condition{Type: typ, Status: "False", Reason: reason, Message: msg, ObservedGeneration: gen}
		if ok {
			c.Status, c.Reason, c.Message = "True", "", ""
		}
		return c
	}
	var unready []string
	for _, c := range in.Containers {
		if !c.GetReady() {
			unready = append(unready, c.GetName())
		}
	}
	readyReason, readyMsg := "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	if phase == PhaseSucceeded || phase == PhaseFailed {
		readyReason, readyMsg = "PodCompleted", ""
	}
	allReady := len(unready) == 0 && len(in.Containers) > 0 && phase == PhaseRunning
	out := []*corev1.Condition{
		cond(CondPodScheduled, !in.Unschedulable, "Unschedulable", in.Message),
		cond(CondInitialized, true, "", ""),
		cond(CondContainersReady, allReady, readyReason, readyMsg),
		cond(CondReady, allReady, readyReason, readyMsg),
	}
	old := in.Pod.GetStatus().GetConditions()
	for _, c := range out {
		if prev := findCondition(old, c.GetType()); prev != nil && prev.GetStatus() == c.GetStatus() && prev.GetLastTransitionTime() != nil {
			c.LastTransitionTime = prev.GetLastTransitionTime()
		} else {
			c.LastTransitionTime = timestamppb.New(in.Now)
		}
	}
	// Keep condition types other components manage.
	for _, c := range old {
		if !slices.Contains([]string{CondPodScheduled, CondInitialized, CondContainersReady, CondReady}, c.GetType()) {
			out = append(out, c)
		}
	}
	return out
}

func findCondition(conds []*corev1.Condition, typ string) *corev1.Condition {
	for _, c := range conds {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

// waitingState, runningState and terminatedState build container states.
func waitingState(reason, msg string) *corev1.ContainerState {
	return &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
}

func runningState(startedAt time.Time) *corev1.ContainerState {
	return &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: tsOrNil(startedAt)}}
}

func terminatedState(t *corev1.ContainerStateTerminated) *corev1.ContainerState {
	if t == nil {
		return nil
	}
	return &corev1.ContainerState{Terminated: t}
}

func tsOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
