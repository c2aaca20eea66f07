package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// podWatch is one Watch on the benchmark's pods that tells waiters when a
// pod is first seen Running (with the time it was seen) and when it is gone.
type podWatch struct {
	w *client.Watcher[*corev1.Pod]

	mu      sync.Mutex
	running map[string]chan seen
	gone    map[string]chan struct{}
	err     error
}

// seen is a pod observed Running (or failing to get there).
type seen struct {
	at  time.Time
	pod *corev1.Pod
	err error
}

// watchPods watches the pods bound to the benchmark's host in its namespace,
// from the current revision on.
func watchPods(ctx context.Context, pods *client.Typed[*corev1.Pod]) (*podWatch, error) {
	sel := "spec.nodeName=" + hostName
	list, err := pods.List(ctx, client.ListOptions{Namespace: namespace, FieldSelector: sel})
	if err != nil {
		return nil, err
	}
	w, err := pods.Watch(context.WithoutCancel(ctx), client.WatchOptions{Namespace: namespace, FieldSelector: sel, ResourceVersion: list.ResourceVersion})
	if err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	pw := &podWatch{w: w, running: map[string]chan seen{}, gone: map[string]chan struct{}{}}
	go pw.loop()
	return pw, nil
}

func (pw *podWatch) stop() { pw.w.Stop() }

func (pw *podWatch) loop() {
	for ev := range pw.w.Events() {
		at := time.Now()
		p := ev.Object
		name := p.GetMetadata().GetName()
		pw.mu.Lock()
		switch ev.Type {
		case corev1.EventType_EVENT_TYPE_ADDED, corev1.EventType_EVENT_TYPE_MODIFIED:
			ch, ok := pw.running[name]
			if !ok {
				break
			}
			switch phase := p.GetStatus().GetPhase(); phase {
			case "Running":
				ch <- seen{at: at, pod: p}
				delete(pw.running, name)
			case "Failed", "Succeeded":
				ch <- seen{at: at, err: fmt.Errorf("pod %s ended %s before Running: %s %s", name, phase, p.GetStatus().GetReason(), p.GetStatus().GetMessage())}
				delete(pw.running, name)
			}
		case corev1.EventType_EVENT_TYPE_DELETED:
			if ch, ok := pw.gone[name]; ok {
				close(ch)
				delete(pw.gone, name)
			}
		}
		pw.mu.Unlock()
	}
	err := pw.w.Err()
	if err == nil {
		err = errors.New("stopped")
	}
	pw.mu.Lock()
	pw.err = fmt.Errorf("pod watch ended: %w", err)
	for name, ch := range pw.running {
		ch <- seen{err: pw.err}
		delete(pw.running, name)
	}
	pw.mu.Unlock()
}

// expectRunning registers interest in name reaching Running; call it before
// creating the pod.
func (pw *podWatch) expectRunning(name string) (<-chan seen, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.err != nil {
		return nil, pw.err
	}
	ch := make(chan seen, 1)
	pw.running[name] = ch
	return ch, nil
}

// expectGone registers interest in name being deleted; call it before
// deleting the pod.
func (pw *podWatch) expectGone(name string) (<-chan struct{}, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.err != nil {
		return nil, pw.err
	}
	ch := make(chan struct{})
	pw.gone[name] = ch
	return ch, nil
}

// forget drops the interest in name (after a timeout).
func (pw *podWatch) forget(name string) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	delete(pw.running, name)
	delete(pw.gone, name)
}
