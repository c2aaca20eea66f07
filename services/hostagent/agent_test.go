package hostagent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/quantity"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func TestAgentRegistersHostAndRenewsLease(t *testing.T) {
	e := newAgentEnv(t, nil)
	hosts := client.For[*corev1.Host](e.c)
	var host *corev1.Host
	poll(t, 20*time.Second, func() error {
		h, err := hosts.Get(e.ctx(), "", testHost)
		if err != nil {
			return err
		}
		if len(h.GetStatus().GetConditions()) == 0 {
			return errors.New("no status yet")
		}
		host = h
		return nil
	})
	st := host.GetStatus()
	if host.GetMetadata().GetLabels()[HostnameLabel] != testHost {
		t.Errorf("labels = %v", host.GetMetadata().GetLabels())
	}
	for _, res := range []string{"cpu", "memory", "pods", "ephemeral-storage"} {
		capQ, err1 := quantity.Parse(st.GetCapacity()[res])
		allocQ, err2 := quantity.Parse(st.GetAllocatable()[res])
		if err1 != nil || err2 != nil || capQ.Milli() <= 0 || allocQ.Cmp(capQ) > 0 {
			t.Errorf("%s: capacity %q allocatable %q", res, st.GetCapacity()[res], st.GetAllocatable()[res])
		}
	}
	if st.GetCapacity()["pods"] != "110" {
		t.Errorf("pods capacity = %q", st.GetCapacity()["pods"])
	}
	if rts := st.GetRuntimes(); len(rts) != 1 || rts[0].GetName() != "runc" || rts[0].GetIsolation() != "container" || rts[0].GetVersion() == "" {
		t.Errorf("runtimes = %v", rts)
	}
	if a := st.GetAddresses(); len(a) != 2 || a[0].GetType() != "InternalIP" || a[0].GetAddress() != "127.0.0.1" || a[1].GetType() != "Hostname" {
		t.Errorf("addresses = %v", a)
	}
	if i := st.GetInfo(); i.GetOs() != "linux" || i.GetArchitecture() == "" || i.GetKernelVersion() == "" || i.GetAgentVersion() == "" {
		t.Errorf("info = %v", i)
	}
	if c := findCondition(st.GetConditions(), HostCondReady); c.GetStatus() != "True" {
		t.Errorf("Ready = %v", c)
	}
	if c := findCondition(st.GetConditions(), HostCondImageBudgetExceeded); c.GetStatus() != "False" {
		t.Errorf("ImageBudgetExceeded = %v", c)
	}

	// The lease exists in pacific-system and is renewed.
	leases := client.For[*corev1.Lease](e.c)
	var first time.Time
	poll(t, 10*time.Second, func() error {
		l, err := leases.Get(e.ctx(), LeaseNamespace, testHost)
		if err != nil {
			return err
		}
		if l.GetSpec().GetHolderIdentity() != testHost || l.GetSpec().GetLeaseDurationSeconds() != 40 {
			return fmt.Errorf("lease spec %v", l.GetSpec())
		}
		first = l.GetSpec().GetRenewTime().AsTime()
		return nil
	})
	poll(t, 10*time.Second, func() error {
		l, err := leases.Get(e.ctx(), LeaseNamespace, testHost)
		if err != nil {
			return err
		}
		if !l.GetSpec().GetRenewTime().AsTime().After(first) {
			return errors.New("lease not renewed yet")
		}
		return nil
	})
}

// A pod bound to the host runs; its status says so in detail, and the
// agent's events tell the story.
func TestPodRunsToRunning(t *testing.T) {
	e := newAgentEnv(t, nil)
	pod := e.create(e.newPod("hello", "sh", "-c", "echo hello from pacific; sleep 3600"))
	p := e.waitPod("hello", 30*time.Second, isRunning(true))
	st, cs := p.GetStatus(), containerStatus(p)
	if st.GetHostIp() != "127.0.0.1" || st.GetStartTime() == nil {
		t.Errorf("hostIP %q startTime %v", st.GetHostIp(), st.GetStartTime())
	}
	for _, c := range []string{CondPodScheduled, CondInitialized, CondContainersReady, CondReady} {
		if condition(p, c) != "True" {
			t.Errorf("condition %s = %q", c, condition(p, c))
		}
	}
	if cs.GetRestartCount() != 0 || !cs.GetStarted() || !strings.HasPrefix(cs.GetImageId(), "sha256:") ||
		!strings.HasPrefix(cs.GetContainerId(), "runc://") || cs.GetImage() != e.image || cs.GetState().GetRunning().GetStartedAt() == nil {
		t.Errorf("container status: %v", cs)
	}
	if !slices.Contains(p.GetMetadata().GetFinalizers(), Finalizer) {
		t.Errorf("finalizers = %v", p.GetMetadata().GetFinalizers())
	}
	run, ok := e.runtimeContainer(pod.GetMetadata().GetUid(), "main")
	if !ok || run.Pid <= 0 || "runc://"+run.ID != cs.GetContainerId() {
		t.Errorf("runtime container %+v for %s", run, cs.GetContainerId())
	}
	if code, out := e.exec(pod.GetMetadata().GetUid(), "hostname"); code != 0 || strings.TrimSpace(out) != "hello" {
		t.Errorf("hostname in the pod = %d %q", code, out)
	}
	e.waitEvents(pod.GetMetadata().GetUid(), ReasonPulling, ReasonPulled, ReasonCreated, ReasonStarted)
}

// A command that does not exist and commands that fail end with exit
// codes and reasons; the phase follows the restart policy.
func TestContainerExitCodesAndReasons(t *testing.T) {
	e := newAgentEnv(t, nil)
	for _, tc := range []struct {
		name       string
		cmd        []string
		wantCode   int32
		wantReason string
		wantPhase  string
	}{
		{"missing-binary", []string{"/no/such/binary"}, 128, "StartError", PhaseFailed},
		{"exit-3", []string{"sh", "-c", "echo failing >&2; exit 3"}, 3, "Error", PhaseFailed},
		{"exit-0", []string{"true"}, 0, "Completed", PhaseSucceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := e.newPod(tc.name, tc.cmd...)
			pod.Spec.RestartPolicy = RestartNever
			e.create(pod)
			p := e.waitPod(tc.name, 30*time.Second, func(p *corev1.Pod) error {
				if p.GetStatus().GetPhase() != tc.wantPhase {
					return fmt.Errorf("phase %s", p.GetStatus().GetPhase())
				}
				return nil
			})
			term := containerStatus(p).GetState().GetTerminated()
			if term.GetExitCode() != tc.wantCode || term.GetReason() != tc.wantReason || term.GetFinishedAt() == nil {
				t.Errorf("terminated = %v, want exit %d reason %s", term, tc.wantCode, tc.wantReason)
			}
			if tc.wantReason == "StartError" && !strings.Contains(term.GetMessage(), "/no/such/binary") {
				t.Errorf("StartError message does not name the command: %q", term.GetMessage())
			}
			if containerStatus(p).GetRestartCount() != 0 || condition(p, CondReady) != "False" {
				t.Errorf("restarts %d, Ready %s", containerStatus(p).GetRestartCount(), condition(p, CondReady))
			}
		})
	}
}

// A container that keeps failing is restarted with growing back-off and
// reported as CrashLoopBackOff with its last termination.
func TestCrashLoopBackOff(t *testing.T) {
	e := newAgentEnv(t, func(c *Config) { c.BackoffBase, c.BackoffMax = time.Second, 4*time.Second })
	pod := e.create(e.newPod("crasher", "sh", "-c", "echo oops; exit 2"))
	p := e.waitPod("crasher", 60*time.Second, func(p *corev1.Pod) error {
		cs := containerStatus(p)
		if cs.GetRestartCount() < 2 || cs.GetState().GetWaiting().GetReason() != WaitCrashLoopBackOff {
			return fmt.Errorf("restarts %d, state %v", cs.GetRestartCount(), cs.GetState())
		}
		return nil
	})
	cs := containerStatus(p)
	if last := cs.GetLastState().GetTerminated(); last.GetExitCode() != 2 || last.GetReason() != "Error" {
		t.Errorf("lastState = %v", cs.GetLastState())
	}
	if !strings.Contains(cs.GetState().GetWaiting().GetMessage(), "back-off") {
		t.Errorf("waiting message = %q", cs.GetState().GetWaiting().GetMessage())
	}
	if p.GetStatus().GetPhase() != PhaseRunning || condition(p, CondReady) != "False" {
		t.Errorf("phase %s Ready %s", p.GetStatus().GetPhase(), condition(p, CondReady))
	}
	e.waitEvents(pod.GetMetadata().GetUid(), ReasonBackOff, ReasonStarted)
	if n := e.events(pod.GetMetadata().GetUid())[ReasonStarted]; n < 2 {
		t.Errorf("Started counted %d times; want the aggregated count of every start", n)
	}
}

// Readiness (exec and HTTP) drives the container's ready flag and the Ready
// condition both ways; a TCP liveness probe on the same server passes.
func TestReadinessProbe(t *testing.T) {
	e := newAgentEnv(t, nil)
	pod := e.newPod("ready", "sh", "-c", "httpd -p 8080 -h /www; sleep 3600")
	c := pod.Spec.Containers[0]
	c.ReadinessProbe = &corev1.Probe{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/ready"}}, PeriodSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1, TimeoutSeconds: 1}
	c.LivenessProbe = &corev1.Probe{TcpSocket: &corev1.TCPSocketAction{Port: 8080}, PeriodSeconds: 1, FailureThreshold: 3, TimeoutSeconds: 1}
	pod = e.create(pod)
	uid := pod.GetMetadata().GetUid()
	e.waitPod("ready", 30*time.Second, func(p *corev1.Pod) error {
		if err := isRunning(false)(p); err != nil {
			return err
		}
		if containerStatus(p).GetReady() || condition(p, CondReady) != "False" {
			return errors.New("ready before the probe passed")
		}
		return nil
	})
	if code, out := e.exec(uid, "touch", "/tmp/ready"); code != 0 {
		t.Fatalf("touch: %d %s", code, out)
	}
	e.waitPod("ready", 20*time.Second, isRunning(true))
	if code, out := e.exec(uid, "rm", "/tmp/ready"); code != 0 {
		t.Fatalf("rm: %d %s", code, out)
	}
	p := e.waitPod("ready", 20*time.Second, func(p *corev1.Pod) error {
		if containerStatus(p).GetReady() || condition(p, CondReady) != "False" {
			return errors.New("still ready")
		}
		return nil
	})
	if containerStatus(p).GetRestartCount() != 0 {
		t.Errorf("readiness failure restarted the container (or liveness failed): %v", containerStatus(p))
	}
	e.waitEvents(uid, ReasonUnhealthy)

	// HTTP readiness against busybox httpd inside the pod's network
	// namespace: 127.0.0.1 there, on a port nothing listens on in the
	// host's, so only a probe from inside the pod can pass.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pod2 := e.newPod("http-ready", "httpd", "-f", "-p", strconv.Itoa(port), "-h", "/www")
	pod2.Spec.Containers[0].ReadinessProbe = &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/index.html", Port: int32(port), Scheme: "HTTP"}, PeriodSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1, TimeoutSeconds: 1}
	e.create(pod2)
	e.waitPod("http-ready", 30*time.Second, isRunning(true))
}

// A failing liveness probe gets the container killed and restarted (a
// restart like any other).
func TestLivenessProbeRestarts(t *testing.T) {
	e := newAgentEnv(t, nil)
	pod := e.newPod("alive", "sh", "-c", "touch /tmp/alive; sleep 3600")
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/alive"}}, PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1}
	pod = e.create(pod)
	uid := pod.GetMetadata().GetUid()
	p := e.waitPod("alive", 30*time.Second, isRunning(true))
	firstID := containerStatus(p).GetContainerId()
	if code, out := e.exec(uid, "rm", "/tmp/alive"); code != 0 {
		t.Fatalf("rm: %d %s", code, out)
	}
	p = e.waitPod("alive", 30*time.Second, func(p *corev1.Pod) error {
		cs := containerStatus(p)
		if cs.GetRestartCount() != 1 || cs.GetState().GetRunning() == nil || cs.GetContainerId() == firstID {
			return fmt.Errorf("restarts %d state %v", cs.GetRestartCount(), cs.GetState())
		}
		return nil
	})
	if last := containerStatus(p).GetLastState().GetTerminated(); last == nil || last.GetExitCode() == 0 {
		t.Errorf("lastState after a liveness kill = %v", containerStatus(p).GetLastState())
	}
	e.waitEvents(uid, ReasonUnhealthy, ReasonKilling)
	// The new run has a fresh root filesystem with /tmp/alive made again.
	e.waitPod("alive", 20*time.Second, isRunning(true))
}

// Deleting a pod stops its container gracefully, removes everything it
// had on the host, then the finalizer; the object disappears.
func TestDeleteCleansUp(t *testing.T) {
	e := newAgentEnv(t, nil)
	before := e.snapshot()
	pod := e.newPod("doomed", "sh", "-c", "trap 'echo bye; exit 0' TERM; while :; do sleep 1 & wait $!; done")
	pod.Spec.Volumes = []*corev1.Volume{{Name: "scratch", EmptyDir: &corev1.EmptyDirVolumeSource{}}, {Name: "mem", EmptyDir: &corev1.EmptyDirVolumeSource{Medium: "Memory", SizeLimit: "1Mi"}}}
	pod.Spec.Containers[0].VolumeMounts = []*corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}, {Name: "mem", MountPath: "/mem"}}
	pod = e.create(pod)
	uid := pod.GetMetadata().GetUid()
	e.waitPod("doomed", 30*time.Second, isRunning(true))
	if code, out := e.exec(uid, "sh", "-c", "echo x > /scratch/f && echo y > /mem/f"); code != 0 {
		t.Fatalf("write volumes: %d %s", code, out)
	}
	during := e.snapshot()
	if during.equal(before) || len(during.mounts) <= len(before.mounts) {
		t.Fatalf("the running pod left no trace to compare: %+v", during)
	}
	run, _ := e.runtimeContainer(uid, "main")
	if err := e.pods.Delete(e.ctx(), "demo", "doomed"); err != nil {
		t.Fatal(err)
	}
	e.waitGone("doomed", 30*time.Second)
	if st, err := e.rt.ContainerStatus(e.ctx(), run.ID); err == nil {
		t.Errorf("container still known to the runtime: %+v", st)
	}
	after := e.snapshot()
	if !after.equal(before) {
		t.Errorf("host state after delete differs:\nbefore %+v\nafter  %+v", before, after)
	}
	if _, err := os.Stat(e.agent.podDir(uid)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pod dir still there: %v", err)
	}
	e.waitEvents(uid, ReasonKilling)
	if err := syscall.Kill(run.Pid, 0); err == nil {
		t.Errorf("container process %d still alive", run.Pid)
	}
}

// An agent restart re-adopts running containers: same container, same PID,
// no restart; exits of adopted containers are still noticed.
func TestAgentRestartReadopts(t *testing.T) {
	e := newAgentEnv(t, nil)
	pod := e.create(e.newPod("survivor", "sleep", "3600"))
	uid := pod.GetMetadata().GetUid()
	p := e.waitPod("survivor", 30*time.Second, isRunning(true))
	before, _ := e.runtimeContainer(uid, "main")
	ctrID := containerStatus(p).GetContainerId()

	e.stop()
	if err := syscall.Kill(before.Pid, 0); err != nil {
		t.Fatalf("container process %d died with the agent: %v", before.Pid, err)
	}
	e.start()

	e.waitPod("survivor", 30*time.Second, isRunning(true))
	// Give the new agent time to act on the pod, then check it kept it.
	poll(t, 10*time.Second, func() error {
		after, ok := e.runtimeContainer(uid, "main")
		switch {
		case !ok:
			return errors.New("no container after restart")
		case after.ID != before.ID || after.Pid != before.Pid || after.State != "running":
			return fmt.Errorf("container changed: before %s pid %d, after %s pid %d %s", before.ID, before.Pid, after.ID, after.Pid, after.State)
		}
		return nil
	})
	p = e.waitPod("survivor", 10*time.Second, isRunning(true))
	if cs := containerStatus(p); cs.GetContainerId() != ctrID || cs.GetRestartCount() != 0 {
		t.Errorf("after restart: %v", cs)
	}
	// The adopted container's exit is noticed and it is restarted.
	if err := syscall.Kill(before.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitPod("survivor", 30*time.Second, func(p *corev1.Pod) error {
		cs := containerStatus(p)
		if cs.GetRestartCount() != 1 || cs.GetState().GetRunning() == nil {
			return fmt.Errorf("restarts %d state %v", cs.GetRestartCount(), cs.GetState())
		}
		if cs.GetLastState().GetTerminated().GetExitCode() != 137 {
			return fmt.Errorf("lastState %v", cs.GetLastState())
		}
		return nil
	})
}

// A pod removed from the store while the agent was down (no finalizer
// left to wait for it) is stopped and cleaned up when the agent comes back.
func TestOrphanSweep(t *testing.T) {
	e := newAgentEnv(t, nil)
	before := e.snapshot()
	pod := e.create(e.newPod("orphan", "sleep", "3600"))
	uid := pod.GetMetadata().GetUid()
	p := e.waitPod("orphan", 30*time.Second, isRunning(true))
	e.stop()
	p.Metadata.Finalizers = nil
	if _, err := e.pods.Update(e.ctx(), p); err != nil {
		t.Fatal(err)
	}
	if err := e.pods.Delete(e.ctx(), "demo", "orphan"); err != nil {
		t.Fatal(err)
	}
	e.waitGone("orphan", 10*time.Second)
	e.start()
	poll(t, 30*time.Second, func() error {
		if _, err := e.rt.Sandbox(e.ctx(), sandboxID(uid)); err == nil {
			return errors.New("orphan sandbox still there")
		}
		if s := e.snapshot(); !s.equal(before) {
			return fmt.Errorf("host state differs:\nbefore %+v\nnow    %+v", before, s)
		}
		return nil
	})
}

// Pods that need VM isolation are refused with a clear status and nothing
// is created for them.
func TestVMIsolationRefused(t *testing.T) {
	e := newAgentEnv(t, nil)
	pod := e.newPod("vm-pod", "sleep", "3600")
	pod.Spec.Isolation = "vm"
	pod = e.create(pod)
	p := e.waitPod("vm-pod", 20*time.Second, func(p *corev1.Pod) error {
		if p.GetStatus().GetReason() != ReasonUnsupported {
			return errors.New("not refused yet")
		}
		return nil
	})
	if p.GetStatus().GetPhase() != PhasePending || !strings.Contains(p.GetStatus().GetMessage(), "vm") {
		t.Errorf("status = %v", p.GetStatus())
	}
	if c := findCondition(p.GetStatus().GetConditions(), CondPodScheduled); c.GetStatus() != "False" || c.GetReason() != "Unschedulable" {
		t.Errorf("PodScheduled = %v", c)
	}
	// Only the binding's finalizer: deleting it below waits for this agent.
	if f := p.GetMetadata().GetFinalizers(); len(f) != 1 || f[0] != Finalizer {
		t.Errorf("finalizers on a refused pod: %v", f)
	}
	if _, err := e.rt.Sandbox(e.ctx(), sandboxID(pod.GetMetadata().GetUid())); err == nil {
		t.Errorf("a sandbox was created for a refused pod")
	}
	if err := e.pods.Delete(e.ctx(), "demo", "vm-pod"); err != nil {
		t.Fatal(err)
	}
	e.waitGone("vm-pod", 10*time.Second)
}

// A missing image: ErrImagePull with the registry's message, then
// ImagePullBackOff, and Failed events.
func TestImagePullBackOff(t *testing.T) {
	e := newAgentEnv(t, func(c *Config) { c.BackoffBase, c.BackoffMax = 3*time.Second, 10*time.Second })
	pod := e.newPod("no-image", "true")
	pod.Spec.Containers[0].Image = e.reg + "/missing:1"
	pod = e.create(pod)
	seen := map[string]string{}
	e.waitPod("no-image", 30*time.Second, func(p *corev1.Pod) error {
		w := containerStatus(p).GetState().GetWaiting()
		if w.GetReason() == WaitErrImagePull || w.GetReason() == WaitImagePullBackOff {
			seen[w.GetReason()] = w.GetMessage()
		}
		if len(seen) < 2 {
			return fmt.Errorf("seen %v", seen)
		}
		return nil
	})
	for reason, msg := range seen {
		if !strings.Contains(strings.ToLower(msg), "missing") || !strings.Contains(strings.ToLower(msg), "unknown") && !strings.Contains(strings.ToLower(msg), "not found") {
			t.Errorf("%s message does not carry the registry's: %q", reason, msg)
		}
	}
	e.waitEvents(pod.GetMetadata().GetUid(), ReasonPulling, ReasonFailed, ReasonBackOff)
	// The pod can still be deleted (its pulls stop).
	if err := e.pods.Delete(e.ctx(), "demo", "no-image"); err != nil {
		t.Fatal(err)
	}
	e.waitGone("no-image", 20*time.Second)
}

// With the API server down the agent keeps its pods going: a container
// that dies is restarted; the status catches up once the server is back.
func TestRestartsWhileAPIServerDown(t *testing.T) {
	e := newAgentEnv(t, nil)
	pod := e.create(e.newPod("steady", "sleep", "3600"))
	uid := pod.GetMetadata().GetUid()
	e.waitPod("steady", 30*time.Second, isRunning(true))
	first, _ := e.runtimeContainer(uid, "main")

	e.api.Stop()
	if err := syscall.Kill(first.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll(t, 30*time.Second, func() error {
		run, ok := e.runtimeContainer(uid, "main")
		if !ok || run.Attempt != 1 || run.State != "running" {
			return fmt.Errorf("no new run yet: %+v", run)
		}
		return nil
	})

	apiservertest.Run(t, e.api.Config)
	e.waitPod("steady", 60*time.Second, func(p *corev1.Pod) error {
		if err := isRunning(true)(p); err != nil {
			return err
		}
		if n := containerStatus(p).GetRestartCount(); n != 1 {
			return fmt.Errorf("restartCount %d", n)
		}
		return nil
	})
}

// A pod whose disk emptyDir holds more than its sizeLimit is evicted like
// the kubelet does it: its container is stopped, not restarted, and the pod
// ends Failed with reason Evicted and an event saying which volume. A pod
// under its limit keeps running.
func TestEmptyDirSizeLimitEvicts(t *testing.T) {
	e := newAgentEnv(t, func(c *Config) { c.VolumeCheckInterval = 100 * time.Millisecond })
	withVolume := func(name, write string) *corev1.Pod {
		pod := e.newPod(name, "sh", "-c", "dd if=/dev/zero of=/cache/fill bs=1024 count="+write+" && sleep 3600")
		pod.Spec.Volumes = []*corev1.Volume{{Name: "cache", EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: "1Mi"}}}
		pod.Spec.Containers[0].VolumeMounts = []*corev1.VolumeMount{{Name: "cache", MountPath: "/cache"}}
		return e.create(pod)
	}
	small := withVolume("small", "256")
	big := withVolume("big", "4096")
	uid := big.GetMetadata().GetUid()

	p := e.waitPod("big", 30*time.Second, func(p *corev1.Pod) error {
		if st := p.GetStatus(); st.GetPhase() != PhaseFailed || st.GetReason() != ReasonEvicted {
			return fmt.Errorf("phase %q reason %q", st.GetPhase(), st.GetReason())
		}
		return nil
	})
	if msg := p.GetStatus().GetMessage(); !strings.Contains(msg, `EmptyDir volume "cache" exceeds the limit "1Mi"`) {
		t.Errorf("message = %q", msg)
	}
	e.waitEvents(uid, ReasonEvicted)
	run, ok := e.runtimeContainer(uid, "main")
	if !ok || run.State != runtime.StateExited {
		t.Fatalf("evicted pod's container: %+v (found %v), want exited", run, ok)
	}
	// Ended for good (no restart although restartPolicy is Always), while
	// the pod under its limit keeps running through many checks.
	e.waitPod("small", 30*time.Second, isRunning(false))
	testutil.Consistently(t, time.Second, "the evicted pod stays ended, the small one runs", func() (bool, string) {
		got, ok := e.runtimeContainer(uid, "main")
		if !ok || got.ID != run.ID || got.State != runtime.StateExited {
			return false, fmt.Sprintf("the evicted container came back: %+v", got)
		}
		p, err := e.pods.Get(e.ctx(), "demo", "big")
		if err != nil || p.GetStatus().GetPhase() != PhaseFailed {
			return false, fmt.Sprintf("evicted pod: %v %v", p.GetStatus(), err)
		}
		s, err := e.pods.Get(e.ctx(), "demo", "small")
		if err != nil || s.GetStatus().GetPhase() != PhaseRunning || s.GetMetadata().GetUid() != small.GetMetadata().GetUid() {
			return false, fmt.Sprintf("the pod under its limit: %v %v", s.GetStatus(), err)
		}
		return true, ""
	})
}
