package sim

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/quantity"
	"github.com/openpacific/pacific/services/hostagent"
)

// registerHost creates the Host, or updates its labels and status: Ready
// with the simulated capacity. Conditions written by others (Maintenance)
// are kept.
func (f *Fleet) registerHost(ctx context.Context, hc HostConfig) error {
	labels := maps.Clone(hc.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[hostagent.HostnameLabel] = hc.Name
	labels[SimulatedLabel] = "true"
	host, err := f.hosts.Get(ctx, "", hc.Name)
	if client.IsNotFound(err) {
		// Create ignores status: it is written next, as for every Host.
		host, err = f.hosts.Create(ctx, &corev1.Host{
			Metadata: &corev1.ObjectMeta{Name: hc.Name, Labels: labels},
			Spec:     &corev1.HostSpec{},
		})
		if client.IsAlreadyExists(err) {
			return f.registerHost(ctx, hc)
		}
	}
	if err != nil {
		return fmt.Errorf("register sim host %s: %w", hc.Name, err)
	}
	want := maps.Clone(host.GetMetadata().GetLabels())
	if want == nil {
		want = map[string]string{}
	}
	maps.Copy(want, labels)
	if !maps.Equal(want, host.GetMetadata().GetLabels()) {
		host.Metadata.Labels = want
		if host, err = f.hosts.Update(ctx, host); err != nil {
			return fmt.Errorf("label sim host %s: %w", hc.Name, err)
		}
	}
	st := hostStatus(hc, host.GetStatus(), time.Now())
	if proto.Equal(st, host.GetStatus()) {
		return nil
	}
	host.Status = st
	if _, err := f.hosts.UpdateStatus(ctx, host); err != nil {
		return fmt.Errorf("sim host %s status: %w", hc.Name, err)
	}
	return nil
}

func hostStatus(hc HostConfig, old *corev1.HostStatus, now time.Time) *corev1.HostStatus {
	res := map[string]string{
		"cpu":    quantity.FromMilli(hc.CPUMillis).String(),
		"memory": quantity.FromInt(hc.MemoryBytes).String(),
		"pods":   quantity.FromInt(int64(hc.MaxPods)).String(),
	}
	ready := &corev1.Condition{
		Type: hostagent.HostCondReady, Status: "True", Reason: "SimulatedAgentReady",
		Message:            fmt.Sprintf("simulated host; lease %s/%s is its heartbeat", hostagent.LeaseNamespace, hc.Name),
		LastTransitionTime: timestamppb.New(now),
	}
	conds := []*corev1.Condition{ready}
	for _, c := range old.GetConditions() {
		switch {
		case c.GetType() != hostagent.HostCondReady:
			conds = append(conds, c)
		case c.GetStatus() == "True" && c.GetReason() == ready.GetReason():
			ready.LastTransitionTime = c.GetLastTransitionTime()
		}
	}
	return &corev1.HostStatus{
		Capacity:    res,
		Allocatable: maps.Clone(res),
		Runtimes:    []*corev1.HostRuntime{{Name: RuntimeName, Isolation: "container", Version: "sim"}},
		Conditions:  conds,
		Addresses:   []*corev1.HostAddress{{Type: "InternalIP", Address: simulatedHostIP}, {Type: "Hostname", Address: hc.Name}},
		Info:        &corev1.HostInfo{Os: runtime.GOOS, Architecture: runtime.GOARCH, AgentVersion: "sim"},
	}
}
