package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime/runc"
)

// procStatus is what /proc/PID/status says about memory, in KiB.
type procStatus struct {
	VmRSS, RssAnon, RssFile, RssShmem, VmHWM int64
	Threads                                  int64
}

func readStatus(pid int) (procStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStatus{}, err
	}
	defer f.Close()
	var st procStatus
	fields := map[string]*int64{
		"VmRSS:": &st.VmRSS, "RssAnon:": &st.RssAnon, "RssFile:": &st.RssFile,
		"RssShmem:": &st.RssShmem, "VmHWM:": &st.VmHWM, "Threads:": &st.Threads,
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		if p, ok := fields[f[0]]; ok {
			*p, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return st, err
	}
	if st.VmRSS == 0 {
		return st, fmt.Errorf("pid %d: no VmRSS (exited?)", pid)
	}
	return st, nil
}

// readPss is the proportional set size of pid in KiB (smaps_rollup):
// shared pages (the binary's text, shared by all shims) split among users.
func readPss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// parentOf returns the parent PID of pid.
func parentOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// comm may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 2 {
		return 0, fmt.Errorf("pid %d: bad stat", pid)
	}
	return strconv.Atoi(f[1])
}

// shims lists the container shims of this run (see isShim) that are
// children of parent.
func shims(parent int, bin string) []int {
	var out []int
	for _, pid := range shimsOf(bin) {
		if ppid, err := parentOf(pid); err == nil && ppid == parent {
			out = append(out, pid)
		}
	}
	return out
}

// isShim reports whether pid is a container shim of this run: the
// pacific-shim next to bin, or `<bin> shim ...` (bin is the binary this run
// built, in its own temporary dir).
func isShim(pid int, bin string) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	return args[0] == filepath.Join(filepath.Dir(bin), runc.ShimBinary) ||
		len(args) >= 2 && args[0] == bin && args[1] == "shim"
}

// shimsOf lists the container shims of this run (see isShim), whatever
// their parent (after the agent exits they are reparented).
func shimsOf(bin string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && isShim(pid, bin) {
			out = append(out, pid)
		}
	}
	return out
}

// sample is one measurement.
type sample struct {
	agent   procStatus
	shims   int
	shimRSS int64 // KiB, sum of VmRSS
	shimPss int64 // KiB, sum of Pss
}

func takeSample(a *agent, bin string) (sample, error) {
	st, err := readStatus(a.pid())
	if err != nil {
		return sample{}, fmt.Errorf("host agent: %w", err)
	}
	s := sample{agent: st}
	for _, pid := range shims(a.pid(), bin) {
		if ps, err := readStatus(pid); err == nil {
			s.shims++
			s.shimRSS += ps.VmRSS
			s.shimPss += readPss(pid)
		}
	}
	return s, nil
}

// sampleFor samples every interval for d (both ends included).
func sampleFor(ctx context.Context, a *agent, bin string, d, interval time.Duration) ([]sample, error) {
	var out []sample
	end := time.Now().Add(d)
	for {
		s, err := takeSample(a, bin)
		if err != nil {
			return out, err
		}
		out = append(out, s)
		if !time.Now().Add(interval / 2).Before(end) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, context.Cause(ctx)
		case <-time.After(interval):
		}
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
