package runc

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
)

// hostSnapshot is what a pod may leave on the host.
type hostSnapshot struct {
	mounts  []string // mountinfo mount points under the state dir, or nsfs
	cgroups []string // cgroup dirs under the runtime's parent, every hierarchy
	runc    []string // runc state entries
	state   []string // files under the state dir (logs excluded)
}

func snapshot(t *testing.T, e *testEnv) hostSnapshot {
	t.Helper()
	var s hostSnapshot
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], e.opts.StateDir) {
			s.mounts = append(s.mounts, fields[4])
		}
	}
	hs, err := cgroups.Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range cgroups.Dirs(hs, e.opts.CgroupParent) {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				s.cgroups = append(s.cgroups, p)
			}
			return nil
		})
	}
	ents, _ := os.ReadDir(filepath.Join(e.opts.StateDir, "runc"))
	for _, en := range ents {
		s.runc = append(s.runc, en.Name())
	}
	filepath.WalkDir(e.opts.StateDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !strings.HasPrefix(p, filepath.Join(e.opts.StateDir, "logs")+"/") {
			s.state = append(s.state, p)
		}
		return nil
	})
	slices.Sort(s.mounts)
	slices.Sort(s.cgroups)
	return s
}

func diff(t *testing.T, what string, before, after []string) {
	t.Helper()
	for _, a := range after {
		if !slices.Contains(before, a) {
			t.Errorf("%s left behind: %s", what, a)
		}
	}
}

// TestCleanupLeavesNothing: removing a sandbox (with a running and an
// exited container, an emptyDir mount, an exec) leaves no mounts, cgroups,
// runc state, namespaces or files. Not parallel: it owns the machine while
// it compares.
func TestCleanupLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	before := snapshot(t, e)
	if len(before.cgroups) == 0 {
		t.Fatal("cgroup parent not created by New")
	}

	sb, err := e.rt.CreateSandbox(ctx, runtime.SandboxSpec{ID: "pod"})
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	run := e.spec("run", "sh", "-c", "echo x > /data/f; sleep 60")
	run.SandboxID, run.Mounts = "pod", []runtime.Mount{{Source: empty, Destination: "/data"}}
	run.Resources.MemoryLimitBytes = 64 << 20
	e.run(run)
	exited := e.spec("exited", "true")
	exited.SandboxID = "pod"
	e.run(exited)
	e.wait("exited")
	poll(t, "emptyDir written", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(empty, "f"))
		return err == nil
	})
	if _, _, code, err := e.execOut("run", runtime.ExecSpec{Args: []string{"true"}}); err != nil || code != 0 {
		t.Fatalf("exec: %d %v", code, err)
	}
	during := snapshot(t, e)
	if len(during.mounts) <= len(before.mounts) || len(during.cgroups) <= len(before.cgroups) || len(during.runc) == 0 {
		t.Fatalf("the snapshot does not see the pod: %+v", during)
	}

	if err := e.rt.RemoveSandbox(ctx, "pod"); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, e)
	diff(t, "mount", before.mounts, after.mounts)
	diff(t, "cgroup", before.cgroups, after.cgroups)
	diff(t, "runc state", before.runc, after.runc)
	diff(t, "state file", before.state, after.state)
	if _, err := os.Stat(sb.Namespaces.Network); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("netns file left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.opts.StateDir, "logs", "pod")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("logs left: %v", err)
	}
	if cs, _ := e.rt.ListContainers(ctx); len(cs) != 0 {
		t.Errorf("containers left: %+v", cs)
	}
	if _, err := os.Stat("/run/runc/run"); err == nil {
		t.Errorf("runc state written to /run/runc")
	}
	// Removing again is a no-op.
	if err := e.rt.RemoveSandbox(ctx, "pod"); err != nil {
		t.Fatal(err)
	}
}
