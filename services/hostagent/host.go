package hostagent

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/quantity"
)

// Host condition types the agent writes.
const (
	HostCondReady               = "Ready"
	HostCondImageBudgetExceeded = "ImageBudgetExceeded"
)

// hostLoop registers the Host and keeps its status current until ctx ends.
func (a *Agent) hostLoop(ctx context.Context) {
	retry := 200 * time.Millisecond
	for ctx.Err() == nil {
		wait := a.cfg.HostStatusInterval
		if err := a.syncHost(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("register host; will retry", "err", err, "retry", retry)
			wait, retry = retry, min(retry*2, 10*time.Second)
		} else {
			retry = 200 * time.Millisecond
		}
		if !sleepCtx(ctx, wait) {
			return
		}
	}
}

// syncHost creates the Host if missing, makes sure it carries the hostname
// label, and writes its status when it changed.
func (a *Agent) syncHost(ctx context.Context) error {
	m, err := readMachine(a.cfg.StateDir)
	if err != nil {
		return err
	}
	host, err := a.hosts.Get(ctx, "", a.cfg.HostName)
	if client.IsNotFound(err) {
		host, err = a.hosts.Create(ctx, &corev1.Host{
			Metadata: &corev1.ObjectMeta{Name: a.cfg.HostName, Labels: map[string]string{HostnameLabel: a.cfg.HostName}},
			Spec:     &corev1.HostSpec{},
		})
		if err == nil {
			a.log.InfoContext(ctx, "host registered")
		}
	}
	if err != nil {
		return err
	}
	if host.GetMetadata().GetLabels()[HostnameLabel] != a.cfg.HostName {
		if host.Metadata.Labels == nil {
			host.Metadata.Labels = map[string]string{}
		}
		host.Metadata.Labels[HostnameLabel] = a.cfg.HostName
		if host, err = a.hosts.Update(ctx, host); err != nil {
			return err
		}
	}
	st := a.hostStatus(m, host.GetStatus(), time.Now())
	if proto.Equal(st, host.GetStatus()) {
		return nil
	}
	host.Status = st
	_, err = a.hosts.UpdateStatus(ctx, host)
	return err
}

// hostStatus is the Host status for machine m; old supplies condition
// transition times.
func (a *Agent) hostStatus(m machine, old *corev1.HostStatus, now time.Time) *corev1.HostStatus {
	capacity := map[string]string{
		"cpu":    quantity.FromMilli(m.CPUMillis).String(),
		"memory": quantity.FromInt(m.MemoryBytes).String(),
		"pods":   quantity.FromInt(int64(a.cfg.MaxPods)).String(),
	}
	allocatable := map[string]string{
		"cpu":    quantity.FromMilli(max(m.CPUMillis-a.cfg.ReservedCPUMillis, 0)).String(),
		"memory": quantity.FromInt(max(m.MemoryBytes-a.cfg.ReservedMemoryBytes, 0)).String(),
		"pods":   capacity["pods"],
	}
	if m.DiskBytes > 0 {
		capacity["ephemeral-storage"] = quantity.FromInt(m.DiskBytes).String()
		allocatable["ephemeral-storage"] = quantity.FromInt(m.DiskBytes - m.DiskBytes/10).String()
	}
	hostname, _ := os.Hostname()
	if hostname == "" {
		hostname = a.cfg.HostName
	}
	st := &corev1.HostStatus{
		Capacity:    capacity,
		Allocatable: allocatable,
		Runtimes:    []*corev1.HostRuntime{{Name: a.rt.Name(), Isolation: "container", Version: runtimeVersion(a.rt)}},
		Addresses: []*corev1.HostAddress{
			{Type: "InternalIP", Address: a.cfg.HostIP},
			{Type: "Hostname", Address: hostname},
		},
		AgentAddress: a.cfg.AgentAddress,
		Info: &corev1.HostInfo{
			Os: m.OS, Architecture: m.Arch, KernelVersion: m.Kernel, AgentVersion: a.cfg.AgentVersion, MachineId: m.MachineID,
		},
	}
	conds := []*corev1.Condition{{
		Type: HostCondReady, Status: "True", Reason: "AgentReady",
		Message: fmt.Sprintf("host agent is running; lease %s/%s is its heartbeat", LeaseNamespace, a.cfg.HostName),
	}}
	if br, ok := a.images.(BudgetReporter); ok {
		c := &corev1.Condition{Type: HostCondImageBudgetExceeded, Status: "False", Reason: "WithinBudget"}
		if exceeded, msg := br.BudgetExceeded(); exceeded {
			c.Status, c.Reason, c.Message = "True", "DiskBudgetExceeded", msg
		}
		conds = append(conds, c)
	}
	for _, c := range conds {
		if prev := findCondition(old.GetConditions(), c.GetType()); prev != nil && prev.GetStatus() == c.GetStatus() && prev.GetLastTransitionTime() != nil {
			c.LastTransitionTime = prev.GetLastTransitionTime()
		} else {
			c.LastTransitionTime = timestamppb.New(now)
		}
	}
	// Conditions others own (Maintenance, from the host lifecycle
	// controller) are kept as they are.
	for _, c := range old.GetConditions() {
		if findCondition(conds, c.GetType()) == nil {
			conds = append(conds, c)
		}
	}
	st.Conditions = conds
	return st
}

// runtimeVersion asks the runtime for its version if it can tell.
func runtimeVersion(rt any) string {
	switch v := rt.(type) {
	case interface{ Version() string }:
		return v.Version()
	case interface{ RuncVersion() string }:
		return v.RuncVersion()
	}
	return ""
}
