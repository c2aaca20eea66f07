package hostagent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/quantity"
)

// ReasonEvicted is the pod status reason (and event reason) of a pod the
// agent stopped for using more than it may, as the kubelet's eviction.
const ReasonEvicted = "Evicted"

// DefaultVolumeCheckInterval is how often disk-backed emptyDir volumes
// with a sizeLimit are measured.
const DefaultVolumeCheckInterval = 10 * time.Second

// volumeLimitLoop measures, every Config.VolumeCheckInterval, the disk
// emptyDir volumes that have a sizeLimit, and evicts a pod whose volume
// holds more than its limit, as the kubelet does: its containers are
// stopped and it ends Failed with reason Evicted (a Deployment replaces
// it). Memory-medium volumes need no check: their tmpfs has the limit as
// its size.
func (a *Agent) volumeLimitLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.VolumeCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, pod := range a.cachedPods() {
			if msg := a.volumeOverLimit(pod); msg != "" {
				a.markEvicted(pod, msg)
			}
		}
	}
}

// cachedPods returns the pods bound here as the agent last saw them.
func (a *Agent) cachedPods() []*corev1.Pod {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(a.seen))
	for _, p := range a.seen {
		out = append(out, p)
	}
	return out
}

// volumeOverLimit returns why pod must be evicted for a volume's usage
// ("" if it need not).
func (a *Agent) volumeOverLimit(pod *corev1.Pod) string {
	phase := pod.GetStatus().GetPhase()
	if pod.GetMetadata().GetDeletionTimestamp() != nil || phase == PhaseSucceeded || phase == PhaseFailed {
		return ""
	}
	uid := pod.GetMetadata().GetUid()
	if a.lookupRecord(uid) == nil {
		return "" // nothing started here yet
	}
	for _, v := range pod.GetSpec().GetVolumes() {
		ed := v.GetEmptyDir()
		if ed == nil || ed.GetMedium() == "Memory" || ed.GetSizeLimit() == "" {
			continue
		}
		limit, err := quantity.Parse(ed.GetSizeLimit())
		if err != nil {
			continue // the API server validates it; nothing to enforce
		}
		used, err := diskUsage(a.volumeDir(uid, v.GetName()), limit.Value())
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				a.log.Warn("measure emptyDir volume", "pod", keyOf(pod).String(), "volume", v.GetName(), "err", err)
			}
			continue
		}
		if used > limit.Value() {
			return fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q.", v.GetName(), ed.GetSizeLimit())
		}
	}
	return ""
}

// markEvicted remembers that pod is to be evicted with msg, reports it and
// has the pod reconciled (which stops it).
func (a *Agent) markEvicted(pod *corev1.Pod, msg string) {
	a.mu.Lock()
	rec := a.recs[pod.GetMetadata().GetUid()]
	first := rec != nil && rec.evicted == ""
	if first {
		rec.evicted = msg
	}
	a.mu.Unlock()
	if !first {
		return
	}
	a.log.Info("evicting pod", "pod", keyOf(pod).String(), "reason", msg)
	a.recorder.ReferenceEventf(podRef(pod, ""), apis.EventWarning, ReasonEvicted, "%s", msg)
	a.kicks.kick(controller.Request{Namespace: pod.GetMetadata().GetNamespace(), Name: pod.GetMetadata().GetName()})
}

// evictionOf returns why the pod of rec is being evicted ("" if it is not).
func (a *Agent) evictionOf(rec *podRecord) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return rec.evicted
}

// evict stops an evicted pod's containers (with its grace period) and then
// writes its final status: Failed, reason Evicted.
func (a *Agent) evict(ctx context.Context, pod *corev1.Pod, rec *podRecord, msg string) (controller.Result, error) {
	uid := pod.GetMetadata().GetUid()
	done, err := a.stopAll(ctx, keyOf(pod), uid, podRef(pod, ""), gracePeriod(pod))
	if err != nil || !done {
		return controller.Result{RequeueAfter: time.Second}, err
	}
	all, err := a.rt.ListContainers(ctx)
	if err != nil {
		return controller.Result{}, fmt.Errorf("list containers: %w", err)
	}
	ctrs := containersOf(all, sandboxID(uid))
	sb, _ := a.rt.Sandbox(ctx, sandboxID(uid))
	statuses, _ := a.syncContainers(ctx, pod, sb, rec, ctrs, true)
	st := computeStatus(statusInput{Pod: pod, Containers: statuses, HostIP: a.cfg.HostIP, Reason: ReasonEvicted, Message: msg, Failed: true, Now: time.Now()})
	return controller.Result{}, a.writeStatus(ctx, pod, st)
}

// diskUsage returns the bytes allocated to the files under dir, counting
// hard links once and not descending into other filesystems. It stops
// counting once the total exceeds stopAbove (the answer is then only known
// to be larger).
func diskUsage(dir string, stopAbove int64) (int64, error) {
	root, err := os.Lstat(dir)
	if err != nil {
		return 0, err
	}
	rootDev := root.Sys().(*syscall.Stat_t).Dev
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var total int64
	errStop := errors.New("over the limit")
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Dev != rootDev {
			if d.IsDir() {
				return filepath.SkipDir // a mount inside the volume is not its usage
			}
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			k := inode{uint64(st.Dev), st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		total += st.Blocks * 512
		if total > stopAbove {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return total, err
}
