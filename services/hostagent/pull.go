package hostagent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Container waiting reasons (Kubernetes' names).
const (
	WaitContainerCreating  = "ContainerCreating"
	WaitErrImagePull       = "ErrImagePull"
	WaitImagePullBackOff   = "ImagePullBackOff"
	WaitErrImageNeverPull  = "ErrImageNeverPull"
	WaitCrashLoopBackOff   = "CrashLoopBackOff"
	WaitCreateConfigError  = "CreateContainerConfigError"
	WaitCreateError        = "CreateContainerError"
	WaitPodInitializing    = "PodInitializing"
	pullProgressRequeue    = time.Second
	errImagePullHoldAtMost = time.Second
)

// Image pull policies.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// pullJob is one image pull running in the background.
type pullJob struct {
	ref     string
	started time.Time
	done    chan struct{}
	img     Image
	err     error
	cancel  context.CancelFunc

	mu     sync.Mutex
	layers map[string]PullProgress
}

func (j *pullJob) onProgress(p PullProgress) {
	if p.Layer == "" {
		return
	}
	j.mu.Lock()
	j.layers[p.Layer] = p
	j.mu.Unlock()
}

// summary describes the pull's progress for the container's waiting
// message.
func (j *pullJob) summary() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var done, total int64
	finished, count := 0, 0
	for _, p := range j.layers {
		done += p.Done
		total += p.Total
		count = max(count, p.LayerCount)
		if p.Finished || p.Cached {
			finished++
		}
	}
	if total == 0 {
		return fmt.Sprintf("pulling image %q", j.ref)
	}
	return fmt.Sprintf("pulling image %q: %s of %s, %d/%d layers done", j.ref, humanBytes(done), humanBytes(total), finished, max(count, len(j.layers)))
}

// imageStep is the outcome of ensureImage: the image, or why the container
// waits and when to look again.
type imageStep struct {
	img     *Image
	reason  string
	message string
	requeue time.Duration
}

// ensureImage makes the container's image available for run attempt,
// pulling in the background: the first call starts a pull and reports
// ContainerCreating; a failed pull reports ErrImagePull, then
// ImagePullBackOff until the retry (exponential backoff).
func (a *Agent) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rec *ctrRecord, attempt int) imageStep {
	now := time.Now()
	ref := pod2ref(pod, c.GetName())
	policy := c.GetImagePullPolicy()
	if rec.image != nil && rec.imageRef == c.GetImage() && (policy != PullAlways || rec.imageAttempt == attempt) {
		return imageStep{img: rec.image}
	}
	if j := rec.pull; j != nil {
		select {
		case <-j.done:
		default:
			return imageStep{reason: WaitContainerCreating, message: j.summary(), requeue: pullProgressRequeue}
		}
		rec.pull = nil
		if j.err == nil {
			rec.image, rec.imageRef, rec.imageAttempt = &j.img, c.GetImage(), attempt
			rec.pullFails, rec.pullErr = 0, ""
			a.recorder.ReferenceEventf(ref, apis.EventNormal, ReasonPulled, "Successfully pulled image %q in %s (%s)", c.GetImage(), time.Since(j.started).Round(time.Millisecond), humanBytes(j.img.Size))
			return imageStep{img: rec.image}
		}
		if ctx.Err() != nil {
			return imageStep{reason: WaitContainerCreating, message: "image pull interrupted", requeue: pullProgressRequeue}
		}
		rec.pullFails++
		rec.pullFailedAt = now
		rec.pullRetryAt = now.Add(a.backoff.Delay(rec.pullFails))
		rec.pullErr = j.err.Error()
		a.recorder.ReferenceEventf(ref, apis.EventWarning, ReasonFailed, "Failed to pull image %q: %s", c.GetImage(), rec.pullErr)
		a.recorder.ReferenceEventf(ref, apis.EventWarning, ReasonFailed, "Error: %s", WaitErrImagePull)
	}
	if rec.pullErr != "" && now.Before(rec.pullRetryAt) {
		hold := rec.pullFailedAt.Add(min(errImagePullHoldAtMost, rec.pullRetryAt.Sub(rec.pullFailedAt)/2))
		if now.Before(hold) {
			return imageStep{reason: WaitErrImagePull, message: rec.pullErr, requeue: hold.Sub(now)}
		}
		a.recorder.ReferenceEventf(ref, apis.EventNormal, ReasonBackOff, "Back-off pulling image %q", c.GetImage())
		return imageStep{
			reason:  WaitImagePullBackOff,
			message: fmt.Sprintf("Back-off pulling image %q: %s", c.GetImage(), rec.pullErr),
			requeue: rec.pullRetryAt.Sub(now),
		}
	}
	if policy != PullAlways {
		img, err := a.images.Lookup(ctx, c.GetImage())
		switch {
		case err == nil:
			rec.image, rec.imageRef, rec.imageAttempt = &img, c.GetImage(), attempt
			rec.pullFails, rec.pullErr = 0, ""
			a.recorder.ReferenceEventf(ref, apis.EventNormal, ReasonPulled, "Container image %q already present on machine", c.GetImage())
			return imageStep{img: rec.image}
		case policy == PullNever:
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.GetImage())
			if !errors.Is(err, ErrImageNotPresent) {
				msg += ": " + err.Error()
			}
			a.recorder.ReferenceEventf(ref, apis.EventWarning, ReasonImageNeverPulled, "%s", msg)
			return imageStep{reason: WaitErrImageNeverPull, message: msg, requeue: a.cfg.BackoffMax}
		case !errors.Is(err, ErrImageNotPresent):
			a.log.Debug("image lookup failed; pulling", "image", c.GetImage(), "err", err)
		}
	}
	rec.pull = a.startPull(pod, c)
	return imageStep{reason: WaitContainerCreating, message: rec.pull.summary(), requeue: pullProgressRequeue}
}

// startPull pulls c's image in the background and enqueues the pod when
// the pull ends.
func (a *Agent) startPull(pod *corev1.Pod, c *corev1.Container) *pullJob {
	ctx, cancel := context.WithCancel(a.bg)
	j := &pullJob{ref: c.GetImage(), started: time.Now(), done: make(chan struct{}), cancel: cancel, layers: map[string]PullProgress{}}
	key := keyOf(pod)
	ns := pod.GetMetadata().GetNamespace()
	a.recorder.ReferenceEventf(pod2ref(pod, c.GetName()), apis.EventNormal, ReasonPulling, "Pulling image %q", c.GetImage())
	a.goBG(func(context.Context) {
		defer cancel()
		secrets := a.pullSecrets(ctx, pod)
		j.img, j.err = a.images.Pull(ctx, PullRequest{Ref: j.ref, Namespace: ns, PullSecrets: secrets, Progress: j.onProgress})
		close(j.done)
		a.kicks.kick(key)
	})
	return j
}

// pod2ref is the event reference of container name of pod.
func pod2ref(pod *corev1.Pod, name string) *corev1.ObjectReference {
	return podRef(pod, fieldPath(name))
}

// cancelPulls stops the running pulls of a pod's record.
func (r *podRecord) cancelPulls() {
	for _, c := range r.ctrs {
		if c.pull != nil {
			c.pull.cancel()
			c.pull = nil
		}
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// pullSecrets reads the registry credentials the pod names in
// spec.imagePullSecrets. A missing or unusable secret is reported as a
// Warning event and skipped (the pull may still work without it).
func (a *Agent) pullSecrets(ctx context.Context, pod *corev1.Pod) [][]byte {
	var out [][]byte
	for _, name := range pod.GetSpec().GetImagePullSecrets() {
		s, err := client.For[*corev1.Secret](a.cfg.Client).Get(ctx, pod.GetMetadata().GetNamespace(), name)
		if err != nil {
			a.recorder.ReferenceEventf(podRef(pod, ""), apis.EventWarning, "FailedToRetrieveImagePullSecret", "Unable to retrieve image pull secret %q: %s", name, client.Message(err))
			continue
		}
		cfg, ok := s.GetData()[apis.DockerConfigJSONKey]
		if !ok {
			a.recorder.ReferenceEventf(podRef(pod, ""), apis.EventWarning, "FailedToRetrieveImagePullSecret", "Secret %q has no %s key", name, apis.DockerConfigJSONKey)
			continue
		}
		out = append(out, cfg)
	}
	return out
}
