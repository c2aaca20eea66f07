package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// podSpec is the measured workload: busybox sleep, bound to our host, no
// probes; sleep as PID 1 ignores SIGTERM, so a zero grace period makes the
// delete a prompt SIGKILL.
func (e *env) podSpec(name string) *corev1.Pod {
	grace := int64(0)
	return &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": "podstart"}},
		Spec: &corev1.PodSpec{
			NodeName:                      hostName,
			TerminationGracePeriodSeconds: &grace,
			Containers: []*corev1.Container{{
				Name:    "main",
				Image:   e.image,
				Command: []string{"sleep", "3600"},
			}},
		},
	}
}

// sample is one pod start: client-side latency, and when the status says
// its container started (for a breakdown).
type sample struct {
	latency time.Duration
	// toStart is create → the container's status.running.startedAt;
	// 0 when the status has no start time.
	toStart time.Duration
	// cpu is the CPU time everything used meanwhile (see cpuMeter); for
	// starts at once, the batch's total divided evenly.
	cpu cpuTime
}

// startPod creates the pod and waits until the watch shows it Running,
// timed from since (zero: from its create).
func (e *env) startPod(ctx context.Context, name string, since time.Time, timeout time.Duration) (sample, error) {
	ch, err := e.watch.expectRunning(name)
	if err != nil {
		return sample{}, err
	}
	start := since
	if start.IsZero() {
		start = time.Now()
	}
	if _, err := e.pods.Create(ctx, e.podSpec(name)); err != nil {
		e.watch.forget(name)
		return sample{}, fmt.Errorf("create pod %s: %w", name, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case s := <-ch:
		if s.err != nil {
			return sample{}, s.err
		}
		out := sample{latency: s.at.Sub(start)}
		for _, cs := range s.pod.GetStatus().GetContainerStatuses() {
			if t := cs.GetState().GetRunning().GetStartedAt(); t != nil {
				out.toStart = t.AsTime().Sub(start)
			}
		}
		return out, nil
	case <-timer.C:
		e.watch.forget(name)
		return sample{}, fmt.Errorf("pod %s not Running within %s: %s", name, timeout, e.describe(ctx, name))
	case <-ctx.Done():
		e.watch.forget(name)
		return sample{}, context.Cause(ctx)
	}
}

// describe is the pod's status for an error message.
func (e *env) describe(ctx context.Context, name string) string {
	p, err := e.pods.Get(ctx, namespace, name)
	if err != nil {
		return err.Error()
	}
	st := p.GetStatus()
	msg := fmt.Sprintf("phase=%q reason=%q message=%q", st.GetPhase(), st.GetReason(), st.GetMessage())
	for _, cs := range st.GetContainerStatuses() {
		if w := cs.GetState().GetWaiting(); w != nil {
			msg += fmt.Sprintf(" container %s waiting: %s %s", cs.GetName(), w.GetReason(), w.GetMessage())
		}
	}
	return msg
}

// deletePod deletes the pod and waits until it is gone (the agent has
// stopped its container and removed its finalizer).
func (e *env) deletePod(ctx context.Context, name string, timeout time.Duration) error {
	gone, err := e.watch.expectGone(name)
	if err != nil {
		return err
	}
	if err := e.pods.Delete(ctx, namespace, name); err != nil {
		e.watch.forget(name)
		if client.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("delete pod %s: %w", name, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-gone:
		return nil
	case <-e.watch.w.Done():
		return fmt.Errorf("pod %s: %w", name, e.watch.w.Err())
	case <-timer.C:
		e.watch.forget(name)
		return fmt.Errorf("pod %s still there %s after delete: %s", name, timeout, e.describe(ctx, name))
	case <-ctx.Done():
		e.watch.forget(name)
		return context.Cause(ctx)
	}
}

// prepull runs one unmeasured pod so the image is pulled and unpacked, and
// returns the OCI spec (config.json) the runtime made for its container,
// for the baseline to run the same bundle.
func (e *env) prepull(ctx context.Context, timeout time.Duration) ([]byte, error) {
	if _, err := e.startPod(ctx, "prepull", time.Time{}, 2*timeout); err != nil {
		return nil, err
	}
	spec, specErr := e.containerSpec(ctx, "prepull")
	if err := e.deletePod(ctx, "prepull", timeout); err != nil {
		return nil, err
	}
	return spec, specErr
}

// containerSpec reads the config.json of the running container of pod name
// from the runtime's bundle dir.
func (e *env) containerSpec(ctx context.Context, name string) ([]byte, error) {
	p, err := e.pods.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	for _, cs := range p.GetStatus().GetContainerStatuses() {
		if id, ok := strings.CutPrefix(cs.GetContainerId(), "runc://"); ok {
			return os.ReadFile(filepath.Join(e.runDir(), "runtime", "containers", id, "config.json"))
		}
	}
	return nil, fmt.Errorf("pod %s: no runc container id in its status", name)
}

// sequential starts n pods one after another, deleting each before the next.
func (e *env) sequential(ctx context.Context, n int, timeout time.Duration, meter *cpuMeter, res *results, log *slog.Logger) error {
	if n == 0 {
		return nil
	}
	log.Info("sequential pods: create → Running (Watch) → delete, one at a time", "pods", n)
	var deletes time.Duration
	for i := range n {
		name := fmt.Sprintf("seq-%03d", i)
		cpu0 := meter.now()
		s, err := e.startPod(ctx, name, time.Time{}, timeout)
		if err != nil {
			return err
		}
		s.cpu = meter.since(cpu0)
		res.seq = append(res.seq, s)
		t := time.Now()
		if err := e.deletePod(ctx, name, timeout); err != nil {
			return err
		}
		deletes += time.Since(t)
		if (i+1)%10 == 0 || i+1 == n {
			log.Info("sequential pods", "done", i+1, "of", n, "last_ms", ms(s.latency), "p50_ms", ms(percentile(latencies(res.seq), 0.5)))
		}
	}
	res.seqDeleteMean = deletes / time.Duration(n)
	return nil
}

// concurrent creates n pods at once, each timed from the moment all were
// released (as bare runc's starts at once), and waits for all of them,
// calls started, then deletes them all.
func (e *env) concurrent(ctx context.Context, n int, timeout time.Duration, meter *cpuMeter, res *results, started func(), log *slog.Logger) error {
	if n == 0 {
		return nil
	}
	log.Info("concurrent pods: all created at once, each timed from the release", "pods", n)
	samples := make([]sample, n)
	errs := make([]error, n)
	release := make(chan struct{})
	var t time.Time
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-release
			samples[i], errs[i] = e.startPod(ctx, fmt.Sprintf("conc-%03d", i), t, timeout)
		})
	}
	cpu0 := meter.now()
	t = time.Now()
	close(release)
	wg.Wait()
	wall, cpu := time.Since(t), meter.since(cpu0)
	started()
	startErr := errors.Join(errs...)
	if startErr == nil {
		for i := range samples {
			samples[i].cpu = cpu.div(n) // only the batch's total is known
		}
		res.conc = samples
		log.Info("concurrent pods running", "pods", n, "wall_ms", ms(wall), "p50_ms", ms(percentile(latencies(samples), 0.5)))
	}
	// Delete them all (also after a failure), at once, and wait.
	for i := range n {
		wg.Go(func() { errs[i] = e.deletePod(ctx, fmt.Sprintf("conc-%03d", i), timeout) })
	}
	wg.Wait()
	return errors.Join(startErr, errors.Join(errs...))
}

// deleteAll deletes every pod left in the benchmark's namespace and waits
// until they are gone, so the agent cleans up after them.
func (e *env) deleteAll(ctx context.Context) error {
	left, _, err := e.pods.ListAll(ctx, client.ListOptions{Namespace: namespace})
	if err != nil {
		return err
	}
	errs := make([]error, len(left))
	var wg sync.WaitGroup
	for i, p := range left {
		wg.Go(func() { errs[i] = e.deletePod(ctx, p.GetMetadata().GetName(), 30*time.Second) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
