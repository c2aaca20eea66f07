package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
)

// cpuMeter reads the CPU time used by everything the benchmark runs: this
// process with its children (API server, agent, image service, shims, runc
// invocations), moved into a cgroup of its own in the cgroup v1 cpuacct
// hierarchy, and the containers, whose cgroups are under the same parent.
// The kernel charges CPU time to every ancestor cgroup, so what containers
// used stays counted after their cgroups are removed. On a machine shared
// with other work, CPU time per start varies much less than wall time.
type cpuMeter struct {
	usage string // cpuacct.usage of the parent
	self  string // the leaf this process was moved into
	orig  string // this process's cpuacct cgroup before, to go back to
}

// cpuTime is CPU time used: in total; of it outside the containers'
// cgroups (this process and the children that stay in its cgroup: shims,
// runc's own processes; not runc's init once it joined the container's
// cgroup, nor the container); and of that, this process alone (API
// server, agent, image service and the benchmark's own client).
//
// machineBusy and machineIdle are the whole machine's CPU time busy and
// idle (/proc/stat, 10 ms ticks): kernel threads and interrupts count
// too, which no cgroup is charged for. When starts at once keep every
// CPU busy, the batch lasts machineBusy / CPUs.
type cpuTime struct{ total, outside, self, machineBusy, machineIdle time.Duration }

func (c cpuTime) sub(d cpuTime) cpuTime {
	return cpuTime{c.total - d.total, c.outside - d.outside, c.self - d.self, c.machineBusy - d.machineBusy, c.machineIdle - d.machineIdle}
}

func (c cpuTime) add(d cpuTime) cpuTime {
	return cpuTime{c.total + d.total, c.outside + d.outside, c.self + d.self, c.machineBusy + d.machineBusy, c.machineIdle + d.machineIdle}
}

func (c cpuTime) div(n int) cpuTime {
	d := time.Duration(n)
	return cpuTime{c.total / d, c.outside / d, c.self / d, c.machineBusy / d, c.machineIdle / d}
}

// userHZ is the unit of /proc/stat (USER_HZ, 100 on every Linux
// architecture Go supports).
const userHZ = 100

// machineCPU returns the machine's busy and idle CPU time since boot, from
// the first line of /proc/stat (idle includes iowait).
func machineCPU() (busy, idle time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	// user nice system idle iowait irq softirq steal (guest time is
	// already in user).
	for i, v := range f[1:min(len(f), 9)] {
		ticks, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		d := time.Duration(ticks) * time.Second / userHZ
		if i == 3 || i == 4 {
			idle += d
		} else {
			busy += d
		}
	}
	return busy, idle, nil
}

// selfCPU is the CPU time this process (all its threads) used so far.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// newCPUMeter moves this process into <parent>/bench in the cpuacct
// hierarchy. It fails when there is no cgroup v1 cpuacct hierarchy (e.g. on
// a cgroup2-only host).
func newCPUMeter(parent string) (*cpuMeter, error) {
	hs, err := cgroups.Hierarchies()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(hs, func(h cgroups.Hierarchy) bool { return !h.V2 && h.Has("cpuacct") })
	if i < 0 {
		return nil, errors.New("no cgroup v1 cpuacct hierarchy")
	}
	mount := hs[i].Mount
	orig, err := ownCgroup("cpuacct")
	if err != nil {
		return nil, err
	}
	m := &cpuMeter{
		usage: filepath.Join(mount, parent, "cpuacct.usage"),
		self:  filepath.Join(mount, parent, "bench"),
		orig:  filepath.Join(mount, orig),
	}
	if err := os.MkdirAll(m.self, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(m.self, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.Remove(m.self)
		return nil, fmt.Errorf("move into %s: %w", m.self, err)
	}
	if _, err := m.read(); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

// read returns the CPU time used so far.
func (m *cpuMeter) read() (cpuTime, error) {
	total, err := readUsage(m.usage)
	if err != nil {
		return cpuTime{}, err
	}
	outside, err := readUsage(filepath.Join(m.self, "cpuacct.usage"))
	if err != nil {
		return cpuTime{}, err
	}
	busy, idle, err := machineCPU()
	if err != nil {
		return cpuTime{}, err
	}
	return cpuTime{total, outside, selfCPU(), busy, idle}, nil
}

func readUsage(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return time.Duration(ns), nil
}

// since returns the CPU time used since start (zero if it cannot be read).
func (m *cpuMeter) since(start cpuTime) cpuTime {
	if m == nil {
		return cpuTime{}
	}
	now, err := m.read()
	if err != nil {
		return cpuTime{}
	}
	return now.sub(start)
}

// now returns the CPU time used so far (zero without a meter).
func (m *cpuMeter) now() cpuTime {
	if m == nil {
		return cpuTime{}
	}
	d, _ := m.read()
	return d
}

// close moves this process back where it was and removes its leaf (the
// parent is removed with the rest of the benchmark's cgroups).
func (m *cpuMeter) close() error {
	if m == nil {
		return nil
	}
	if err := os.WriteFile(filepath.Join(m.orig, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("move back to %s: %w", m.orig, err)
	}
	return os.Remove(m.self)
}

// ownCgroup returns this process's cgroup path in the v1 hierarchy with
// controller.
func ownCgroup(controller string) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && slices.Contains(strings.Split(parts[1], ","), controller) {
			return parts[2], nil
		}
	}
	return "", fmt.Errorf("/proc/self/cgroup: no %s hierarchy", controller)
}

// waitQuiet waits until the machine has been nearly idle (at most 5 % of
// its CPU time busy) over 200 ms, so that a batch does not pay for what the
// one before it left behind: the agent's deferred Event writes, the
// kernel's clean-up of deleted namespaces and cgroups. It gives up after 5 s
// and says so.
func waitQuiet(ctx context.Context, log *slog.Logger) error {
	const window, maxBusy, giveUp = 200 * time.Millisecond, 0.05, 5 * time.Second
	deadline := time.Now().Add(giveUp)
	busy0, idle0, err := machineCPU()
	if err != nil {
		return err
	}
	t := time.NewTicker(window)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
		busy, idle, err := machineCPU()
		if err != nil {
			return err
		}
		db, di := busy-busy0, idle-idle0
		if db+di > 0 && float64(db) <= maxBusy*float64(db+di) {
			return nil
		}
		if time.Now().After(deadline) {
			log.Warn("machine not quiet before the batch; measuring anyway", "busy_pct", math.Round(100*float64(db)/float64(max(db+di, 1))))
			return nil
		}
		busy0, idle0 = busy, idle
	}
}
