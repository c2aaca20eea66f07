package hostagent

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/internal/rundir"
	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
	"github.com/openpacific/pacific/services/imagesvc"
)

// testHost is the host name agents in these tests register.
const testHost = "node-1"

// agentEnv is a real host: an in-process API server, a loopback registry
// holding a busybox image built by the test, the real image service, the
// real runc runtime and the agent. The agent can be stopped and started
// again over the same state (a restart).
type agentEnv struct {
	t      *testing.T
	c      *client.Client
	api    *apiservertest.Replica
	pods   *client.Typed[*corev1.Pod]
	image  string // <registry>/busybox:1
	reg    string
	runc   string
	dir    string
	cgroup string
	cfg    func(*Config)

	rt     *runc.Runtime
	imgs   *imagesvc.Service
	agent  *Agent
	cancel context.CancelFunc
	done   chan error
}

var testNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// newAgentEnv builds the host and starts an agent. tweak adjusts the
// agent's config (it is applied on every start).
func newAgentEnv(t *testing.T, tweak func(*Config)) *agentEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "needs root")
	}
	runcPath := testutil.FindRunc()
	if runcPath == "" {
		testutil.SkipOrFail(t, "runc not found")
	}
	busybox, err := testutil.StaticBusybox()
	if err != nil {
		testutil.SkipOrFail(t, "static busybox not found: %v", err)
	}
	name := strings.Trim(testNameChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	e := &agentEnv{
		t:      t,
		runc:   runcPath,
		dir:    t.TempDir(),
		cgroup: fmt.Sprintf("/pacific/test-hostagent-%s-%d", name, rand.IntN(1e6)),
		cfg:    tweak,
	}
	e.c, e.api = startAPIReplica(t)
	e.pods = client.For[*corev1.Pod](e.c)
	e.reg = startRegistry(t)
	e.image = e.reg + "/busybox:1"
	pushBusybox(t, busybox, e.image)
	createNamespace(t, e.c, "demo")
	t.Cleanup(e.cleanup)
	e.start()
	return e
}

// runDir is the tmpfs for the runtime's and the agent's volatile files.
func (e *agentEnv) runDir() string { return filepath.Join(e.dir, "run") }

// start starts a runtime, an image service and an agent over the env's
// state directories.
func (e *agentEnv) start() {
	t := e.t
	t.Helper()
	ctx := context.Background()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// As pacific dev: volatile files on a tmpfs (decision 0035).
	if err := rundir.Mount(e.runDir()); err != nil {
		t.Fatal(err)
	}
	e.rt, err = runc.New(ctx, runc.Options{
		StateDir:     filepath.Join(e.dir, "runtime"),
		RunDir:       filepath.Join(e.runDir(), "runtime"),
		RuncPath:     e.runc,
		ShimPath:     exe,
		ShimArgs:     []string{},
		ShimEnv:      []string{"PACIFIC_TEST_SHIM=1"},
		CgroupParent: e.cgroup,
		Logger:       testLogger(),
	})
	if err != nil {
		t.Fatalf("runc runtime: %v", err)
	}
	e.imgs, err = imagesvc.New(ctx, imagesvc.Options{Root: filepath.Join(e.dir, "images"), Logger: testLogger(), RetryDelay: 10 * time.Millisecond, PullAttempts: 1})
	if err != nil {
		t.Fatalf("image service: %v", err)
	}
	cfg := Config{
		Client:             e.c,
		HostName:           testHost,
		Runtime:            e.rt,
		Images:             LocalImages(e.imgs),
		StateDir:           filepath.Join(e.dir, "agent"),
		RunDir:             filepath.Join(e.runDir(), "agent"),
		Logger:             testLogger(),
		RenewInterval:      200 * time.Millisecond,
		HostStatusInterval: time.Second,
		Resync:             5 * time.Second,
		BackoffBase:        500 * time.Millisecond,
		BackoffMax:         2 * time.Second,
		DrainTimeout:       5 * time.Second,
	}
	if e.cfg != nil {
		e.cfg(&cfg)
	}
	e.agent, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.agent.Run(runCtx) }()
}

// stop stops the agent (containers keep running) and closes the runtime
// and image service.
func (e *agentEnv) stop() {
	e.t.Helper()
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("agent Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		e.t.Fatalf("agent did not stop within 30s")
	}
	e.cancel = nil
	e.rt.Close()
	e.imgs.Close()
}

// cleanup stops the agent and removes whatever a test left running.
func (e *agentEnv) cleanup() {
	e.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := runc.New(ctx, runc.Options{StateDir: filepath.Join(e.dir, "runtime"), RunDir: filepath.Join(e.runDir(), "runtime"), RuncPath: e.runc, CgroupParent: e.cgroup, Logger: testLogger()})
	if err != nil {
		e.t.Errorf("cleanup: %v", err)
		return
	}
	defer rt.Close()
	imgs, err := imagesvc.New(ctx, imagesvc.Options{Root: filepath.Join(e.dir, "images"), Logger: testLogger()})
	if err != nil {
		e.t.Errorf("cleanup: %v", err)
		return
	}
	defer imgs.Close()
	cs, _ := rt.ListContainers(ctx)
	for _, c := range cs {
		if err := rt.RemoveContainer(ctx, c.ID); err != nil {
			e.t.Errorf("cleanup: remove container %s: %v", c.ID, err)
		}
		imgs.Unmount(ctx, c.ID)
	}
	sbs, _ := rt.ListSandboxes(ctx)
	for _, s := range sbs {
		if err := rt.RemoveSandbox(ctx, s.ID); err != nil {
			e.t.Errorf("cleanup: remove sandbox %s: %v", s.ID, err)
		}
	}
	// Root filesystems and volumes still mounted under the test's dirs.
	if mps, err := mountsUnder(e.dir); err == nil {
		for i := len(mps) - 1; i >= 0; i-- {
			if filepath.Base(mps[i]) == "rootfs" {
				imgs.Unmount(ctx, filepath.Base(filepath.Dir(mps[i])))
			}
		}
	}
	if mps, err := mountsUnder(e.dir); err == nil {
		for i := len(mps) - 1; i >= 0; i-- {
			if err := unix.Unmount(mps[i], unix.MNT_DETACH); err != nil {
				e.t.Errorf("cleanup: unmount %s: %v", mps[i], err)
			}
		}
	}
	if hs, err := cgroups.Hierarchies(); err == nil {
		if err := cgroups.Remove(ctx, hs, e.cgroup); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
	}
}

func (e *agentEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// startRegistry runs go-containerregistry's registry on 127.0.0.1.
func startRegistry(t *testing.T) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

var busyboxApplets = []string{
	"sh", "cat", "echo", "sleep", "nc", "wget", "httpd", "grep", "touch", "rm", "test",
	"id", "true", "false", "ls", "hostname", "kill", "ps", "env",
}

// pushBusybox builds a one-layer image around a static busybox and pushes
// it to ref.
func pushBusybox(t *testing.T, busybox, ref string) {
	t.Helper()
	bin, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: time.Unix(0, 0)})
	}
	file := func(name string, mode int64, data []byte) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0)})
		tw.Write(data)
	}
	for _, d := range []string{"bin/", "etc/", "proc/", "sys/", "dev/", "www/", "root/"} {
		dir(d, 0o755)
	}
	dir("tmp/", 0o1777)
	file("bin/busybox", 0o755, bin)
	for _, a := range busyboxApplets {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: time.Unix(0, 0)})
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	file("www/index.html", 0o644, []byte("hello from httpd\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}, WorkingDir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

// newPod returns a pod bound to the test host with one container "main"
// running cmd (a grace period of 1s keeps stops fast).
func (e *agentEnv) newPod(name string, cmd ...string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: name, Namespace: "demo"},
		Spec: &corev1.PodSpec{
			NodeName:                      testHost,
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []*corev1.Container{{Name: "main", Image: e.image, Command: cmd}},
		},
	}
}

func (e *agentEnv) create(pod *corev1.Pod) *corev1.Pod {
	e.t.Helper()
	p, err := e.pods.Create(e.ctx(), pod)
	if err != nil {
		e.t.Fatalf("create pod: %v", err)
	}
	return p
}

// waitPod polls the pod until check passes.
func (e *agentEnv) waitPod(name string, timeout time.Duration, check func(*corev1.Pod) error) *corev1.Pod {
	e.t.Helper()
	var last *corev1.Pod
	poll(e.t, timeout, func() error {
		p, err := e.pods.Get(context.Background(), "demo", name)
		if err != nil {
			return err
		}
		last = p
		if err := check(p); err != nil {
			return fmt.Errorf("pod %s: %w\nstatus: %v", name, err, p.GetStatus())
		}
		return nil
	})
	return last
}

// waitGone polls until the pod no longer exists.
func (e *agentEnv) waitGone(name string, timeout time.Duration) {
	e.t.Helper()
	poll(e.t, timeout, func() error {
		p, err := e.pods.Get(context.Background(), "demo", name)
		if client.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("pod %s still exists: finalizers %v, status %v", name, p.GetMetadata().GetFinalizers(), p.GetStatus())
	})
}

// events returns the reasons of the events about a pod, with counts.
func (e *agentEnv) events(uid string) map[string]int32 {
	e.t.Helper()
	list, _, err := client.For[*corev1.Event](e.c).ListAll(context.Background(), client.ListOptions{Namespace: "demo"})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int32{}
	for _, ev := range list {
		if ev.GetInvolvedObject().GetUid() == uid {
			out[ev.GetReason()] += ev.GetCount()
		}
	}
	return out
}

// waitEvents polls until the pod has events with all reasons.
func (e *agentEnv) waitEvents(uid string, reasons ...string) {
	e.t.Helper()
	poll(e.t, 20*time.Second, func() error {
		got := e.events(uid)
		for _, r := range reasons {
			if got[r] == 0 {
				return fmt.Errorf("no %s event yet; have %v", r, got)
			}
		}
		return nil
	})
}

// runtimeContainer returns the latest run of a pod's container as the
// runtime sees it.
func (e *agentEnv) runtimeContainer(uid, name string) (runtime.ContainerStatus, bool) {
	e.t.Helper()
	all, err := e.rt.ListContainers(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return latestRun(containersOf(all, sandboxID(uid)), name)
}

// exec runs a command in the pod's running container.
func (e *agentEnv) exec(uid string, args ...string) (int, string) {
	e.t.Helper()
	run, ok := e.runtimeContainer(uid, "main")
	if !ok {
		e.t.Fatalf("no container for %s", uid)
	}
	var out bytes.Buffer
	p, err := e.rt.Exec(e.ctx(), run.ID, runtime.ExecSpec{Args: args, Stdout: &out, Stderr: &out})
	if err != nil {
		e.t.Fatalf("exec %q: %v", args, err)
	}
	code, err := p.Wait(e.ctx())
	if err != nil {
		e.t.Fatalf("exec %q: %v", args, err)
	}
	return code, out.String()
}

// containerStatus returns the status of container "main".
func containerStatus(p *corev1.Pod) *corev1.ContainerStatus {
	for _, cs := range p.GetStatus().GetContainerStatuses() {
		if cs.GetName() == "main" {
			return cs
		}
	}
	return nil
}

func condition(p *corev1.Pod, typ string) string {
	if c := findCondition(p.GetStatus().GetConditions(), typ); c != nil {
		return c.GetStatus()
	}
	return ""
}

// isRunning checks the pod is Running with "main" running (and ready if
// wantReady).
func isRunning(wantReady bool) func(*corev1.Pod) error {
	return func(p *corev1.Pod) error {
		cs := containerStatus(p)
		switch {
		case p.GetStatus().GetPhase() != PhaseRunning:
			return errors.New("not Running")
		case cs.GetState().GetRunning() == nil:
			return errors.New("main not running")
		case wantReady && (!cs.GetReady() || condition(p, CondReady) != "True"):
			return errors.New("not ready")
		}
		return nil
	}
}

// hostState is what a pod may leave behind on the host: runtime objects,
// mounts under the test's dirs, cgroup directories.
type hostState struct {
	sandboxes, containers, mounts, cgroups []string
}

func (e *agentEnv) snapshot() hostState {
	e.t.Helper()
	ctx := context.Background()
	var s hostState
	sbs, err := e.rt.ListSandboxes(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, sb := range sbs {
		s.sandboxes = append(s.sandboxes, sb.ID)
	}
	cs, err := e.rt.ListContainers(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		s.containers = append(s.containers, c.ID)
	}
	if s.mounts, err = mountsUnder(e.dir); err != nil {
		e.t.Fatal(err)
	}
	for _, root := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/pids", "/sys/fs/cgroup"} {
		dir := filepath.Join(root, e.cgroup)
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && p != dir {
				s.cgroups = append(s.cgroups, p)
			}
			return nil
		})
	}
	for _, l := range [][]string{s.sandboxes, s.containers, s.mounts, s.cgroups} {
		slices.Sort(l)
	}
	return s
}

func (s hostState) equal(o hostState) bool {
	return slices.Equal(s.sandboxes, o.sandboxes) && slices.Equal(s.containers, o.containers) &&
		slices.Equal(s.mounts, o.mounts) && slices.Equal(s.cgroups, o.cgroups)
}
