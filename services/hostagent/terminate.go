package hostagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// stopSafetyMargin is added to the grace period for the requeue that backs
// up the stop job's own wake-up.
const stopSafetyMargin = 10 * time.Second

// terminate handles a pod with a deletion timestamp: stop its containers
// (SIGTERM, grace period, SIGKILL; in the background), then remove the
// sandbox, root filesystems, volumes and logs, then the finalizer.
func (a *Agent) terminate(ctx context.Context, pod *corev1.Pod) (controller.Result, error) {
	md := pod.GetMetadata()
	uid := md.GetUid()
	if rec := a.lookupRecord(uid); rec != nil {
		rec.cancelPulls()
		rec.stopProbers()
	}
	if !slices.Contains(md.GetFinalizers(), Finalizer) {
		// Never started here (or already released): nothing of ours runs.
		a.dropRecord(uid)
		return controller.Result{}, nil
	}
	grace := gracePeriod(pod)
	done, err := a.stopAll(ctx, keyOf(pod), uid, podRef(pod, ""), grace)
	if err != nil || !done {
		return controller.Result{RequeueAfter: grace + stopSafetyMargin}, err
	}
	if err := a.cleanupUID(ctx, uid); err != nil {
		a.recorder.ReferenceEventf(podRef(pod, ""), apis.EventWarning, ReasonFailedCleanup, "Cleaning up pod: %v", err)
		return controller.Result{}, err
	}
	if err := a.removeFinalizer(ctx, pod); err != nil {
		return controller.Result{}, err
	}
	a.log.InfoContext(ctx, "pod cleaned up", "pod", keyOf(pod).String(), "uid", uid)
	return controller.Result{}, nil
}

// cleanupKey stops and removes the local sandboxes of pod key whose UID is
// not keep ("" keeps none): pods that are gone, bound elsewhere, or were
// replaced by a pod of the same name.
func (a *Agent) cleanupKey(ctx context.Context, key controller.Request, keep string) (controller.Result, error) {
	sbs, err := a.rt.ListSandboxes(ctx)
	if err != nil {
		return controller.Result{}, fmt.Errorf("list sandboxes: %w", err)
	}
	var res controller.Result
	var errs []error
	for _, sb := range sbs {
		k, ok := podKeyOf(sb.Labels)
		uid := sb.Labels[labelPodUID]
		if !ok || k != key || uid == "" || uid == keep {
			continue
		}
		grace := 30 * time.Second
		if s, err := strconv.ParseInt(sb.Labels[labelGracePeriod], 10, 64); err == nil && s >= 0 {
			grace = time.Duration(s) * time.Second
		}
		if rec := a.lookupRecord(uid); rec != nil {
			rec.cancelPulls()
			rec.stopProbers()
		}
		ref := &corev1.ObjectReference{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: key.Namespace, Name: key.Name, Uid: uid}
		done, err := a.stopAll(ctx, key, uid, ref, grace)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !done {
			res.RequeueAfter = minPositive(res.RequeueAfter, grace+stopSafetyMargin)
			continue
		}
		a.log.InfoContext(ctx, "removing orphaned pod sandbox", "pod", key.String(), "uid", uid)
		if err := a.cleanupUID(ctx, uid); err != nil {
			errs = append(errs, err)
		}
	}
	// Records of pods of this key that never got a sandbox.
	a.mu.Lock()
	var stale []string
	for uid, r := range a.recs {
		if r.key == key && uid != keep {
			stale = append(stale, uid)
		}
	}
	a.mu.Unlock()
	for _, uid := range stale {
		if _, err := a.rt.Sandbox(ctx, sandboxID(uid)); errors.Is(err, runtime.ErrNotFound) {
			a.dropRecord(uid)
		}
	}
	return res, errors.Join(errs...)
}

// stopAll makes sure no container of the pod's sandbox runs: it starts a
// background stop of those that do and reports done=false until none is
// left. The stop enqueues key when it finishes.
func (a *Agent) stopAll(ctx context.Context, key controller.Request, uid string, ref *corev1.ObjectReference, grace time.Duration) (done bool, err error) {
	all, err := a.rt.ListContainers(ctx)
	if err != nil {
		return false, fmt.Errorf("list containers: %w", err)
	}
	var live []runtime.ContainerStatus
	for _, c := range containersOf(all, sandboxID(uid)) {
		if c.State == runtime.StateRunning || c.State == runtime.StateCreated {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return true, nil
	}
	a.mu.Lock()
	if a.stopping[uid] {
		a.mu.Unlock()
		return false, nil
	}
	a.stopping[uid] = true
	a.mu.Unlock()
	for _, c := range live {
		r := proto.Clone(ref).(*corev1.ObjectReference)
		r.FieldPath = fieldPath(containerNameOf(c))
		a.recorder.ReferenceEventf(r, apis.EventNormal, ReasonKilling, "Stopping container %s", containerNameOf(c))
	}
	a.goBG(func(ctx context.Context) {
		defer func() {
			a.mu.Lock()
			delete(a.stopping, uid)
			a.mu.Unlock()
			a.kicks.kick(key)
		}()
		var wg sync.WaitGroup
		for _, c := range live {
			wg.Go(func() {
				var err error
				if c.State == runtime.StateCreated {
					err = a.rt.RemoveContainer(ctx, c.ID)
				} else {
					_, err = a.rt.StopContainer(ctx, c.ID, grace)
				}
				if err != nil && ctx.Err() == nil && !errors.Is(err, runtime.ErrNotFound) {
					a.log.Warn("stop container", "container", c.ID, "err", err)
				}
			})
		}
		wg.Wait()
	})
	return false, nil
}

// cleanupUID removes everything the agent made for pod uid: the sandbox
// (containers, namespaces, cgroups, logs), the root filesystems, the
// volumes and the pod's directory, and forgets the pod.
func (a *Agent) cleanupUID(ctx context.Context, uid string) error {
	a.dropRecord(uid)
	sbID := sandboxID(uid)
	ids := map[string]bool{}
	if all, err := a.rt.ListContainers(ctx); err == nil {
		for _, c := range containersOf(all, sbID) {
			ids[c.ID] = true
		}
	} else {
		return fmt.Errorf("list containers: %w", err)
	}
	if err := a.rt.RemoveSandbox(ctx, sbID); err != nil {
		return fmt.Errorf("remove sandbox: %w", err)
	}
	// Root filesystems: of the runtime's containers, and of any run whose
	// directory is still there (e.g. an unmount that failed before).
	for _, dir := range a.podDirs(uid) {
		ents, _ := os.ReadDir(filepath.Join(dir, "containers"))
		for _, e := range ents {
			ids[e.Name()] = true
		}
	}
	var errs []error
	for id := range ids {
		if err := a.images.Unmount(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("unmount rootfs of %s: %w", id, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := a.removeVolumes(uid); err != nil {
		return err
	}
	for _, dir := range a.podDirs(uid) {
		if err := removeUnmounted(dir); err != nil {
			return fmt.Errorf("remove pod dir: %w", err)
		}
	}
	a.recorder.Forget(uid)
	return nil
}

// stopProbers stops the probes of every container of the pod.
func (r *podRecord) stopProbers() {
	for _, c := range r.ctrs {
		if c.prober != nil {
			c.prober.stop()
			c.prober = nil
		}
	}
}
