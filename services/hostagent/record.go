package hostagent

import (
	"time"

	"github.com/openpacific/pacific/internal/controller"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// podRecord is what the agent remembers about a pod between reconciles
// beyond what the runtime and the API server hold: pull jobs and backoff,
// crash counts, probers. Losing it (agent restart) costs at most an early
// retry: everything else is rebuilt from the runtime and the pod's status.
//
// Fields are touched by Reconcile, which the work queue runs for one pod
// key at a time, and by the agent's cleanup under the same key; background
// jobs keep their own locks.
type podRecord struct {
	uid  string
	key  controller.Request
	ctrs map[string]*ctrRecord
	// unsupportedEvent: the refusal was reported once.
	unsupportedEvent bool
	// evicted is why the pod is being evicted (see volumeLimitLoop);
	// guarded by Agent.mu.
	evicted string
}

// ctrRecord is the agent's memory of one container of a pod.
type ctrRecord struct {
	// Image state. image is the resolved image for imageRef; imageAttempt
	// is the run it was pulled for (imagePullPolicy Always pulls per run).
	image        *Image
	imageRef     string
	imageAttempt int
	pull         *pullJob
	pullFails    int
	pullFailedAt time.Time
	pullRetryAt  time.Time
	pullErr      string

	// lastAttempt is the attempt number of the latest run (-1: never ran).
	lastAttempt int
	// startErr is the termination of the latest run when the runtime has
	// no container for it: it failed to start, or (seeded from the pod's
	// status) it ended before an agent restart. Its attempt is lastAttempt.
	startErr *corev1.ContainerStateTerminated
	// prevTerm is the termination of the run before the latest one
	// (status lastState).
	prevTerm *corev1.ContainerStateTerminated
	// crashes counts consecutive quick exits, for the restart backoff;
	// countedAttempt is the last run counted.
	crashes        int
	countedAttempt int
	// backoffEvent is the run whose back-off was reported.
	backoffEvent int
	// createErr is why the latest attempt to create a container failed
	// (config or runtime errors that a retry may fix), retried at
	// createRetryAt with backoff.
	createErr       string
	createReason    string
	createFails     int
	createRetryAt   time.Time
	createFailEvent string

	prober *prober
	// killing is the runtime ID of the run being stopped by the agent
	// (liveness failure).
	killing string
}

func newCtrRecord() *ctrRecord {
	return &ctrRecord{lastAttempt: -1, countedAttempt: -1, backoffEvent: -1, imageAttempt: -1}
}

// record returns the agent's record of pod, making it if needed.
func (a *Agent) record(pod *corev1.Pod) *podRecord {
	md := pod.GetMetadata()
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.recs[md.GetUid()]
	if !ok {
		r = &podRecord{uid: md.GetUid(), key: keyOf(pod), ctrs: map[string]*ctrRecord{}}
		a.recs[md.GetUid()] = r
	}
	return r
}

// lookupRecord returns the record of uid, or nil.
func (a *Agent) lookupRecord(uid string) *podRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.recs[uid]
}

func (a *Agent) dropRecord(uid string) {
	a.mu.Lock()
	r := a.recs[uid]
	delete(a.recs, uid)
	a.mu.Unlock()
	if r == nil {
		return
	}
	for _, c := range r.ctrs {
		if c.prober != nil {
			c.prober.stop()
		}
		if c.pull != nil {
			c.pull.cancel()
		}
	}
}

// ctr returns the record of container name, seeding it from the pod's
// status (restart count, last state) the first time.
func (r *podRecord) ctr(pod *corev1.Pod, name string) *ctrRecord {
	if c, ok := r.ctrs[name]; ok {
		return c
	}
	c := newCtrRecord()
	for _, cs := range pod.GetStatus().GetContainerStatuses() {
		if cs.GetName() != name {
			continue
		}
		ran := cs.GetState().GetRunning() != nil || cs.GetState().GetTerminated() != nil || cs.GetLastState().GetTerminated() != nil
		if ran {
			c.lastAttempt = int(cs.GetRestartCount())
			c.crashes = int(cs.GetRestartCount())
		}
		c.prevTerm = cs.GetLastState().GetTerminated()
		c.startErr = cs.GetState().GetTerminated()
	}
	r.ctrs[name] = c
	return c
}
