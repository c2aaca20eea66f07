package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func TestResetsInitAffinity(t *testing.T) {
	for v, want := range map[string]bool{
		"1.1.15": false, "1.2.0": false, "1.2.6": false, "1.2.7": true, "1.2.9": true,
		"1.3.0": false, "1.3.1": true, "1.4.0": true, "1.5.2": true, "2.0.0": true, "0.9.0": false, "x": false,
	} {
		if got := resetsInitAffinity(v); got != want {
			t.Errorf("resetsInitAffinity(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestStartSlotsPerCPU(t *testing.T) {
	s := newStartSlots([]int{3, 5}, 2)
	var got []int
	for range 4 {
		c, err := s.acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if !slices.Equal(got, []int{3, 5, 3, 5}) {
		t.Fatalf("slots handed out as %v, want each CPU twice, in turn", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fifth start while four run: %v, want it to wait until its context ends", err)
	}
	s.release(5)
	if c, err := s.acquire(context.Background()); err != nil || c != 5 {
		t.Fatalf("after release: cpu %d, %v; want 5", c, err)
	}
}

// runcStarts matches the arguments of a runc call that starts a container;
// oneCPU, a Cpus_allowed_list of a single CPU.
var (
	runcStarts = regexp.MustCompile(`(^| )(create|run) `)
	oneCPU     = regexp.MustCompile(`^\d+$`)
)

// With start slots, runc's own process runs on one CPU while the
// container's init gets every CPU the test may use; without them, runc is
// not pinned either. A wrapper records the affinity each runc ran with.
func TestStartSlotsPinRuncNotTheContainer(t *testing.T) {
	cpus, err := allowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) < 2 {
		t.Skipf("start slots need 2 CPUs; this test may use %v", cpus)
	}
	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	all := cpusAllowed(string(self))
	for _, unpinned := range []bool{false, true} {
		t.Run(fmt.Sprintf("unpinned=%v", unpinned), func(t *testing.T) {
			runcPath, _ := requireHost(t)
			record := filepath.Join(t.TempDir(), "runc-affinity")
			wrapper := filepath.Join(t.TempDir(), "runc")
			script := fmt.Sprintf("#!/bin/sh\necho \"$* | $(grep Cpus_allowed_list /proc/self/status)\" >>%s\nexec %s \"$@\"\n", record, runcPath)
			if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, func(o *Options) { o.RuncPath, o.UnpinnedStarts = wrapper, unpinned })
			if got := e.rt.slots != nil; got == unpinned {
				t.Fatalf("start slots in use = %v with UnpinnedStarts=%v", got, unpinned)
			}
			started := e.spec("started", "sleep", "60")
			started.Start = true // `runc run --detach`, as the agent starts pods
			e.run(started)
			e.run(e.spec("created", "sleep", "60")) // `runc create`, then `runc start`

			data, err := os.ReadFile(record)
			if err != nil {
				t.Fatal(err)
			}
			starts := 0
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				args, status, _ := strings.Cut(line, " | ")
				if !runcStarts.MatchString(args) {
					continue
				}
				starts++
				switch aff := cpusAllowed(status); {
				case !unpinned && !oneCPU.MatchString(aff):
					t.Errorf("runc %s ran on CPUs %q; want one CPU", args, aff)
				case unpinned && aff != all:
					t.Errorf("runc %s ran on CPUs %q; want all the test may use, %q", args, aff, all)
				}
			}
			if starts != 2 {
				t.Fatalf("wrapper saw %d container starts, want 2:\n%s", starts, data)
			}
			for _, id := range []string{"started", "created"} {
				out, _, code, err := e.execOut(id, runtime.ExecSpec{Args: []string{"cat", "/proc/1/status"}})
				if err != nil || code != 0 {
					t.Fatalf("read the status of %s's init: %d %v", id, code, err)
				}
				if got := cpusAllowed(out); got != all {
					t.Errorf("container %s's init may use CPUs %q, want %q (the runtime's pin leaked)", id, got, all)
				}
			}
		})
	}
}

// cpusAllowed is the Cpus_allowed_list in text from /proc/<pid>/status
// ("" if it has none).
func cpusAllowed(text string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
