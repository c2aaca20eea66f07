package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// checkMachine verifies what the benchmark needs and resolves the repo,
// runc and busybox paths. It installs nothing.
func checkMachine(o *options) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (the host agent runs runc containers: cgroups, namespaces, overlay mounts)")
	}
	if o.repo == "" {
		o.repo = findRepo()
	}
	if o.repo == "" {
		return errors.New("repository not found: run from inside it (the directory with go.work) or pass -repo")
	}
	if _, err := os.Stat(filepath.Join(o.repo, "cmd", "pacific")); err != nil {
		return fmt.Errorf("-repo %s: no cmd/pacific: %w", o.repo, err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return errors.New("go not found in PATH (needed to build cmd/pacific)")
	}
	if o.runc == "" {
		o.runc = filepath.Join(o.repo, ".bin", "runc")
		if _, err := os.Stat(o.runc); err != nil {
			o.runc = "runc"
		}
	}
	p, err := exec.LookPath(o.runc)
	if err != nil {
		return fmt.Errorf("runc %q: %w (./hack/install-runc.sh builds runc 1.5.2 into .bin)", o.runc, err)
	}
	if o.runc, err = filepath.Abs(p); err != nil {
		return err
	}
	if err := checkStatic(o.busybox); err != nil {
		return fmt.Errorf("busybox: %w (apt-get install busybox-static, or pass -busybox)", err)
	}
	return nil
}

// findRepo returns the directory holding go.work at or above the working
// directory, or "".
func findRepo() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for ; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
	}
	return ""
}

// checkStatic fails unless path is a statically linked ELF executable: the
// image has no libc.
func checkStatic(path string) error {
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

// warnIfBusy logs when the machine does not look calm: a high load
// average, or another benchmark or a Go build running.
func warnIfBusy(log *slog.Logger) {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if l, err := strconv.ParseFloat(f[0], 64); err == nil && l > 0.8 {
				log.Warn("the machine is busy (1-min load average); numbers will be noisy", "load", l)
			}
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
		for _, w := range []string{"bench/podstart", "bench/imagepull", "/podstart", "/imagepull", "go build", "/compile "} {
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
