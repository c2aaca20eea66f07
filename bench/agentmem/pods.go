package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// podSpec is the workload: busybox sleep, tiny requests, bound to the
// agent's host; sleep as PID 1 ignores SIGTERM, so a zero grace period
// makes the delete a prompt SIGKILL.
func podSpec(name, image string) *corev1.Pod {
	grace := int64(0)
	return &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": "agentmem"}},
		Spec: &corev1.PodSpec{
			NodeName:                      hostName,
			TerminationGracePeriodSeconds: &grace,
			Containers: []*corev1.Container{{
				Name:      "main",
				Image:     image,
				Command:   []string{"sleep", "3600"},
				Resources: &corev1.ResourceRequirements{Requests: map[string]string{"cpu": "5m", "memory": "8Mi"}},
			}},
		},
	}
}

// forEach runs fn for 0..n-1, at most par at a time, and joins the errors.
func forEach(n, par int, fn func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// createPods creates n pods, 10 at a time, and returns their UIDs.
func createPods(ctx context.Context, pods *client.Typed[*corev1.Pod], image string, n int) ([]string, error) {
	uids := make([]string, n)
	err := forEach(n, 10, func(i int) error {
		p, err := pods.Create(ctx, podSpec(fmt.Sprintf("mem-%03d", i), image))
		if err != nil {
			return fmt.Errorf("create pod mem-%03d: %w", i, err)
		}
		uids[i] = p.GetMetadata().GetUid()
		return nil
	})
	return uids, err
}

// listPods lists the pods bound to the agent's host.
func listPods(ctx context.Context, pods *client.Typed[*corev1.Pod]) ([]*corev1.Pod, error) {
	ps, _, err := pods.ListAll(ctx, client.ListOptions{Namespace: namespace, FieldSelector: "spec.nodeName=" + hostName})
	return ps, err
}

// phases counts pods by phase, e.g. "Pending=3 Running=97".
func phases(ps []*corev1.Pod) (running int, summary string) {
	count := map[string]int{}
	for _, p := range ps {
		ph := p.GetStatus().GetPhase()
		if ph == "" {
			ph = "(none)"
		}
		count[ph]++
	}
	var parts []string
	for _, ph := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, fmt.Sprintf("%s=%d", ph, count[ph]))
	}
	return count["Running"], strings.Join(parts, " ")
}

// describe says why pods are not Running (the first few).
func describe(ps []*corev1.Pod) string {
	var out []string
	for _, p := range ps {
		st := p.GetStatus()
		if st.GetPhase() == "Running" {
			continue
		}
		msg := fmt.Sprintf("%s: phase=%q reason=%q", p.GetMetadata().GetName(), st.GetPhase(), st.GetReason())
		for _, cs := range st.GetContainerStatuses() {
			if w := cs.GetState().GetWaiting(); w != nil {
				msg += fmt.Sprintf(" waiting %s: %s", w.GetReason(), w.GetMessage())
			}
		}
		out = append(out, msg)
		if len(out) == 3 {
			break
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// waitRunning polls until n pods are Running, a pod fails, the agent
// exits or timeout passes.
func waitRunning(ctx context.Context, pods *client.Typed[*corev1.Pod], a *agent, n int, timeout time.Duration, log *slog.Logger) error {
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for {
		ps, err := listPods(ctx, pods)
		if err != nil {
			return fmt.Errorf("list pods: %w", err)
		}
		running, summary := phases(ps)
		if running == n {
			return nil
		}
		for _, p := range ps {
			if ph := p.GetStatus().GetPhase(); ph == "Failed" || ph == "Succeeded" {
				return fmt.Errorf("pod %s ended %s: %s", p.GetMetadata().GetName(), ph, describe([]*corev1.Pod{p}))
			}
		}
		if a.exited() {
			return fmt.Errorf("host agent exited (%v): %s", a.err, a.logTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d pods Running after %s (%s): %s", running, n, timeout, summary, describe(ps))
		}
		if time.Since(lastLog) >= 5*time.Second {
			log.Info("waiting for pods", "phases", summary)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// deleteAll deletes every pod on the host and waits until none is left
// (the agent has stopped their containers and removed its finalizer).
func deleteAll(ctx context.Context, pods *client.Typed[*corev1.Pod], timeout time.Duration, log *slog.Logger) error {
	ps, err := listPods(ctx, pods)
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	if len(ps) == 0 {
		return nil
	}
	log.Info("deleting pods", "pods", len(ps))
	err = forEach(len(ps), 20, func(i int) error {
		name := ps[i].GetMetadata().GetName()
		if err := pods.Delete(ctx, namespace, name); err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("delete pod %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		ps, err := listPods(ctx, pods)
		if err != nil {
			return fmt.Errorf("list pods: %w", err)
		}
		if len(ps) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			_, summary := phases(ps)
			return fmt.Errorf("%d pods still there %s after delete (%s)", len(ps), timeout, summary)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
