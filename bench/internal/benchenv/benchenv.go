package benchenv

import (
	"debug/elf"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openpacific/pacific/internal/mountinfo"
	"github.com/openpacific/pacific/internal/repo"
)

// benches are the benchmarks that skew each other's numbers.
var benches = []string{"podstart", "imagepull", "agentmem", "scheduler", "store", "authz"}

// FindRunc returns <repo>/.bin/runc (hack/install-runc.sh) when the working
// directory is inside the repository, else runc from PATH, else "".
func FindRunc() string {
	if root := repo.Root(); root != "" {
		p := filepath.Join(root, ".bin", "runc")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	p, _ := exec.LookPath("runc")
	return p
}

// CheckStatic fails unless path is a statically linked ELF executable: the
// image has no libc.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// MountsUnder lists the mount points at or below dir, in mount order.
func MountsUnder(dir string) ([]string, error) {
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	return mountinfo.Under(mounts, filepath.Clean(dir)), nil
}

// WarnIfBusy logs when the machine does not look calm: a high load
// average, another benchmark than self, or a Go build running.
func WarnIfBusy(log *slog.Logger, self string) {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if l, err := strconv.ParseFloat(f[0], 64); err == nil && l > 0.8 {
				log.Warn("the machine is busy (1-min load average); numbers will be noisy", "load", l)
			}
		}
	}
	markers := []string{"go build", "/compile "}
	for _, b := range benches {
		if b != self {
			markers = append(markers, "bench/"+b, "/exe/"+b) // go run ./bench/NAME, and the binary it runs
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || pid == os.Getppid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
		for _, w := range markers {
			if strings.Contains(cmd, w) {
				if len(cmd) > 120 {
					cmd = cmd[:120] + "…"
				}
				log.Warn("something else is running that skews the numbers", "pid", pid, "cmd", cmd)
				break
			}
		}
	}
}
