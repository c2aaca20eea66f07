package sim_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/hostagent"
	"github.com/openpacific/pacific/services/hostagent/sim"
)

func newClient(t *testing.T) *client.Client {
	t.Helper()
	return apiservertest.StartReplica(t).Client(t)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, what, func() (bool, string) {
		ok, err := cond()
		return ok, fmt.Sprint(err)
	})
}

func TestFleetRegistersHostsRunsPodsAndSurvivesAKill(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fleet, err := sim.New(sim.Config{Client: c, RenewInterval: 100 * time.Millisecond, LeaseDuration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.AddHosts(ctx, []sim.HostConfig{
		{Name: "sim-1", Labels: map[string]string{"topology.pacific.dev/zone": "a"}},
		{Name: "sim-2", CPUMillis: 2000, MemoryBytes: 1 << 30},
	}); err != nil {
		t.Fatal(err)
	}
	if err := fleet.AddHost(ctx, sim.HostConfig{Name: "sim-1"}); err == nil {
		t.Fatal("adding a host twice succeeded")
	}
	if err := fleet.AddHost(ctx, sim.HostConfig{Name: "Bad_Name"}); err == nil {
		t.Fatal("a bad host name was accepted")
	}
	done := make(chan error, 1)
	go func() { done <- fleet.Run(ctx) }()

	hosts := client.For[*corev1.Host](c)
	h1, err := hosts.Get(ctx, "", "sim-1")
	if err != nil {
		t.Fatal(err)
	}
	if l := h1.GetMetadata().GetLabels(); l[sim.SimulatedLabel] != "true" || l[hostagent.HostnameLabel] != "sim-1" || l["topology.pacific.dev/zone"] != "a" {
		t.Fatalf("labels: %v", l)
	}
	if a := h1.GetStatus().GetAllocatable(); a["cpu"] != "4" || a["memory"] != "8Gi" {
		t.Fatalf("default allocatable: %v", a)
	}
	h2, err := hosts.Get(ctx, "", "sim-2")
	if err != nil {
		t.Fatal(err)
	}
	if a := h2.GetStatus().GetAllocatable(); a["cpu"] != "2" || a["memory"] != "1Gi" {
		t.Fatalf("allocatable: %v", a)
	}
	if rt := h2.GetStatus().GetRuntimes(); len(rt) != 1 || rt[0].GetName() != "sim" {
		t.Fatalf("runtimes: %v", rt)
	}

	// The lease is renewed.
	leases := client.For[*corev1.Lease](c)
	l0, err := leases.Get(ctx, hostagent.LeaseNamespace, "sim-1")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "lease renewal", func() (bool, error) {
		l, err := leases.Get(ctx, hostagent.LeaseNamespace, "sim-1")
		return err == nil && l.GetSpec().GetRenewTime().AsTime().After(l0.GetSpec().GetRenewTime().AsTime()), err
	})

	// A pod bound to a simulated host runs.
	if _, err := client.For[*corev1.Namespace](c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "demo"}}); err != nil {
		t.Fatal(err)
	}
	pods := client.For[*corev1.Pod](c)
	pod, err := pods.Create(ctx, &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: "web", Namespace: "demo"},
		Spec:     &corev1.PodSpec{NodeName: "sim-1", Containers: []*corev1.Container{{Name: "main", Image: "busybox:1"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod Running", func() (bool, error) {
		p, err := pods.Get(ctx, "demo", "web")
		return err == nil && p.GetStatus().GetPhase() == "Running" && len(p.GetStatus().GetContainerStatuses()) == 1 &&
			p.GetStatus().GetContainerStatuses()[0].GetReady(), err
	})
	if got := fleet.RunningPods("sim-1"); !slices.Equal(got, []string{pod.GetMetadata().GetUid()}) {
		t.Fatalf("sim-1 runs %v", got)
	}

	// Killed: the lease stops moving. The pod is deleted (evicted) while
	// the host is down; back up, the host no longer runs it.
	if err := fleet.Stop("sim-1"); err != nil {
		t.Fatal(err)
	}
	stopped, err := leases.Get(ctx, hostagent.LeaseNamespace, "sim-1")
	if err != nil {
		t.Fatal(err)
	}
	l2, err := leases.Get(ctx, hostagent.LeaseNamespace, "sim-2")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "sim-2 renewing while sim-1 is down", func() (bool, error) {
		l, err := leases.Get(ctx, hostagent.LeaseNamespace, "sim-2")
		return err == nil && l.GetSpec().GetRenewTime().AsTime().After(l2.GetSpec().GetRenewTime().AsTime()), err
	})
	if l, err := leases.Get(ctx, hostagent.LeaseNamespace, "sim-1"); err != nil || l.GetMetadata().GetResourceVersion() != stopped.GetMetadata().GetResourceVersion() {
		t.Fatalf("a stopped host renewed its lease (err %v)", err)
	}
	if err := pods.Delete(ctx, "demo", "web"); err != nil {
		t.Fatal(err)
	}
	if err := fleet.Start(ctx, "sim-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the evicted pod forgotten", func() (bool, error) {
		return len(fleet.RunningPods("sim-1")) == 0, nil
	})
	eventually(t, "lease renewed after restart", func() (bool, error) {
		l, err := leases.Get(ctx, hostagent.LeaseNamespace, "sim-1")
		return err == nil && l.GetMetadata().GetResourceVersion() != stopped.GetMetadata().GetResourceVersion(), err
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
