package runc

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// TestDefaultSpecHardened checks the generated OCI spec (no root needed).
func TestDefaultSpecHardened(t *testing.T) {
	s, err := buildSpec(runtime.ContainerSpec{
		ID: "c1", SandboxID: "pod1", Name: "main", Args: []string{"sh"},
		Resources:  runtime.Resources{CPULimitMillis: 250, MemoryLimitBytes: 64 << 20},
		Namespaces: runtime.Namespaces{Network: "/x/net", IPC: "/x/ipc", UTS: "/x/uts"},
		Mounts:     []runtime.Mount{{Source: "/host/empty", Destination: "/data"}},
	}, specConfig{Rootfs: "/rootfs", CgroupsPath: "/pacific/pod1/c1", PidsLimit: 4096, NoFile: 20000, Seccomp: true})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Process
	if !p.NoNewPrivileges {
		t.Error("no_new_privileges not set")
	}
	caps := p.Capabilities
	for name, set := range map[string][]string{"bounding": caps.Bounding, "effective": caps.Effective, "permitted": caps.Permitted} {
		if slices.Contains(set, "CAP_SYS_ADMIN") {
			t.Errorf("%s set has CAP_SYS_ADMIN", name)
		}
		if len(set) != 14 {
			t.Errorf("%s set has %d capabilities, want Docker's 14: %v", name, len(set), set)
		}
	}
	if len(caps.Ambient) != 0 || len(caps.Inheritable) != 0 {
		t.Errorf("ambient %v / inheritable %v must be empty", caps.Ambient, caps.Inheritable)
	}
	if len(s.Linux.MaskedPaths) == 0 || !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") {
		t.Errorf("masked paths: %v", s.Linux.MaskedPaths)
	}
	if !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("readonly paths: %v", s.Linux.ReadonlyPaths)
	}
	if s.Linux.CgroupsPath != "/pacific/pod1/c1" {
		t.Errorf("cgroupsPath %q", s.Linux.CgroupsPath)
	}
	res := s.Linux.Resources
	if *res.CPU.Quota != 25000 || *res.CPU.Period != 100000 || *res.CPU.Shares != 256 {
		t.Errorf("cpu = quota %d period %d shares %d", *res.CPU.Quota, *res.CPU.Period, *res.CPU.Shares)
	}
	if *res.Memory.Limit != 64<<20 || *res.Memory.Swap != 64<<20 {
		t.Errorf("memory = %d swap %d", *res.Memory.Limit, *res.Memory.Swap)
	}
	if res.Pids == nil || res.Pids.Limit == nil || *res.Pids.Limit != 4096 {
		t.Errorf("pids limit: %+v", res.Pids)
	}
	if len(res.Devices) == 0 || res.Devices[0].Allow || res.Devices[0].Access != "rwm" {
		t.Errorf("devices must start with deny-all: %+v", res.Devices)
	}
	if len(p.Rlimits) != 1 || p.Rlimits[0].Type != "RLIMIT_NOFILE" || p.Rlimits[0].Hard != 20000 {
		t.Errorf("rlimits: %+v", p.Rlimits)
	}
	nsPath := map[specs.LinuxNamespaceType]string{}
	for _, n := range s.Linux.Namespaces {
		nsPath[n.Type] = n.Path
	}
	if nsPath[specs.NetworkNamespace] != "/x/net" || nsPath[specs.IPCNamespace] != "/x/ipc" || nsPath[specs.UTSNamespace] != "/x/uts" {
		t.Errorf("namespaces: %+v", s.Linux.Namespaces)
	}
	if _, ok := nsPath[specs.PIDNamespace]; !ok {
		t.Error("no private pid namespace")
	}
	if s.Hostname != "" {
		t.Errorf("hostname %q set while joining a UTS namespace", s.Hostname)
	}
	if !slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool {
		return m.Destination == "/data" && m.Source == "/host/empty" && slices.Contains(m.Options, "rbind")
	}) {
		t.Errorf("emptyDir mount missing: %+v", s.Mounts)
	}

	sc := s.Linux.Seccomp
	if sc == nil || sc.DefaultAction != specs.ActErrno {
		t.Fatalf("seccomp: %+v", sc)
	}
	allowed := map[string]bool{}
	for _, r := range sc.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 {
			for _, n := range r.Names {
				allowed[n] = true
			}
		}
	}
	for _, n := range []string{"read", "write", "execve", "socket", "connect", "bind", "listen", "accept4", "wait4", "nanosleep", "clock_nanosleep", "rt_sigaction", "exit_group"} {
		if !allowed[n] {
			t.Errorf("seccomp profile does not allow %s", n)
		}
	}
	for _, n := range []string{"mount", "umount2", "unshare", "setns", "clone", "clone3", "kexec_load", "init_module", "ptrace", "bpf", "keyctl", "reboot"} {
		if allowed[n] {
			t.Errorf("seccomp profile allows %s unconditionally", n)
		}
	}
}

func TestInvalidSpecs(t *testing.T) {
	for name, s := range map[string]runtime.ContainerSpec{
		"no args":      {ID: "c"},
		"relative cwd": {ID: "c", Args: []string{"sh"}, Cwd: "tmp"},
		"relative mnt": {ID: "c", Args: []string{"sh"}, Mounts: []runtime.Mount{{Source: "x", Destination: "/y"}}},
	} {
		if _, err := buildSpec(s, specConfig{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, id := range []string{"", "-x", "a/b", "..", "with space"} {
		if validateID("container", id) == nil {
			t.Errorf("ID %q accepted", id)
		}
	}
}

func TestSpecCapabilities(t *testing.T) {
	base := runtime.ContainerSpec{ID: "c1", SandboxID: "pod1", Name: "main", Args: []string{"sh"}}
	for _, tc := range []struct {
		name      string
		drop, add []string
		want      []string
		err       bool
	}{
		{"drop all add one", []string{"ALL"}, []string{"CAP_NET_BIND_SERVICE"}, []string{"CAP_NET_BIND_SERVICE"}, false},
		{"drop all", []string{"ALL"}, nil, []string{}, false},
		{"drop one", []string{"CAP_NET_RAW"}, nil, nil, false},
		{"add beyond default", nil, []string{"CAP_SYS_ADMIN"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			s.DropCapabilities, s.AddCapabilities = tc.drop, tc.add
			spec, err := buildSpec(s, specConfig{Rootfs: "/rootfs", Seccomp: true})
			if tc.err {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			caps := spec.Process.Capabilities
			want := tc.want
			if want == nil { // drop one
				want = slices.DeleteFunc(slices.Clone(runtime.DefaultCapabilities), func(c string) bool { return slices.Contains(tc.drop, c) })
			}
			for name, set := range map[string][]string{"bounding": caps.Bounding, "effective": caps.Effective, "permitted": caps.Permitted} {
				if !slices.Equal(set, want) {
					t.Errorf("%s = %q, want %q", name, set, want)
				}
			}
		})
	}
}
