package runc

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// maskedPaths are hidden from the container (bind-mounted over with
// /dev/null or an empty read-only tmpfs).
var maskedPaths = []string{
	"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

// readonlyPaths are remounted read-only.
var readonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// CFS period used for CPU limits (100 ms, like Kubernetes).
const cfsPeriod = 100000

// specConfig is what buildSpec needs besides the ContainerSpec.
type specConfig struct {
	Rootfs      string // resolved, absolute
	CgroupsPath string
	PidsLimit   int64 // default when the spec has 0; < 0 unlimited
	NoFile      uint64
	Seccomp     bool
	CgroupNS    bool // use a private cgroup namespace (cgroup v2 only hosts)
}

// buildSpec turns a ContainerSpec into a hardened OCI runtime spec.
func buildSpec(s runtime.ContainerSpec, c specConfig) (*specs.Spec, error) {
	if len(s.Args) == 0 {
		return nil, fmt.Errorf("%w: no command", runtime.ErrInvalidSpec)
	}
	cwd := s.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if !filepath.IsAbs(cwd) {
		return nil, fmt.Errorf("%w: cwd %q is not absolute", runtime.ErrInvalidSpec, cwd)
	}
	env := slices.Clone(s.Env)
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append([]string{defaultPath}, env...)
	}
	if s.TTY && !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "TERM=") }) {
		env = append(env, "TERM=xterm")
	}
	caps, err := capabilitySet(s.DropCapabilities, s.AddCapabilities)
	if err != nil {
		return nil, err
	}
	proc := &specs.Process{
		Terminal: s.TTY,
		User: specs.User{
			UID: s.User.UID, GID: s.User.GID, AdditionalGids: slices.Clone(s.User.AdditionalGIDs),
		},
		Args: slices.Clone(s.Args),
		Env:  env,
		Cwd:  cwd,
		Capabilities: &specs.LinuxCapabilities{
			Bounding:  caps,
			Effective: slices.Clone(caps),
			Permitted: slices.Clone(caps),
		},
		Rlimits: []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Hard: c.NoFile, Soft: c.NoFile},
		},
		NoNewPrivileges: true,
		OOMScoreAdj:     s.OOMScoreAdj,
	}
	if s.TTY {
		proc.ConsoleSize = &specs.Box{Height: 24, Width: 80}
	}

	mounts := defaultMounts()
	for _, m := range s.Mounts {
		if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Destination) {
			return nil, fmt.Errorf("%w: mount %s:%s must use absolute paths", runtime.ErrInvalidSpec, m.Source, m.Destination)
		}
		opts := []string{"rbind", "rprivate", "nosuid", "nodev"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		mounts = append(mounts, specs.Mount{Destination: filepath.Clean(m.Destination), Type: "bind", Source: m.Source, Options: opts})
	}

	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: s.Namespaces.Network},
		{Type: specs.IPCNamespace, Path: s.Namespaces.IPC},
		{Type: specs.UTSNamespace, Path: s.Namespaces.UTS},
	}
	if c.CgroupNS {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	hostname := ""
	if s.Namespaces.UTS == "" {
		hostname = s.Hostname
		if hostname == "" {
			hostname = s.Name
		}
	}

	spec := &specs.Spec{
		Version:  specs.Version,
		Process:  proc,
		Root:     &specs.Root{Path: c.Rootfs, Readonly: s.ReadonlyRootfs},
		Hostname: hostname,
		Mounts:   mounts,
		Annotations: map[string]string{
			"org.openpacific.sandbox-id":     s.SandboxID,
			"org.openpacific.container-name": s.Name,
		},
		Linux: &specs.Linux{
			CgroupsPath:   c.CgroupsPath,
			Resources:     buildResources(s.Resources, c.PidsLimit),
			Namespaces:    ns,
			MaskedPaths:   slices.Clone(maskedPaths),
			ReadonlyPaths: slices.Clone(readonlyPaths),
		},
	}
	if c.Seccomp {
		spec.Linux.Seccomp = DefaultSeccomp(caps)
	}
	return spec, nil
}

// capabilitySet is the default set minus drop plus add. Adding a
// capability outside the default set is refused: pod security admission
// keeps such pods out of all but privileged namespaces, and this runtime
// does not grant them.
func capabilitySet(drop, add []string) ([]string, error) {
	var caps []string
	if !slices.Contains(drop, "ALL") {
		for _, c := range runtime.DefaultCapabilities {
			if !slices.Contains(drop, c) {
				caps = append(caps, c)
			}
		}
	}
	for _, c := range add {
		if !slices.Contains(runtime.DefaultCapabilities, c) {
			return nil, fmt.Errorf("%w: capability %s is outside the default set", runtime.ErrInvalidSpec, c)
		}
		if !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	if caps == nil {
		caps = []string{}
	}
	return caps, nil
}

func buildResources(r runtime.Resources, defaultPids int64) *specs.LinuxResources {
	res := &specs.LinuxResources{
		// Deny every device; runc adds the standard set (null, zero, full,
		// random, urandom, tty, pts, ptmx) after these rules.
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	req := r.CPURequestMillis
	if req == 0 {
		req = r.CPULimitMillis
	}
	if req > 0 || r.CPULimitMillis > 0 {
		res.CPU = &specs.LinuxCPU{}
		if req > 0 {
			shares := uint64(max(req*1024/1000, 2))
			res.CPU.Shares = &shares
		}
		if r.CPULimitMillis > 0 {
			quota := max(r.CPULimitMillis*cfsPeriod/1000, 1000)
			period := uint64(cfsPeriod)
			res.CPU.Quota, res.CPU.Period = &quota, &period
		}
	}
	if r.MemoryLimitBytes > 0 {
		limit := r.MemoryLimitBytes
		swap := limit // memory+swap = memory: no swap
		res.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &swap}
	}
	pids := r.PidsLimit
	if pids == 0 {
		pids = defaultPids
	}
	if pids > 0 {
		res.Pids = &specs.LinuxPids{Limit: &pids}
	}
	return res
}

func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}
