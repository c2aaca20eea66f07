package hostagent

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// A pod evicted while its host's agent was down (the host lifecycle
// controller deletes it; the agent's finalizer keeps it Terminating) is
// stopped when the agent comes back, and then disappears: the host never
// runs it next to its replacement.
func TestPodEvictedWhileAgentDownIsStopped(t *testing.T) {
	e := newAgentEnv(t, nil)
	before := e.snapshot()
	pod := e.create(e.newPod("evicted", "sleep", "3600"))
	uid := pod.GetMetadata().GetUid()
	e.waitPod("evicted", 30*time.Second, isRunning(true))
	run, _ := e.runtimeContainer(uid, "main")
	e.stop()
	if err := e.pods.Delete(e.ctx(), "demo", "evicted"); err != nil {
		t.Fatal(err)
	}
	p, err := e.pods.Get(e.ctx(), "demo", "evicted")
	if err != nil || p.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("with the agent down the pod must stay Terminating: %v %v", p.GetMetadata(), err)
	}
	if err := syscall.Kill(run.Pid, 0); err != nil {
		t.Fatalf("container %d died with the agent: %v", run.Pid, err)
	}
	e.start()
	e.waitGone("evicted", 30*time.Second)
	if err := syscall.Kill(run.Pid, 0); err == nil {
		t.Errorf("container process %d still alive after the agent returned", run.Pid)
	}
	poll(t, 10*time.Second, func() error {
		if s := e.snapshot(); !s.equal(before) {
			return fmt.Errorf("host state differs:\nbefore %+v\nnow    %+v", before, s)
		}
		return nil
	})
}

// A pod deleted for good while the agent was down and recreated under the
// same name on another host: the agent stops the old one and runs nothing
// for the new one.
func TestPodReboundElsewhereWhileAgentDownIsStopped(t *testing.T) {
	e := newAgentEnv(t, nil)
	pod := e.create(e.newPod("moved", "sleep", "3600"))
	uid := pod.GetMetadata().GetUid()
	p := e.waitPod("moved", 30*time.Second, isRunning(true))
	run, _ := e.runtimeContainer(uid, "main")
	e.stop()
	p.Metadata.Finalizers = nil
	if _, err := e.pods.Update(e.ctx(), p); err != nil {
		t.Fatal(err)
	}
	if err := e.pods.Delete(e.ctx(), "demo", "moved"); err != nil {
		t.Fatal(err)
	}
	e.waitGone("moved", 10*time.Second)
	again := e.newPod("moved", "sleep", "3600")
	again.Spec.NodeName = "some-other-host"
	again = e.create(again)
	e.start()
	poll(t, 30*time.Second, func() error {
		if _, err := e.rt.Sandbox(e.ctx(), sandboxID(uid)); err == nil {
			return errors.New("the old pod's sandbox is still there")
		}
		if err := syscall.Kill(run.Pid, 0); err == nil {
			return fmt.Errorf("old container process %d still alive", run.Pid)
		}
		return nil
	})
	if _, err := e.rt.Sandbox(e.ctx(), sandboxID(again.GetMetadata().GetUid())); err == nil {
		t.Fatal("the agent started the pod bound to another host")
	}
}

// The agent rewrites its Host's status but keeps conditions it does not
// own (the host lifecycle controller's Maintenance), and sets Ready back
// to True after the controller marked it Unknown.
func TestHostStatusKeepsForeignConditions(t *testing.T) {
	e := newAgentEnv(t, func(c *Config) { c.HostStatusInterval = 100 * time.Millisecond })
	hosts := client.For[*corev1.Host](e.c)
	poll(t, 20*time.Second, func() error {
		h, err := hosts.Get(e.ctx(), "", testHost)
		if err != nil {
			return err
		}
		if findCondition(h.GetStatus().GetConditions(), HostCondReady).GetStatus() != "True" {
			return errors.New("not Ready yet")
		}
		conds := slices.DeleteFunc(h.Status.Conditions, func(c *corev1.Condition) bool { return c.GetType() == HostCondReady })
		h.Status.Conditions = append(conds,
			&corev1.Condition{Type: HostCondReady, Status: "Unknown", Reason: "HostLeaseExpired"},
			&corev1.Condition{Type: "Maintenance", Status: "False", Reason: "Draining"})
		_, err = hosts.UpdateStatus(e.ctx(), h)
		return err
	})
	poll(t, 10*time.Second, func() error {
		h, err := hosts.Get(e.ctx(), "", testHost)
		if err != nil {
			return err
		}
		if c := findCondition(h.GetStatus().GetConditions(), HostCondReady); c.GetStatus() != "True" {
			return fmt.Errorf("Ready = %v", c)
		}
		if c := findCondition(h.GetStatus().GetConditions(), "Maintenance"); c.GetReason() != "Draining" {
			return fmt.Errorf("the agent dropped the Maintenance condition: %v", h.GetStatus().GetConditions())
		}
		return nil
	})
}
