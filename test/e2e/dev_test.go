package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/internal/testutil"
)

// binaries builds pacific, pacific-shim and pacctl once per test binary.
type binaries struct{ pacific, pacctl, shim string }

var (
	buildOnce sync.Once
	built     binaries
	buildErr  error
)

func build(t *testing.T) binaries {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pacific-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		// pacific-shim next to pacific, as hack/dev.sh installs it: the
		// host agent's containers run under it.
		built = binaries{pacific: filepath.Join(dir, "pacific"), pacctl: filepath.Join(dir, "pacctl"), shim: filepath.Join(dir, "pacific-shim")}
		for bin, pkg := range map[string]string{built.pacific: "../../cmd/pacific", built.pacctl: "../../cmd/pacctl"} {
			out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
		buildErr = testutil.BuildShim(built.shim)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.pacific != "" {
		os.RemoveAll(filepath.Dir(built.pacific))
	}
	os.Exit(code)
}

type devProcess struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan error
	config string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDev runs `pacific dev` and waits until it serves.
func startDev(t *testing.T, bins binaries, dataDir, listen string, extra ...string) *devProcess {
	t.Helper()
	p := &devProcess{out: &syncBuffer{}, done: make(chan error, 1), config: filepath.Join(dataDir, "pacctl.yaml")}
	p.cmd = exec.Command(bins.pacific, append([]string{"dev", "--data-dir", dataDir, "--listen", listen}, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			// As a user would: Ctrl-C, so that it releases its run dir.
			p.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
			}
		}
		// A killed dev leaves its mounts (the run dir's tmpfs, pods'
		// namespaces and root filesystems): the temp dir needs them gone.
		mps := mountsUnder(t, dataDir)
		for i := len(mps) - 1; i >= 0; i-- {
			t.Logf("unmounting %s left by pacific dev", mps[i])
			if err := unix.Unmount(mps[i], unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", mps[i], err)
			}
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.out.String(), "Pacific dev is running") {
		select {
		case err := <-p.done:
			t.Fatalf("pacific dev exited early: %v\n%s", err, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("pacific dev did not come up:\n%s", p.out.String())
		}
	}
	return p
}

// stop sends SIGINT and waits for a clean exit.
func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("pacific dev exited with %v after SIGINT\n%s", err, p.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("pacific dev did not drain after SIGINT\n%s", p.out.String())
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func pacctl(t *testing.T, bins binaries, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.pacctl, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("pacctl %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

const demoNamespace = `apiVersion: core.pacific.dev/v1
kind: Namespace
metadata:
  name: demo
  labels: {team: a}
`

func TestDevQuickstart(t *testing.T) {
	bins := build(t)
	dataDir := t.TempDir()
	listen := testutil.UnusedLoopbackAddr(t)
	dev := startDev(t, bins, dataDir, listen)
	cfg := "--config=" + dev.config

	// Watch first, so the create below must arrive as a change.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := exec.CommandContext(ctx, bins.pacctl, cfg, "get", "namespaces", "-w")
	stdout, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	r := pacctl(t, bins, nil, demoNamespace, cfg, "apply", "-f", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "namespace/demo created") {
		t.Fatalf("apply: code=%d stdout=%q stderr=%q", r.code, r.stdout, r.stderr)
	}
	waitLine(t, lines, "demo")
	cancel()
	watch.Wait()

	// The same with an unknown field is refused, naming it.
	bogus := strings.Replace(demoNamespace, "labels: {team: a}", "labels: {team: a}\nspec:\n  bogus: 1", 1)
	r = pacctl(t, bins, nil, bogus, cfg, "apply", "-f", "-")
	if r.code == 0 || !strings.Contains(r.stderr, "spec.bogus") {
		t.Fatalf("bogus apply: code=%d stderr=%q", r.code, r.stderr)
	}

	// PACCTL_CONFIG selects the target too; -o json shows the object.
	r = pacctl(t, bins, []string{"PACCTL_CONFIG=" + dev.config}, "", "get", "namespace", "demo", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"team": "a"`) {
		t.Fatalf("get -o json: code=%d stdout=%q stderr=%q", r.code, r.stdout, r.stderr)
	}

	// Restart keeps data.
	dev.stop(t)
	dev = startDev(t, bins, dataDir, listen)
	r = pacctl(t, bins, nil, "", cfg, "get", "namespaces")
	if r.code != 0 || !strings.Contains(r.stdout, "demo") {
		t.Fatalf("after restart: code=%d stdout=%q stderr=%q", r.code, r.stdout, r.stderr)
	}

	// Deleting the namespace goes through the namespace controller.
	r = pacctl(t, bins, nil, "", cfg, "delete", "namespace", "demo")
	if r.code != 0 {
		t.Fatalf("delete: code=%d stderr=%q", r.code, r.stderr)
	}
	poll(t, 30*time.Second, func() (bool, string) {
		r = pacctl(t, bins, nil, "", cfg, "get", "namespace", "demo")
		return r.code != 0 && strings.Contains(r.stderr, "not found"), r.stdout + r.stderr
	})
	dev.stop(t)

	// Unreachable server: exit ≠ 0 naming the address.
	r = pacctl(t, bins, nil, "", cfg, "get", "namespaces")
	if r.code == 0 || !strings.Contains(r.stderr, listen) {
		t.Fatalf("unreachable: code=%d stderr=%q", r.code, r.stderr)
	}
}

func waitLine(t *testing.T, lines <-chan string, substr string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("watch ended before %q; saw %q", substr, seen)
			}
			seen = append(seen, l)
			if strings.Contains(l, substr) {
				return
			}
		case <-timeout:
			t.Fatalf("no line with %q; saw %q", substr, seen)
		}
	}
}

// poll runs cond (typically a pacctl command) every 100ms until it holds
// or the deadline passes.
func poll(t *testing.T, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	testutil.EventuallyEvery(t, within, 100*time.Millisecond, "condition", cond)
}
