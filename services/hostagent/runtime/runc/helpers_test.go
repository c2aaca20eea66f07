package runc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/logs"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/shim"
)

// The tests run containers under the C shim (cmd/pacific-shim), built once
// per test binary; with PACIFIC_TEST_GO_SHIM=1 (hack/test.sh runs a set of
// tests so) under the Go shim instead: the test binary doubles as the shim,
// re-executed with PACIFIC_TEST_SHIM=1 as the agent re-executes itself as
// `pacific shim`.
func TestMain(m *testing.M) {
	if os.Getenv("PACIFIC_TEST_SHIM") == "1" {
		os.Exit(shim.Main(os.Args[1:]))
	}
	if cfg := os.Getenv("PACIFIC_TEST_AGENT"); cfg != "" {
		os.Exit(fakeAgent(cfg))
	}
	code := m.Run()
	if cShim.dir != "" {
		os.RemoveAll(cShim.dir)
	}
	os.Exit(code)
}

// cShim is the C shim built for this test binary (on first use).
var cShim struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// testShim returns how the runtime under test starts shims.
func testShim(t *testing.T) (path string, args, env []string) {
	t.Helper()
	if os.Getenv("PACIFIC_TEST_GO_SHIM") == "1" {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		return exe, []string{}, []string{"PACIFIC_TEST_SHIM=1"}
	}
	cShim.once.Do(func() {
		if cShim.dir, cShim.err = os.MkdirTemp("", "pacific-test-shim-"); cShim.err != nil {
			return
		}
		cShim.path = filepath.Join(cShim.dir, ShimBinary)
		cShim.err = testutil.BuildShim(cShim.path)
	})
	if cShim.err != nil {
		testutil.SkipOrFail(t, "C shim: %v", cShim.err)
	}
	return cShim.path, nil, nil
}

// requireHost skips (or fails in CI) unless root, runc and busybox are
// available.
func requireHost(t *testing.T) (runcPath, busybox string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "needs root")
	}
	runcPath = testutil.FindRunc()
	if runcPath == "" {
		testutil.SkipOrFail(t, "runc not found")
	}
	if _, err := (cli{path: runcPath}).check(context.Background(), false); err != nil {
		testutil.SkipOrFail(t, "runc unusable: %v", err)
	}
	busybox, err := testutil.StaticBusybox()
	if err != nil {
		testutil.SkipOrFail(t, "static busybox not found: %v", err)
	}
	return runcPath, busybox
}

var busyboxApplets = []string{
	"sh", "cat", "echo", "sleep", "nc", "wget", "httpd", "grep", "tty", "seq", "touch",
	"mount", "id", "true", "false", "ls", "head", "hostname", "ip", "ifconfig", "kill", "ps",
}

// makeRootfs builds a minimal root filesystem around a static busybox.
func makeRootfs(t *testing.T, busybox string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc", "www", "data"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	src, err := os.Open(busybox)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(root, "bin", "busybox"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":      "root:x:0:\nnogroup:x:65534:\n",
		"www/index.html": "hello from httpd\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type testEnv struct {
	t      *testing.T
	rt     *Runtime
	opts   Options
	rootfs string
}

var nameChars = regexp.MustCompile(`[^a-z0-9]+`)

// newEnv creates a runtime over a fresh state dir with its own cgroup
// parent, and a busybox rootfs; mods change its options. Cleanup removes
// everything it made.
func newEnv(t *testing.T, mods ...func(*Options)) *testEnv {
	t.Helper()
	runcPath, busybox := requireHost(t)
	shimPath, shimArgs, shimEnv := testShim(t)
	name := strings.Trim(nameChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	opts := Options{
		StateDir:     filepath.Join(t.TempDir(), "state"),
		RuncPath:     runcPath,
		ShimPath:     shimPath,
		ShimArgs:     shimArgs,
		ShimEnv:      shimEnv,
		CgroupParent: fmt.Sprintf("/pacific/test-%s-%d", name, rand.IntN(1e6)),
		Logger:       testLogger(),
	}
	for _, m := range mods {
		m(&opts)
	}
	rt, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e := &testEnv{t: t, rt: rt, opts: rt.opts, rootfs: makeRootfs(t, busybox)}
	t.Cleanup(func() { e.cleanup(e.rt) })
	return e
}

func testLogger() *slog.Logger {
	if os.Getenv("PACIFIC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// cleanup removes whatever a test left: containers, sandboxes, the cgroup
// parent.
func (e *testEnv) cleanup(rt *Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, _ := rt.ListContainers(ctx)
	for _, c := range cs {
		if err := rt.RemoveContainer(ctx, c.ID); err != nil {
			e.t.Errorf("cleanup: remove container %s: %v", c.ID, err)
		}
	}
	sbs, _ := rt.ListSandboxes(ctx)
	for _, s := range sbs {
		if err := rt.RemoveSandbox(ctx, s.ID); err != nil {
			e.t.Errorf("cleanup: remove sandbox %s: %v", s.ID, err)
		}
	}
	rt.Close()
	if hs, err := cgroups.Hierarchies(); err == nil {
		if err := cgroups.Remove(ctx, hs, e.opts.CgroupParent); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
	}
}

// restart drops the runtime and opens a new one over the same state, as a
// restarted agent does, and returns what it recovered.
func (e *testEnv) restart(ctx context.Context) runtime.Recovered {
	e.t.Helper()
	e.rt.Close()
	rt, err := New(ctx, e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.rt = rt
	rec, err := rt.Recover(ctx)
	if err != nil {
		e.t.Fatalf("Recover: %v", err)
	}
	return rec
}

func (e *testEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// spec returns a container spec running args in the test rootfs.
func (e *testEnv) spec(id string, args ...string) runtime.ContainerSpec {
	return runtime.ContainerSpec{ID: id, Name: id, Rootfs: e.rootfs, Args: args}
}

// run creates and starts a container.
func (e *testEnv) run(spec runtime.ContainerSpec) runtime.ContainerStatus {
	e.t.Helper()
	ctx := e.ctx()
	st, err := e.rt.CreateContainer(ctx, spec)
	if err != nil {
		e.t.Fatalf("create %s: %v", spec.ID, err)
	}
	if err := e.rt.StartContainer(ctx, spec.ID); err != nil {
		e.t.Fatalf("start %s: %v", spec.ID, err)
	}
	return st
}

// wait waits for a container to exit (with a deadline).
func (e *testEnv) wait(id string) runtime.ExitStatus {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := e.rt.WaitContainer(ctx, id)
	if err != nil {
		e.t.Fatalf("wait %s: %v", id, err)
	}
	return st
}

// logs returns a container's log as "stream content" lines.
func (e *testEnv) logs(opts runtime.LogOptions) []string {
	e.t.Helper()
	var out []string
	err := e.rt.ReadLogs(e.ctx(), opts, func(en logs.Entry) error {
		out = append(out, string(en.Stream)+" "+string(en.Content))
		return nil
	})
	if err != nil {
		e.t.Fatalf("logs: %v", err)
	}
	return out
}

// poll calls cond until it returns true or the deadline passes.
func poll(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, timeout, what, func() (bool, string) { return cond(), "" })
}

// execOut runs a command in a container and returns stdout, stderr, code.
func (e *testEnv) execOut(id string, spec runtime.ExecSpec) (string, string, int, error) {
	var stdout, stderr bytes.Buffer
	spec.Stdout, spec.Stderr = &stdout, &stderr
	p, err := e.rt.Exec(e.ctx(), id, spec)
	if err != nil {
		return "", "", -1, err
	}
	code, err := p.Wait(e.ctx())
	return stdout.String(), stderr.String(), code, err
}

func logOpts(id string) runtime.LogOptions { return runtime.LogOptions{ContainerID: id, Tail: -1} }
