package drain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Options tune a drain.
type Options struct {
	// Force evicts pods without an owner too (they are lost).
	Force bool
	// Progress receives one line per step (nil: silent).
	Progress func(line string)
	// Interval between rounds while pods leave (default 500ms).
	Interval time.Duration
	// Reason recorded in each pod's Evicted event.
	Reason string
}

// UnownedPodsError lists the pods that block a drain without Force.
type UnownedPodsError struct {
	Host string
	Pods []string
}

func (e *UnownedPodsError) Error() string {
	return fmt.Sprintf("cannot drain host %s: %d pods have no owner (no Deployment or ReplicaSet) and would not be recreated elsewhere: %s\n"+
		"Run apps as Deployments to survive maintenance (as in vSphere, only managed workloads move). "+
		"Use --force to delete these pods anyway.", e.Host, len(e.Pods), strings.Join(e.Pods, ", "))
}

// SetUnschedulable cordons (true) or uncordons (false) a host.
// Uncordoning also withdraws pending evictions of its pods (a drain given
// up): they stay, and their surplus replacements go.
func SetUnschedulable(ctx context.Context, c *client.Client, host string, on bool) (changed bool, err error) {
	if !on {
		if err := withdrawEvictions(ctx, c, host); err != nil {
			return false, err
		}
	}
	return updateHost(ctx, c, host, func(h *corev1.Host) bool {
		if h.GetSpec().GetUnschedulable() == on {
			return false
		}
		if h.Spec == nil {
			h.Spec = &corev1.HostSpec{}
		}
		h.Spec.Unschedulable = on
		return true
	})
}

// SetMaintenance puts a host in (true) or out of (false) maintenance mode.
// Entering cordons it too; leaving uncordons it (and withdraws pending
// evictions, as SetUnschedulable does).
func SetMaintenance(ctx context.Context, c *client.Client, host string, on bool) (changed bool, err error) {
	if !on {
		defer func() {
			if err == nil {
				err = withdrawEvictions(ctx, c, host)
			}
		}()
	}
	return updateHost(ctx, c, host, func(h *corev1.Host) bool {
		if h.GetSpec().GetMaintenance() == on && h.GetSpec().GetUnschedulable() == on {
			return false
		}
		if h.Spec == nil {
			h.Spec = &corev1.HostSpec{}
		}
		h.Spec.Maintenance, h.Spec.Unschedulable = on, on
		return true
	})
}

// withdrawEvictions removes the eviction API's leaving mark from the pods
// on host.
func withdrawEvictions(ctx context.Context, c *client.Client, host string) error {
	pods := client.For[*corev1.Pod](c)
	list, err := podsOn(ctx, pods, host)
	if err != nil {
		return fmt.Errorf("list pods on host %s: %w", host, err)
	}
	for _, p := range list {
		if err := withdrawEviction(ctx, pods, p); err != nil {
			return fmt.Errorf("withdraw eviction of pod %s: %w", apis.Key(p), err)
		}
	}
	return nil
}

// withdrawEviction removes the leaving mark from one pod, retrying on a
// fresh read when the pod changed meanwhile.
func withdrawEviction(ctx context.Context, pods *client.Typed[*corev1.Pod], p *corev1.Pod) error {
	for range writeTries {
		if _, marked := p.GetMetadata().GetAnnotations()[apis.EvictingAnnotation]; !marked || p.GetMetadata().GetDeletionTimestamp() != nil {
			return nil
		}
		delete(p.Metadata.Annotations, apis.EvictingAnnotation)
		_, err := pods.Update(ctx, p)
		switch {
		case err == nil, client.IsNotFound(err):
			return nil
		case !client.IsConflict(err):
			return err
		}
		if p, err = pods.Get(ctx, p.GetMetadata().GetNamespace(), p.GetMetadata().GetName()); err != nil {
			if client.IsNotFound(err) {
				return nil
			}
			return err
		}
	}
	return errors.New("the pod kept changing")
}

// writeTries bounds the retries of a write that conflicts.
const writeTries = 5

func updateHost(ctx context.Context, c *client.Client, name string, change func(*corev1.Host) bool) (bool, error) {
	hosts := client.For[*corev1.Host](c)
	for range writeTries {
		h, err := hosts.Get(ctx, "", name)
		if err != nil {
			return false, err
		}
		if !change(h) {
			return false, nil
		}
		_, err = hosts.Update(ctx, h)
		if client.IsConflict(err) {
			continue
		}
		return err == nil, err
	}
	return false, fmt.Errorf("host %s kept changing; try again", name)
}

// Drain cordons host and evicts its pods until none is bound there, or
// ctx ends.
func Drain(ctx context.Context, c *client.Client, host string, o Options) error {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	interval := o.Interval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	reason := o.Reason
	if reason == "" {
		reason = "host " + host + " is being drained"
	}
	pods := client.For[*corev1.Pod](c)
	list, err := podsOn(ctx, pods, host)
	if err != nil {
		return err
	}
	if unowned := unownedOf(list); len(unowned) > 0 && !o.Force {
		return &UnownedPodsError{Host: host, Pods: unowned}
	}
	if _, err := client.For[*corev1.Host](c).Get(ctx, "", host); err != nil {
		return err
	}
	if changed, err := SetUnschedulable(ctx, c, host, true); err != nil {
		return err
	} else if changed {
		progress(fmt.Sprintf("host/%s cordoned", host))
	}
	said := map[string]string{}
	for {
		// Pods that left since the last round (evicted by the API, or by
		// their ReplicaSet once the replacement was Ready).
		present := map[string]bool{}
		for _, p := range list {
			present[apis.Key(p)] = true
		}
		for key := range said {
			if !present[key] {
				say(progress, said, key, fmt.Sprintf("pod %s evicted", key))
			}
		}
		if len(list) == 0 {
			progress(fmt.Sprintf("host/%s drained", host))
			return nil
		}
		for _, p := range list {
			key := apis.Key(p)
			if p.GetMetadata().GetDeletionTimestamp() != nil {
				if said[key] != fmt.Sprintf("pod %s evicted", key) {
					say(progress, said, key, fmt.Sprintf("pod %s terminating", key))
				}
				continue
			}
			if apis.ControllerRef(p.GetMetadata()) == nil && !o.Force {
				return &UnownedPodsError{Host: host, Pods: []string{key}}
			}
			resp, err := c.Evictions().Evict(ctx, &corev1.EvictRequest{Namespace: p.GetMetadata().GetNamespace(), Name: p.GetMetadata().GetName(), Reason: reason})
			switch {
			case client.IsNotFound(err):
				continue
			case err != nil:
				return fmt.Errorf("evict pod %s: %w", key, err)
			case resp.GetEvicted():
				say(progress, said, key, fmt.Sprintf("pod %s evicted", key))
			default:
				say(progress, said, key, fmt.Sprintf("pod %s waiting: %s", key, resp.GetMessage()))
			}
		}
		select {
		case <-ctx.Done():
			left := make([]string, len(list))
			for i, p := range list {
				left[i] = apis.Key(p)
			}
			return fmt.Errorf("drain host %s: %w; %d pods still there: %s", host, ctx.Err(), len(list), strings.Join(left, ", "))
		case <-time.After(interval):
		}
		if list, err = podsOn(ctx, pods, host); err != nil {
			return err
		}
	}
}

// say prints a line about a pod unless it was the last one printed for it.
func say(progress func(string), said map[string]string, key, line string) {
	if said[key] == line {
		return
	}
	said[key] = line
	progress(line)
}

func podsOn(ctx context.Context, pods *client.Typed[*corev1.Pod], host string) ([]*corev1.Pod, error) {
	list, _, err := pods.ListAll(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + host})
	if err != nil {
		return nil, fmt.Errorf("list pods on host %s: %w", host, err)
	}
	// Finished pods hold nothing; they stay for their logs.
	return slices.DeleteFunc(list, func(p *corev1.Pod) bool {
		ph := p.GetStatus().GetPhase()
		return ph == apis.PodSucceeded || ph == apis.PodFailed
	}), nil
}

func unownedOf(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		if apis.ControllerRef(p.GetMetadata()) == nil && p.GetMetadata().GetDeletionTimestamp() == nil {
			out = append(out, apis.Key(p))
		}
	}
	slices.Sort(out)
	return out
}
