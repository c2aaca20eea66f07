package hostagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// Termination reasons the agent adds to the runtime's.
const (
	reasonStatusUnknown = "ContainerStatusUnknown"
	exitStartError      = 128
	exitUnknown         = 137
)

// syncContainer drives one container of a pod and returns its observed
// status and when to look again (0: only on events).
func (a *Agent) syncContainer(ctx context.Context, pod *corev1.Pod, sb runtime.Sandbox, c *corev1.Container, rec *podRecord, ctrs []runtime.ContainerStatus, terminal bool) (*corev1.ContainerStatus, time.Duration) {
	cr := rec.ctr(pod, c.GetName())
	run, hasRun := latestRun(ctrs, c.GetName())
	switch {
	case hasRun && run.Attempt >= cr.lastAttempt:
		// The runtime is the truth about the latest run (and may know a
		// newer one than our memory after a re-adoption).
		cr.lastAttempt, cr.startErr = run.Attempt, nil
		switch run.State {
		case runtime.StateRunning:
			return a.observeRunning(pod, sb, c, cr, run), 0
		case runtime.StateExited:
			return a.afterExit(ctx, pod, sb, c, cr, run.Attempt, terminationOf(run), &run, terminal)
		case runtime.StateUnknown:
			// The runtime lost it: make sure it is gone and treat it as
			// ended.
			a.retireRun(ctx, pod.GetMetadata().GetUid(), run.ID)
			cr.startErr = terminationOf(run)
			return a.afterExit(ctx, pod, sb, c, cr, run.Attempt, cr.startErr, nil, terminal)
		default:
			// Created but never started: an interrupted start. Start over.
			a.retireRun(ctx, pod.GetMetadata().GetUid(), run.ID)
			cr.lastAttempt = run.Attempt - 1
		}
	case cr.lastAttempt >= 0 && cr.startErr != nil:
		return a.afterExit(ctx, pod, sb, c, cr, cr.lastAttempt, cr.startErr, nil, terminal)
	}
	if terminal {
		if cs := previousStatus(pod, c.GetName()); cs != nil {
			return cs, 0
		}
		return &corev1.ContainerStatus{Name: c.GetName(), Image: c.GetImage(), State: waitingState(WaitPodInitializing, "")}, 0
	}
	return a.startRun(ctx, pod, sb, c, cr, cr.lastAttempt+1)
}

// baseStatus is a container's status fields that do not depend on its
// current run.
func (a *Agent) baseStatus(c *corev1.Container, cr *ctrRecord, attempt int) *corev1.ContainerStatus {
	cs := &corev1.ContainerStatus{
		Name:         c.GetName(),
		Image:        c.GetImage(),
		RestartCount: int32(max(attempt, 0)),
		LastState:    terminatedState(cr.prevTerm),
	}
	if cr.image != nil {
		cs.ImageId = cr.image.Digest
	}
	return cs
}

func (a *Agent) runStatus(c *corev1.Container, cr *ctrRecord, run runtime.ContainerStatus) *corev1.ContainerStatus {
	cs := a.baseStatus(c, cr, run.Attempt)
	cs.ContainerId = a.rt.Name() + "://" + run.ID
	if d := run.Labels[labelImageDigest]; d != "" {
		cs.ImageId = d
	}
	return cs
}

// observeRunning reports a running container, keeps its exit awaited and
// its probes running, and restarts it when liveness (or startup) failed.
func (a *Agent) observeRunning(pod *corev1.Pod, sb runtime.Sandbox, c *corev1.Container, cr *ctrRecord, run runtime.ContainerStatus) *corev1.ContainerStatus {
	key := keyOf(pod)
	a.ensureWaiter(key, run.ID)
	if cr.prober == nil || cr.prober.ctrID != run.ID {
		if cr.prober != nil {
			cr.prober.stop()
			cr.prober = nil
		}
		if c.GetLivenessProbe() != nil || c.GetReadinessProbe() != nil || c.GetStartupProbe() != nil {
			cr.prober = a.startProber(c, probeTarget{key: key, ref: pod2ref(pod, c.GetName()), ctrID: run.ID, netns: sb.Namespaces.Network}, previousStatus(pod, c.GetName()))
		}
	}
	started, ready, failed, msg := cr.prober.results()
	if failed != "" && cr.killing != run.ID {
		cr.killing = run.ID
		a.recorder.ReferenceEventf(pod2ref(pod, c.GetName()), apis.EventNormal, ReasonKilling, "Container %s failed %s probe, will be restarted: %s", c.GetName(), lower(string(failed)), msg)
		a.stopContainerAsync(key, run.ID, gracePeriod(pod))
	}
	cs := a.runStatus(c, cr, run)
	cs.State = runningState(run.StartedAt)
	cs.Started = started
	cs.Ready = started && ready && failed == ""
	return cs
}

// previousStatus is the container's status as the pod last reported it.
func previousStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for _, cs := range pod.GetStatus().GetContainerStatuses() {
		if cs.GetName() == name {
			return cs
		}
	}
	return nil
}

// afterExit handles a run that ended: it stays terminated (restart policy,
// or a finished pod), waits out its back-off (CrashLoopBackOff), or is
// replaced by the next run.
func (a *Agent) afterExit(ctx context.Context, pod *corev1.Pod, sb runtime.Sandbox, c *corev1.Container, cr *ctrRecord, attempt int, term *corev1.ContainerStateTerminated, run *runtime.ContainerStatus, terminal bool) (*corev1.ContainerStatus, time.Duration) {
	if cr.prober != nil && (run == nil || cr.prober.ctrID == run.ID) {
		cr.prober.stop()
		cr.prober = nil
	}
	cs := a.baseStatus(c, cr, attempt)
	if run != nil {
		cs = a.runStatus(c, cr, *run)
	}
	if terminal || !shouldRestart(pod.GetSpec().GetRestartPolicy(), term.GetExitCode()) {
		cs.State = terminatedState(term)
		return cs, 0
	}
	if cr.countedAttempt != attempt {
		ran := term.GetFinishedAt().AsTime().Sub(term.GetStartedAt().AsTime())
		if term.GetStartedAt() == nil || term.GetFinishedAt() == nil {
			ran = 0
		}
		cr.crashes = nextCrashes(cr.crashes, ran, a.cfg.BackoffReset)
		cr.countedAttempt = attempt
	}
	now := time.Now()
	delay := a.backoff.RestartDelay(cr.crashes)
	restartAt := endTime(term, now).Add(delay)
	if now.Before(restartAt) {
		if cr.backoffEvent != attempt {
			cr.backoffEvent = attempt
			a.recorder.ReferenceEventf(pod2ref(pod, c.GetName()), apis.EventWarning, ReasonBackOff, "Back-off restarting failed container %s in pod %s", c.GetName(), pod.GetMetadata().GetName())
		}
		md := pod.GetMetadata()
		cs.State = waitingState(WaitCrashLoopBackOff, fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, c.GetName(), md.GetName(), md.GetNamespace(), md.GetUid()))
		cs.LastState = terminatedState(term)
		return cs, restartAt.Sub(now)
	}
	if run != nil {
		a.retireRun(ctx, pod.GetMetadata().GetUid(), run.ID)
	}
	cr.prevTerm, cr.startErr = term, nil
	return a.startRun(ctx, pod, sb, c, cr, attempt+1)
}

// startRun starts run attempt of container c: image, root filesystem,
// runtime spec, create, start. Failures that a retry may fix make the
// container wait (with backoff); a command that cannot run ends the run
// with StartError, like an exit.
func (a *Agent) startRun(ctx context.Context, pod *corev1.Pod, sb runtime.Sandbox, c *corev1.Container, cr *ctrRecord, attempt int) (*corev1.ContainerStatus, time.Duration) {
	cs := a.baseStatus(c, cr, cr.lastAttempt)
	now := time.Now()
	if cr.createErr != "" && now.Before(cr.createRetryAt) {
		cs.State = waitingState(cr.createReason, cr.createErr)
		return cs, cr.createRetryAt.Sub(now)
	}
	step := a.ensureImage(ctx, pod, c, cr, attempt)
	if step.img == nil {
		cs.State = waitingState(step.reason, step.message)
		return cs, step.requeue
	}
	img := *step.img
	cs.ImageId = img.Digest
	md := pod.GetMetadata()
	ref := pod2ref(pod, c.GetName())
	id := containerID(md.GetUid(), c.GetName(), attempt)
	target := a.rootfsDir(md.GetUid(), id)
	if err := a.images.Mount(ctx, img.Digest, id, target); err != nil {
		return a.createFailed(pod, c, cr, cs, WaitCreateError, fmt.Sprintf("mount root filesystem: %v", err))
	}
	spec, reason, err := a.specFor(ctx, pod, c, img, id, attempt, target)
	if err != nil {
		a.retireRun(ctx, md.GetUid(), id)
		return a.createFailed(pod, c, cr, cs, reason, err.Error())
	}
	// Created and started in one step where the runtime can (for runc one
	// process less per start); StartContainer below is then a no-op.
	spec.Start = true
	_, err = a.rt.CreateContainer(ctx, spec)
	if errors.Is(err, runtime.ErrAlreadyExists) {
		if rerr := a.rt.RemoveContainer(ctx, id); rerr == nil {
			_, err = a.rt.CreateContainer(ctx, spec)
		}
	}
	if err == nil {
		a.recorder.ReferenceEventf(ref, apis.EventNormal, ReasonCreated, "Created container %s", c.GetName())
		if err = a.rt.StartContainer(ctx, id); err != nil {
			err = fmt.Errorf("%w: %w", runtime.ErrStartFailed, err)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, runtime.ErrStartFailed):
		a.retireRun(ctx, md.GetUid(), id)
		cr.lastAttempt, cr.createErr, cr.createFails = attempt, "", 0
		cr.startErr = &corev1.ContainerStateTerminated{ExitCode: exitStartError, Reason: runtime.ReasonStartError, Message: err.Error(), FinishedAt: tsOrNil(now)}
		a.recorder.ReferenceEventf(ref, apis.EventWarning, ReasonFailed, "Error: %v", err)
		a.kicks.kick(keyOf(pod)) // decide restart or not on the next pass
		cs.RestartCount = int32(attempt)
		cs.State = terminatedState(cr.startErr)
		return cs, 0
	default:
		a.retireRun(ctx, md.GetUid(), id)
		if errors.Is(err, runtime.ErrInvalidSpec) {
			return a.createFailed(pod, c, cr, cs, WaitCreateConfigError, err.Error())
		}
		return a.createFailed(pod, c, cr, cs, WaitCreateError, err.Error())
	}
	a.recorder.ReferenceEventf(ref, apis.EventNormal, ReasonStarted, "Started container %s", c.GetName())
	cr.lastAttempt, cr.startErr, cr.createErr, cr.createFails = attempt, nil, "", 0
	st, err := a.rt.ContainerStatus(ctx, id)
	if err != nil {
		a.kicks.kick(keyOf(pod))
		cs.RestartCount = int32(attempt)
		cs.ContainerId = a.rt.Name() + "://" + id
		cs.State = runningState(now)
		cs.Started = c.GetStartupProbe() == nil
		return cs, 0
	}
	if st.State != runtime.StateRunning {
		// It already ended: the next pass sees the exit.
		a.kicks.kick(keyOf(pod))
		cs = a.runStatus(c, cr, st)
		cs.State = terminatedState(terminationOf(st))
		return cs, 0
	}
	return a.observeRunning(pod, sb, c, cr, st), 0
}

// specFor resolves volumes and the user and builds the runtime spec; the
// reason says how a failure is reported.
func (a *Agent) specFor(ctx context.Context, pod *corev1.Pod, c *corev1.Container, img Image, id string, attempt int, rootfs string) (runtime.ContainerSpec, string, error) {
	vols, err := a.ensureVolumes(ctx, pod)
	if err != nil {
		return runtime.ContainerSpec{}, WaitCreateError, err
	}
	user, err := resolveUser(rootfs, pod, c, img.Config.User)
	if err != nil {
		return runtime.ContainerSpec{}, WaitCreateConfigError, err
	}
	spec, err := buildSpec(specInput{
		Pod: pod, Container: c, Image: img, ID: id, Attempt: attempt,
		SandboxID: sandboxID(pod.GetMetadata().GetUid()), Rootfs: rootfs, Volumes: vols, User: user,
	})
	if err != nil {
		return spec, WaitCreateConfigError, err
	}
	return spec, "", nil
}

// createFailed makes the container wait with reason and retry with backoff.
func (a *Agent) createFailed(pod *corev1.Pod, c *corev1.Container, cr *ctrRecord, cs *corev1.ContainerStatus, reason, msg string) (*corev1.ContainerStatus, time.Duration) {
	cr.createFails++
	delay := a.backoff.Delay(cr.createFails)
	cr.createErr, cr.createReason, cr.createRetryAt = msg, reason, time.Now().Add(delay)
	a.recorder.ReferenceEventf(pod2ref(pod, c.GetName()), apis.EventWarning, ReasonFailed, "Error: %s", msg)
	cs.State = waitingState(reason, msg)
	return cs, delay
}

// retireRun removes an ended (or never started) run: the runtime
// container, its root filesystem and its directory.
func (a *Agent) retireRun(ctx context.Context, uid, id string) {
	if err := a.rt.RemoveContainer(ctx, id); err != nil {
		// Its root filesystem may still be in use; the pod's cleanup
		// retries both.
		a.log.Warn("remove container", "container", id, "err", err)
		return
	}
	if err := a.images.Unmount(ctx, id); err != nil {
		a.log.Warn("unmount rootfs", "container", id, "err", err)
		return
	}
	dir := filepath.Dir(a.rootfsDir(uid, id))
	if err := removeUnmounted(dir); err != nil {
		a.log.Warn("remove container dir", "dir", dir, "err", err)
	}
}

// ensureWaiter waits in the background for a running container to exit and
// enqueues its pod when it does.
func (a *Agent) ensureWaiter(key controller.Request, id string) {
	a.mu.Lock()
	if a.waiting[id] {
		a.mu.Unlock()
		return
	}
	a.waiting[id] = true
	a.mu.Unlock()
	a.goBG(func(ctx context.Context) {
		_, err := a.rt.WaitContainer(ctx, id)
		a.mu.Lock()
		delete(a.waiting, id)
		a.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, runtime.ErrNotFound) {
			a.log.Warn("wait for container", "container", id, "err", err)
		}
		a.kicks.kick(key)
	})
}

// stopContainerAsync stops one container (SIGTERM, grace, SIGKILL) in the
// background; its waiter enqueues the pod when it exits.
func (a *Agent) stopContainerAsync(key controller.Request, id string, grace time.Duration) {
	a.goBG(func(ctx context.Context) {
		if _, err := a.rt.StopContainer(ctx, id, grace); err != nil && ctx.Err() == nil && !errors.Is(err, runtime.ErrNotFound) {
			a.log.Warn("stop container", "container", id, "err", err)
		}
		a.kicks.kick(key)
	})
}

// terminationOf converts a runtime exit into a terminated state.
func terminationOf(c runtime.ContainerStatus) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{StartedAt: tsOrNil(c.StartedAt)}
	if c.Exit == nil {
		// The runtime lost the container (StateUnknown); its end is unknown.
		t.ExitCode, t.Reason = exitUnknown, reasonStatusUnknown
		t.Message = "the runtime lost track of the container; it was stopped"
		t.FinishedAt = tsOrNil(firstNonZero(c.StartedAt, c.CreatedAt))
		return t
	}
	e := c.Exit
	t.ExitCode, t.Signal, t.Message = int32(e.ExitCode), int32(e.Signal), e.Message
	t.FinishedAt = tsOrNil(e.FinishedAt)
	t.Reason = e.Reason
	switch {
	case e.OOMKilled:
		t.Reason = runtime.ReasonOOMKilled
	case t.Reason == "" && e.ExitCode == 0:
		t.Reason = runtime.ReasonCompleted
	case t.Reason == "":
		t.Reason = runtime.ReasonError
	}
	return t
}

// shouldRestart applies the pod's restart policy to an exit code.
func shouldRestart(policy string, exitCode int32) bool {
	switch policy {
	case RestartNever:
		return false
	case RestartOnFailure:
		return exitCode != 0
	}
	return true
}

// endTime is when a run ended, for the back-off (its start, or now, when
// unknown).
func endTime(t *corev1.ContainerStateTerminated, now time.Time) time.Time {
	switch {
	case t.GetFinishedAt() != nil:
		return t.GetFinishedAt().AsTime()
	case t.GetStartedAt() != nil:
		return t.GetStartedAt().AsTime()
	}
	return now
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func lower(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// removeUnmounted removes dir unless something is mounted inside it.
func removeUnmounted(dir string) error {
	mps, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	if len(mps) > 0 {
		return fmt.Errorf("%s still has mounts: %v", dir, mps)
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
