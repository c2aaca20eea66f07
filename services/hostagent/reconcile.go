package hostagent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// Sandbox label with the pod's grace period, so a pod that vanished from
// the store is still stopped the way it asked.
const labelGracePeriod = "pacific.dev/termination-grace-period"

// writeTries bounds retries of writes that hit conflicts.
const writeTries = 4

// Reconcile drives the pod named by req toward its spec. It is level-based:
// it reads the pod from the API server and the runtime's containers, acts,
// writes the status if it changed, and asks to be called again when a
// backoff or pull needs it.
func (a *Agent) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	pod, ok := a.cachedPod(req)
	var err error
	if !ok {
		pod, err = a.pods.Get(ctx, req.Namespace, req.Name)
	}
	switch {
	case client.IsNotFound(err):
		// Gone from the store: whatever still runs for it is an orphan.
		return a.cleanupKey(ctx, req, "")
	case err != nil:
		return controller.Result{}, err
	case pod.GetSpec().GetNodeName() != a.cfg.HostName:
		return a.cleanupKey(ctx, req, "")
	}
	// A pod recreated under the same name leaves the old one's sandbox.
	orphans, err := a.cleanupKey(ctx, req, pod.GetMetadata().GetUid())
	if err != nil {
		return orphans, err
	}
	var res controller.Result
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		res, err = a.terminate(ctx, pod)
	} else {
		res, err = a.syncPod(ctx, pod)
	}
	res.RequeueAfter = minPositive(res.RequeueAfter, orphans.RequeueAfter)
	return res, err
}

// syncPod drives a live pod: sandbox, containers, status.
func (a *Agent) syncPod(ctx context.Context, pod *corev1.Pod) (controller.Result, error) {
	rec := a.record(pod)
	now := time.Now()
	if reason, msg := a.unsupported(pod); reason != "" {
		if !rec.unsupportedEvent {
			a.recorder.ReferenceEventf(podRef(pod, ""), apis.EventWarning, reason, "%s", msg)
			rec.unsupportedEvent = true
		}
		var ctrs []*corev1.ContainerStatus
		for _, c := range pod.GetSpec().GetContainers() {
			ctrs = append(ctrs, &corev1.ContainerStatus{Name: c.GetName(), Image: c.GetImage(), State: waitingState(reason, msg)})
		}
		st := computeStatus(statusInput{Pod: pod, Containers: ctrs, HostIP: a.cfg.HostIP, Reason: reason, Message: msg, Unschedulable: true, Now: now})
		return controller.Result{}, a.writeStatus(ctx, pod, st)
	}

	uid := pod.GetMetadata().GetUid()
	sbID := sandboxID(uid)
	all, err := a.rt.ListContainers(ctx)
	if err != nil {
		return controller.Result{}, fmt.Errorf("list containers: %w", err)
	}
	ctrs := containersOf(all, sbID)
	phase := pod.GetStatus().GetPhase()
	terminal := phase == PhaseSucceeded || phase == PhaseFailed

	var sb runtime.Sandbox
	if terminal {
		if len(ctrs) == 0 {
			return controller.Result{}, nil // finished; nothing runs; status stays
		}
		sb, _ = a.rt.Sandbox(ctx, sbID)
	} else {
		if pod, err = a.ensureFinalizer(ctx, pod); err != nil {
			return controller.Result{}, err
		}
		if msg := a.evictionOf(rec); msg != "" {
			return a.evict(ctx, pod, rec, msg)
		}
		if sb, ctrs, err = a.ensureSandbox(ctx, pod, ctrs); err != nil {
			return controller.Result{}, err
		}
	}

	statuses, requeue := a.syncContainers(ctx, pod, sb, rec, ctrs, terminal)
	st := computeStatus(statusInput{Pod: pod, Containers: statuses, HostIP: a.cfg.HostIP, Now: time.Now()})
	if err := a.writeStatus(ctx, pod, st); err != nil {
		return controller.Result{}, err
	}
	return controller.Result{RequeueAfter: requeue}, nil
}

// syncContainers drives each of the pod's containers (see syncContainer)
// and returns their statuses in spec order and the earliest requeue.
func (a *Agent) syncContainers(ctx context.Context, pod *corev1.Pod, sb runtime.Sandbox, rec *podRecord, ctrs []runtime.ContainerStatus, terminal bool) ([]*corev1.ContainerStatus, time.Duration) {
	var requeue time.Duration
	statuses := make([]*corev1.ContainerStatus, 0, len(pod.GetSpec().GetContainers()))
	for _, c := range pod.GetSpec().GetContainers() {
		cs, rq := a.syncContainer(ctx, pod, sb, c, rec, ctrs, terminal)
		statuses = append(statuses, cs)
		requeue = minPositive(requeue, rq)
	}
	return statuses, requeue
}

// unsupported says why this host cannot run pod ("" if it can).
func (a *Agent) unsupported(pod *corev1.Pod) (reason, msg string) {
	spec := pod.GetSpec()
	if spec.GetIsolation() == "vm" {
		return ReasonUnsupported, fmt.Sprintf("host %s runs only container-isolated pods (runtime %s); a pod with spec.isolation: vm needs a host with a VM runtime",
			a.cfg.HostName, a.rt.Name())
	}
	if spec.GetHostNetwork() || spec.GetHostPid() || spec.GetHostIpc() {
		return "UnsupportedHostNamespaces", "spec.hostNetwork, spec.hostPID and spec.hostIPC are not supported by this host agent yet"
	}
	for _, v := range spec.GetVolumes() {
		if v.GetEmptyDir() == nil && v.GetHostPath() == nil {
			return "UnsupportedVolume", fmt.Sprintf("volume %q: only emptyDir and hostPath volumes are supported by this host agent yet", v.GetName())
		}
	}
	return "", ""
}

// ensureFinalizer adds the agent's finalizer before anything is created
// for the pod, so that its deletion waits for the cleanup.
func (a *Agent) ensureFinalizer(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	if slices.Contains(pod.GetMetadata().GetFinalizers(), Finalizer) {
		return pod, nil
	}
	p := proto.Clone(pod).(*corev1.Pod)
	p.Metadata.Finalizers = append(p.Metadata.Finalizers, Finalizer)
	stored, err := a.ownWrite(keyOf(pod), func() (*corev1.Pod, error) { return a.pods.Update(ctx, p) })
	if err != nil {
		return nil, fmt.Errorf("add finalizer: %w", err)
	}
	return stored, nil
}

// removeFinalizer releases the pod once everything is cleaned up.
func (a *Agent) removeFinalizer(ctx context.Context, pod *corev1.Pod) error {
	uid := pod.GetMetadata().GetUid()
	for range writeTries {
		p := proto.Clone(pod).(*corev1.Pod)
		if !apis.RemoveFinalizer(p.GetMetadata(), Finalizer) {
			return nil
		}
		_, err := a.pods.Update(ctx, p)
		switch {
		case err == nil, client.IsNotFound(err):
			return nil
		case !client.IsConflict(err):
			return fmt.Errorf("remove finalizer: %w", err)
		}
		if pod, err = a.pods.Get(ctx, pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName()); err != nil {
			if client.IsNotFound(err) {
				return nil
			}
			return err
		}
		if pod.GetMetadata().GetUid() != uid {
			return nil
		}
	}
	return errors.New("remove finalizer: the pod kept changing")
}

// writeStatus stores st as the pod's status if it differs from what is
// stored; conflicts (someone changed the pod) are retried on a fresh read.
func (a *Agent) writeStatus(ctx context.Context, pod *corev1.Pod, st *corev1.PodStatus) error {
	uid := pod.GetMetadata().GetUid()
	for range writeTries {
		if proto.Equal(pod.GetStatus(), st) {
			return nil
		}
		p := &corev1.Pod{ApiVersion: pod.GetApiVersion(), Kind: pod.GetKind(), Metadata: pod.GetMetadata(), Spec: pod.GetSpec(), Status: st}
		_, err := a.ownWrite(keyOf(pod), func() (*corev1.Pod, error) { return a.pods.UpdateStatus(ctx, p) })
		switch {
		case err == nil:
			return nil
		case client.IsNotFound(err):
			return nil
		case !client.IsConflict(err):
			return fmt.Errorf("update status: %w", err)
		}
		fresh, err := a.pods.Get(ctx, pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName())
		if err != nil {
			if client.IsNotFound(err) {
				return nil
			}
			return err
		}
		if fresh.GetMetadata().GetUid() != uid {
			return nil
		}
		pod = fresh
	}
	return errors.New("update status: the pod kept changing")
}

// ensureSandbox returns the pod's sandbox, creating it, or recreating it
// (with all its containers) when its namespaces are gone.
func (a *Agent) ensureSandbox(ctx context.Context, pod *corev1.Pod, ctrs []runtime.ContainerStatus) (runtime.Sandbox, []runtime.ContainerStatus, error) {
	md := pod.GetMetadata()
	id := sandboxID(md.GetUid())
	sb, err := a.rt.Sandbox(ctx, id)
	switch {
	case err == nil && sb.Ready:
		return sb, ctrs, nil
	case err == nil:
		a.recorder.ReferenceEventf(podRef(pod, ""), apis.EventNormal, ReasonSandboxChanged, "Pod sandbox changed, it will be killed and re-created.")
		for _, c := range ctrs {
			if err := a.images.Unmount(ctx, c.ID); err != nil {
				a.log.Warn("unmount rootfs", "container", c.ID, "err", err)
			}
		}
		if err := a.rt.RemoveSandbox(ctx, id); err != nil {
			return sb, ctrs, fmt.Errorf("remove broken sandbox: %w", err)
		}
		ctrs = nil
	case !errors.Is(err, runtime.ErrNotFound):
		return sb, ctrs, fmt.Errorf("sandbox: %w", err)
	}
	sb, err = a.rt.CreateSandbox(ctx, runtime.SandboxSpec{
		ID:       id,
		Hostname: md.GetName(),
		Labels: map[string]string{
			labelPodUID:       md.GetUid(),
			labelPodNamespace: md.GetNamespace(),
			labelPodName:      md.GetName(),
			labelGracePeriod:  strconv.FormatInt(pod.GetSpec().GetTerminationGracePeriodSeconds(), 10),
		},
	})
	if errors.Is(err, runtime.ErrAlreadyExists) {
		sb, err = a.rt.Sandbox(ctx, id)
	}
	if err != nil {
		return sb, ctrs, fmt.Errorf("create sandbox: %w", err)
	}
	return sb, ctrs, nil
}

// gracePeriod is how long a pod's containers get between SIGTERM and
// SIGKILL.
func gracePeriod(pod *corev1.Pod) time.Duration {
	if pod.GetSpec().TerminationGracePeriodSeconds == nil {
		return 30 * time.Second
	}
	return time.Duration(pod.GetSpec().GetTerminationGracePeriodSeconds()) * time.Second
}

// minPositive returns the smaller of the positive durations (0 if neither).
func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return max(b, 0)
	case b <= 0:
		return a
	}
	return min(a, b)
}
