package hostagent

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func running(name string, ready bool) *corev1.ContainerStatus {
	return &corev1.ContainerStatus{Name: name, Ready: ready, Started: true, State: runningState(time.Unix(100, 0))}
}

func exited(name string, code int32) *corev1.ContainerStatus {
	return &corev1.ContainerStatus{Name: name, State: terminatedState(&corev1.ContainerStateTerminated{ExitCode: code})}
}

func waiting(name, reason string) *corev1.ContainerStatus {
	return &corev1.ContainerStatus{Name: name, State: waitingState(reason, "")}
}

func crashLooping(name string) *corev1.ContainerStatus {
	cs := waiting(name, WaitCrashLoopBackOff)
	cs.LastState = terminatedState(&corev1.ContainerStateTerminated{ExitCode: 1})
	return cs
}

func TestPodPhase(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy string
		ctrs   []*corev1.ContainerStatus
		want   string
	}{
		{"no statuses", RestartAlways, nil, PhasePending},
		{"creating", RestartAlways, []*corev1.ContainerStatus{waiting("a", WaitContainerCreating)}, PhasePending},
		{"one running one creating", RestartAlways, []*corev1.ContainerStatus{running("a", true), waiting("b", WaitContainerCreating)}, PhasePending},
		{"all running", RestartAlways, []*corev1.ContainerStatus{running("a", true), running("b", false)}, PhaseRunning},
		{"running and exited", RestartNever, []*corev1.ContainerStatus{running("a", true), exited("b", 1)}, PhaseRunning},
		{"always: all exited 0", RestartAlways, []*corev1.ContainerStatus{exited("a", 0)}, PhaseRunning},
		{"always: crash loop", RestartAlways, []*corev1.ContainerStatus{crashLooping("a")}, PhaseRunning},
		{"default policy behaves as Always", "", []*corev1.ContainerStatus{exited("a", 0)}, PhaseRunning},
		{"onfailure: all 0", RestartOnFailure, []*corev1.ContainerStatus{exited("a", 0), exited("b", 0)}, PhaseSucceeded},
		{"onfailure: one failed", RestartOnFailure, []*corev1.ContainerStatus{exited("a", 0), exited("b", 2)}, PhaseRunning},
		{"onfailure: crash loop", RestartOnFailure, []*corev1.ContainerStatus{crashLooping("a")}, PhaseRunning},
		{"never: all 0", RestartNever, []*corev1.ContainerStatus{exited("a", 0)}, PhaseSucceeded},
		{"never: one failed", RestartNever, []*corev1.ContainerStatus{exited("a", 0), exited("b", 137)}, PhaseFailed},
		{"never: start error", RestartNever, []*corev1.ContainerStatus{exited("a", exitStartError)}, PhaseFailed},
		{"image pull backoff", RestartNever, []*corev1.ContainerStatus{waiting("a", WaitImagePullBackOff), exited("b", 0)}, PhasePending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := podPhase(tc.policy, tc.ctrs); got != tc.want {
				t.Errorf("podPhase(%s) = %s, want %s", tc.policy, got, tc.want)
			}
		})
	}
}

func TestComputeStatusConditions(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		name          string
		policy        string
		ctrs          []*corev1.ContainerStatus
		unschedulable bool
		wantPhase     string
		// want is the status of PodScheduled, Initialized, ContainersReady, Ready.
		want        [4]string
		wantReason  string // of Ready
		wantMessage string // of Ready
	}{
		{"creating", RestartAlways, []*corev1.ContainerStatus{waiting("a", WaitContainerCreating)}, false, PhasePending,
			[4]string{"True", "True", "False", "False"}, "ContainersNotReady", "containers with unready status: [a]"},
		{"all ready", RestartAlways, []*corev1.ContainerStatus{running("a", true), running("b", true)}, false, PhaseRunning,
			[4]string{"True", "True", "True", "True"}, "", ""},
		{"one unready", RestartAlways, []*corev1.ContainerStatus{running("a", true), running("b", false)}, false, PhaseRunning,
			[4]string{"True", "True", "False", "False"}, "ContainersNotReady", "containers with unready status: [b]"},
		{"crash loop", RestartAlways, []*corev1.ContainerStatus{crashLooping("a")}, false, PhaseRunning,
			[4]string{"True", "True", "False", "False"}, "ContainersNotReady", "containers with unready status: [a]"},
		{"succeeded", RestartNever, []*corev1.ContainerStatus{exited("a", 0)}, false, PhaseSucceeded,
			[4]string{"True", "True", "False", "False"}, "PodCompleted", ""},
		{"failed", RestartNever, []*corev1.ContainerStatus{exited("a", 3)}, false, PhaseFailed,
			[4]string{"True", "True", "False", "False"}, "PodCompleted", ""},
		{"unschedulable", RestartAlways, []*corev1.ContainerStatus{waiting("a", ReasonUnsupported)}, true, PhasePending,
			[4]string{"False", "True", "False", "False"}, "ContainersNotReady", "containers with unready status: [a]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Metadata: &corev1.ObjectMeta{Generation: 3}, Spec: &corev1.PodSpec{RestartPolicy: tc.policy}}
			st := computeStatus(statusInput{Pod: pod, Containers: tc.ctrs, HostIP: "127.0.0.1", Unschedulable: tc.unschedulable, Message: "why", Now: now})
			if st.GetPhase() != tc.wantPhase {
				t.Errorf("phase = %s, want %s", st.GetPhase(), tc.wantPhase)
			}
			types := []string{CondPodScheduled, CondInitialized, CondContainersReady, CondReady}
			if len(st.GetConditions()) != 4 {
				t.Fatalf("conditions = %v, want 4", st.GetConditions())
			}
			for i, c := range st.GetConditions() {
				if c.GetType() != types[i] || c.GetStatus() != tc.want[i] {
					t.Errorf("condition %d = %s=%s, want %s=%s", i, c.GetType(), c.GetStatus(), types[i], tc.want[i])
				}
				if c.GetObservedGeneration() != 3 || !c.GetLastTransitionTime().AsTime().Equal(now) {
					t.Errorf("condition %s: generation %d, transition %v", c.GetType(), c.GetObservedGeneration(), c.GetLastTransitionTime().AsTime())
				}
			}
			ready := st.GetConditions()[3]
			if ready.GetReason() != tc.wantReason || ready.GetMessage() != tc.wantMessage {
				t.Errorf("Ready reason/message = %q/%q, want %q/%q", ready.GetReason(), ready.GetMessage(), tc.wantReason, tc.wantMessage)
			}
			if tc.unschedulable {
				if st.GetStartTime() != nil {
					t.Errorf("refused pod has a start time")
				}
				if c := st.GetConditions()[0]; c.GetReason() != "Unschedulable" || c.GetMessage() != "why" {
					t.Errorf("PodScheduled = %v", c)
				}
			} else if !st.GetStartTime().AsTime().Equal(now) || st.GetHostIp() != "127.0.0.1" {
				t.Errorf("startTime %v hostIP %q", st.GetStartTime(), st.GetHostIp())
			}
		})
	}
}

// Transition times move only when a condition's status changes; what other
// writers own survives.
func TestComputeStatusKeepsHistory(t *testing.T) {
	t0, t1 := time.Unix(1000, 0), time.Unix(2000, 0)
	pod := &corev1.Pod{Metadata: &corev1.ObjectMeta{Generation: 1}, Spec: &corev1.PodSpec{RestartPolicy: RestartAlways}}
	first := computeStatus(statusInput{Pod: pod, Containers: []*corev1.ContainerStatus{running("a", false)}, Now: t0})
	first.PodIp = "10.0.0.7"
	first.SchedulingExplanation = "fits"
	first.Conditions = append(first.Conditions, &corev1.Condition{Type: "DisruptionTarget", Status: "True"})
	pod.Status = first

	second := computeStatus(statusInput{Pod: pod, Containers: []*corev1.ContainerStatus{running("a", true)}, Now: t1})
	want := map[string]time.Time{CondPodScheduled: t0, CondInitialized: t0, CondContainersReady: t1, CondReady: t1}
	for _, c := range second.GetConditions()[:4] {
		if got := c.GetLastTransitionTime().AsTime(); !got.Equal(want[c.GetType()]) {
			t.Errorf("%s transition = %v, want %v", c.GetType(), got, want[c.GetType()])
		}
	}
	if len(second.GetConditions()) != 5 || second.GetConditions()[4].GetType() != "DisruptionTarget" {
		t.Errorf("foreign condition lost: %v", second.GetConditions())
	}
	if second.GetPodIp() != "10.0.0.7" || second.GetSchedulingExplanation() != "fits" {
		t.Errorf("podIP %q explanation %q not kept", second.GetPodIp(), second.GetSchedulingExplanation())
	}
	if !second.GetStartTime().AsTime().Equal(t0) {
		t.Errorf("startTime moved to %v", second.GetStartTime().AsTime())
	}
	// Same input again: nothing changes (the agent then skips the write).
	pod.Status = second
	third := computeStatus(statusInput{Pod: pod, Containers: []*corev1.ContainerStatus{running("a", true)}, Now: t1.Add(time.Hour)})
	if !statusEqual(second, third) {
		t.Errorf("recomputing an unchanged pod changed its status:\n%v\n%v", second, third)
	}
}

func TestTerminationOf(t *testing.T) {
	started, finished := time.Unix(10, 0), time.Unix(20, 0)
	for _, tc := range []struct {
		name       string
		exit       *runtimeExit
		wantCode   int32
		wantReason string
	}{
		{"completed", &runtimeExit{code: 0}, 0, "Completed"},
		{"error", &runtimeExit{code: 2}, 2, "Error"},
		{"oom", &runtimeExit{code: 137, oom: true}, 137, "OOMKilled"},
		{"runtime reason kept", &runtimeExit{code: 128, reason: "StartError"}, 128, "StartError"},
		{"lost", nil, exitUnknown, reasonStatusUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term := terminationOf(tc.exit.status(started, finished))
			if term.GetExitCode() != tc.wantCode || term.GetReason() != tc.wantReason {
				t.Errorf("got %d %s, want %d %s", term.GetExitCode(), term.GetReason(), tc.wantCode, tc.wantReason)
			}
			if !term.GetStartedAt().AsTime().Equal(started) {
				t.Errorf("startedAt %v", term.GetStartedAt())
			}
			if term.GetFinishedAt() == nil {
				t.Errorf("no finishedAt")
			}
		})
	}
}

func TestShouldRestart(t *testing.T) {
	for _, tc := range []struct {
		policy string
		code   int32
		want   bool
	}{
		{RestartAlways, 0, true}, {RestartAlways, 1, true}, {"", 0, true},
		{RestartOnFailure, 0, false}, {RestartOnFailure, 1, true},
		{RestartNever, 0, false}, {RestartNever, 1, false},
	} {
		if got := shouldRestart(tc.policy, tc.code); got != tc.want {
			t.Errorf("shouldRestart(%s, %d) = %v", tc.policy, tc.code, got)
		}
	}
}

func TestMinPositive(t *testing.T) {
	for _, tc := range []struct{ a, b, want time.Duration }{
		{0, 0, 0}, {0, 5, 5}, {5, 0, 5}, {3, 5, 3}, {-1, 4, 4}, {4, -1, 4},
	} {
		if got := minPositive(tc.a, tc.b); got != tc.want {
			t.Errorf("minPositive(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}

// runtimeExit describes a runtime exit for table tests (nil: the runtime
// lost the container).
type runtimeExit struct {
	code   int
	oom    bool
	reason string
}

func (e *runtimeExit) status(started, finished time.Time) runtime.ContainerStatus {
	st := runtime.ContainerStatus{ID: "c", State: runtime.StateExited, StartedAt: started, CreatedAt: started}
	if e == nil {
		st.State = runtime.StateUnknown
		return st
	}
	st.Exit = &runtime.ExitStatus{ExitCode: e.code, OOMKilled: e.oom, Reason: e.reason, FinishedAt: finished}
	return st
}

func statusEqual(a, b *corev1.PodStatus) bool { return proto.Equal(a, b) }
