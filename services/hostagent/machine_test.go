package hostagent

import (
	"strings"
	"testing"

	"github.com/openpacific/pacific/internal/mountinfo"
)

func TestParseMemTotal(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"MemTotal:       24576000 kB\nMemFree: 1 kB\n", 24576000 * 1024, false},
		{"MemFree: 1 kB\nMemTotal: 1024 kB\n", 1024 * 1024, false},
		{"MemFree: 1 kB\n", 0, true},
		{"MemTotal: x kB\n", 0, true},
		{"MemTotal: 5 MB\n", 0, true},
	} {
		got, err := parseMemTotal(strings.NewReader(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseMemTotal(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCgroupLimitParsing(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"max 100000", 0}, {"200000 100000", 2000}, {"50000 100000", 500}, {"-1 100000", 0}, {"garbage", 0},
	} {
		if got := cpuMaxMillis(tc.in); got != tc.want {
			t.Errorf("cpuMaxMillis(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"max", 0}, {"9223372036854771712", 0}, {"1073741824", 1 << 30}, {"x", 0},
	} {
		if got := memoryLimit(tc.in); got != tc.want {
			t.Errorf("memoryLimit(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// cgroup v1 (hybrid) and v2 layouts resolve to the right directories.
func TestCgroupDir(t *testing.T) {
	procCgroup := []byte("12:memory:/pacific/agent\n4:cpu,cpuacct:/pacific/agent\n1:name=systemd:/x\n0::/unified/agent\n")
	mountinfoText := []byte(`25 20 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw
26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
40 25 0:29 /pacific /sys/fs/cgroup/nested rw - cgroup cgroup rw,pids
`)
	paths := parseProcCgroup(procCgroup)
	mounts := parseCgroupMounts(mountinfo.Parse(mountinfoText))
	for _, tc := range []struct {
		controller, want string
		ok               bool
	}{
		{"memory", "/sys/fs/cgroup/memory/pacific/agent", true},
		{"cpu", "/sys/fs/cgroup/cpu,cpuacct/pacific/agent", true},
		{"", "/sys/fs/cgroup/unified/unified/agent", true},
		{"pids", "", false},
		{"blkio", "", false},
	} {
		got, ok := cgroupDir(mounts, paths, tc.controller)
		if ok != tc.ok || got != tc.want {
			t.Errorf("cgroupDir(%q) = %q, %v; want %q, %v", tc.controller, got, ok, tc.want, tc.ok)
		}
	}
}

func TestReadMachine(t *testing.T) {
	m, err := readMachine(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if m.CPUMillis < 1 || m.MemoryBytes < 1<<20 || m.OS == "" || m.Arch == "" || m.Kernel == "" {
		t.Errorf("implausible machine: %+v", m)
	}
}

func TestHostNameFrom(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{"node-1", "node-1", false},
		{"Node_1.Example.COM", "node-1.example.com", false},
		{"-weird-", "weird", false},
		{"___", "", true},
	} {
		got, err := hostNameFrom(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("hostNameFrom(%q) = %q, %v; want %q (err %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if _, err := DefaultHostName(); err != nil {
		t.Logf("this machine's hostname cannot name a Host: %v", err)
	}
}
