package hostagent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/openpacific/pacific/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// machine is what the agent reports about the host it runs on.
type machine struct {
	CPUMillis   int64
	MemoryBytes int64
	// DiskBytes is the size of the filesystem holding the agent's state
	// (ephemeral storage for pods); 0 if unknown.
	DiskBytes int64
	OS        string
	Arch      string
	Kernel    string
	MachineID string
}

// readMachine inspects this machine: CPUs (lowered by the agent's cgroup
// CPU quota, v1 or v2), memory (/proc/meminfo, lowered by the cgroup memory
// limit), the state filesystem's size, uname and machine-id.
func readMachine(stateDir string) (machine, error) {
	m := machine{OS: goruntime.GOOS, Arch: goruntime.GOARCH, CPUMillis: int64(goruntime.NumCPU()) * 1000}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		m.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	if b, err := os.ReadFile("/etc/machine-id"); err == nil {
		m.MachineID = strings.TrimSpace(string(b))
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return m, fmt.Errorf("read memory size: %w", err)
	}
	m.MemoryBytes, err = parseMemTotal(f)
	f.Close()
	if err != nil {
		return m, fmt.Errorf("read memory size: %w", err)
	}
	if lim := cgroupLimits(); lim.cpuMillis > 0 || lim.memoryBytes > 0 {
		if lim.cpuMillis > 0 && lim.cpuMillis < m.CPUMillis {
			m.CPUMillis = lim.cpuMillis
		}
		if lim.memoryBytes > 0 && lim.memoryBytes < m.MemoryBytes {
			m.MemoryBytes = lim.memoryBytes
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(stateDir, &st); err == nil {
		m.DiskBytes = int64(st.Blocks) * st.Bsize
	}
	return m, nil
}

// parseMemTotal reads MemTotal from /proc/meminfo content, in bytes.
func parseMemTotal(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("MemTotal %q: %w", rest, err)
		}
		if len(f) > 1 && f[1] != "kB" {
			return 0, fmt.Errorf("MemTotal unit %q: want kB", f[1])
		}
		return n * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no MemTotal line")
}

type limits struct {
	cpuMillis   int64
	memoryBytes int64
}

// cgroupLimits reads the CPU quota and memory limit of the agent's own
// cgroups; zero fields mean no limit (or unknown).
func cgroupLimits() limits {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return limits{}
	}
	mi, err := mountinfo.Read()
	if err != nil {
		return limits{}
	}
	paths := parseProcCgroup(self)
	mounts := parseCgroupMounts(mi)
	var out limits
	read := func(controller, file string) (string, bool) {
		dir, ok := cgroupDir(mounts, paths, controller)
		if !ok {
			return "", false
		}
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return "", false
		}
		return strings.TrimSpace(string(b)), true
	}
	if s, ok := read("", "cpu.max"); ok { // v2
		out.cpuMillis = cpuMaxMillis(s)
	} else if q, ok := read("cpu", "cpu.cfs_quota_us"); ok {
		if p, ok := read("cpu", "cpu.cfs_period_us"); ok {
			out.cpuMillis = cpuMaxMillis(q + " " + p)
		}
	}
	if s, ok := read("", "memory.max"); ok {
		out.memoryBytes = memoryLimit(s)
	} else if s, ok := read("memory", "memory.limit_in_bytes"); ok {
		out.memoryBytes = memoryLimit(s)
	}
	return out
}

// cpuMaxMillis turns "quota period" (cpu.max, or v1's quota and period) into
// millicores; "max" or a negative quota is no limit (0).
func cpuMaxMillis(s string) int64 {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] == "max" {
		return 0
	}
	q, err1 := strconv.ParseInt(f[0], 10, 64)
	p, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0
	}
	return q * 1000 / p
}

// memoryLimit parses memory.max / memory.limit_in_bytes; "max" and v1's
// "unlimited" (a value near 2^63) are no limit (0).
func memoryLimit(s string) int64 {
	if s == "max" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}

// parseProcCgroup maps each v1 controller (and "" for v2) to the process'
// cgroup path, from /proc/self/cgroup.
func parseProcCgroup(b []byte) map[string]string {
	out := map[string]string{}
	for line := range bytes.Lines(b) {
		parts := strings.SplitN(strings.TrimSpace(string(line)), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

// cgroupMount is one cgroup filesystem mount: its root inside the
// hierarchy, where it is mounted, and its controllers ("" for v2).
type cgroupMount struct {
	root, point string
	controllers []string
	v2          bool
}

// parseCgroupMounts picks the cgroup mounts out of the mount table.
func parseCgroupMounts(mounts []mountinfo.Mount) []cgroupMount {
	var out []cgroupMount
	for _, mi := range mounts {
		switch mi.FSType {
		case "cgroup2":
			out = append(out, cgroupMount{root: mi.Root, point: mi.MountPoint, v2: true})
		case "cgroup":
			m := cgroupMount{root: mi.Root, point: mi.MountPoint}
			for _, o := range strings.Split(mi.SuperOpts, ",") {
				switch o {
				case "rw", "ro":
				default:
					m.controllers = append(m.controllers, o)
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// cgroupDir is the directory of the process' cgroup for controller ("" =
// the v2 unified hierarchy).
func cgroupDir(mounts []cgroupMount, paths map[string]string, controller string) (string, bool) {
	p, ok := paths[controller]
	if !ok {
		return "", false
	}
	for _, m := range mounts {
		if controller == "" && !m.v2 || controller != "" && (m.v2 || !slices.Contains(m.controllers, controller)) {
			continue
		}
		rel, err := filepath.Rel(m.root, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		return filepath.Join(m.point, rel), true
	}
	return "", false
}
