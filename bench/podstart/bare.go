package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
)

// bareRunc is the baseline: runc itself on bundles with the same busybox
// rootfs (one read-only copy, shared) and runc's default spec, state under
// its own --root.
type bareRunc struct {
	runc    string
	root    string // runc --root
	bundles string // one bundle dir per container
	cgroup  string
	spec    specs.Spec

	meter *cpuMeter // nil: CPU time not measured
	// specKind says where spec came from: "pod's spec" or "runc spec default".
	specKind string

	mu   sync.Mutex
	live map[string]bool // started, not yet deleted
}

// Kinds of bare start.
const (
	bareRun   = "run -d"         // `runc run -d`: returns once the process runs
	bareSplit = "create + start" // `runc create` then `runc start`, as the runtime's shim and agent do
)

// newBareRunc prepares the baseline: a rootfs unpacked from img and, as the
// spec, podSpec (a pod container's config.json) with fresh namespaces
// instead of the pod sandbox's, or runc's default spec when podSpec is nil.
// runcRoot is runc's --root, on the same tmpfs as the runtime's.
func newBareRunc(ctx context.Context, runcPath, dir, runcRoot, cgroup string, img v1.Image, podSpec []byte, meter *cpuMeter) (*bareRunc, error) {
	b := &bareRunc{
		runc:    runcPath,
		root:    runcRoot,
		bundles: filepath.Join(dir, "bare", "bundles"),
		cgroup:  cgroup,
		meter:   meter,
		live:    map[string]bool{},
	}
	rootfs := filepath.Join(dir, "bare", "rootfs")
	for _, d := range []string{rootfs, b.root, b.bundles} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := extractImage(img, rootfs); err != nil {
		return nil, fmt.Errorf("unpack busybox rootfs: %w", err)
	}
	// runc rejects a symlinked rootfs: use the real path.
	real, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return nil, err
	}
	if podSpec != nil {
		if err := json.Unmarshal(podSpec, &b.spec); err != nil {
			return nil, fmt.Errorf("pod container's config.json: %w", err)
		}
		if b.spec.Linux == nil || b.spec.Process == nil || b.spec.Root == nil {
			return nil, errors.New("pod container's config.json has no process, root or linux section")
		}
		// The pod's sandbox is gone: new namespaces of the same kinds.
		for i := range b.spec.Linux.Namespaces {
			b.spec.Linux.Namespaces[i].Path = ""
		}
		b.specKind = "pod's spec"
	} else {
		specDir := filepath.Join(dir, "bare")
		if out, err := exec.CommandContext(ctx, runcPath, "spec", "--bundle", specDir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("runc spec: %w: %s", err, bytes.TrimSpace(out))
		}
		raw, err := os.ReadFile(filepath.Join(specDir, "config.json"))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &b.spec); err != nil {
			return nil, fmt.Errorf("runc spec output: %w", err)
		}
		b.specKind = "runc spec default"
	}
	// The same workload as the pods, detached (no terminal).
	b.spec.Root.Path = real
	b.spec.Process.Terminal = false
	b.spec.Process.Args = []string{"sleep", "3600"}
	b.spec.Process.Env = []string{"PATH=/bin"}
	if c := b.spec.Process.Capabilities; c != nil {
		c.Ambient = nil // else newer runc warns about ambient capabilities
	}
	return b, nil
}

// bundle writes container id's bundle (the spec with its own cgroup) and
// returns its dir.
func (b *bareRunc) bundle(id string) (string, error) {
	spec := b.spec
	linux := *spec.Linux
	linux.CgroupsPath = b.cgroup + "/" + id
	spec.Linux = &linux
	raw, err := json.MarshalIndent(&spec, "", "  ")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(b.bundles, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o600)
}

// bareStart is one prepared start: its bundle is written and its output
// file open, so that only runc runs while it is timed.
type bareStart struct {
	runc, root  string
	out         *os.File
	invocations [][]string
}

// prepare writes container id's bundle and opens its output file.
func (b *bareRunc) prepare(id, kind string) (*bareStart, error) {
	dir, err := b.bundle(id)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.live[id] = true
	b.mu.Unlock()
	// Output goes to a file, not a pipe: the detached container keeps its
	// stdio open, and a pipe would make Wait block until it exits.
	out, err := os.Create(filepath.Join(dir, "runc.out"))
	if err != nil {
		return nil, err
	}
	s := &bareStart{runc: b.runc, root: b.root, out: out}
	if kind == bareSplit {
		s.invocations = [][]string{{"create", "--bundle", dir, id}, {"start", id}}
	} else {
		s.invocations = [][]string{{"run", "-d", "--bundle", dir, id}}
	}
	return s, nil
}

func (s *bareStart) close() { s.out.Close() }

// run runs the start's runc invocations one after another and returns
// their total time.
func (s *bareStart) run(ctx context.Context) (time.Duration, error) {
	var total time.Duration
	for _, args := range s.invocations {
		cmd := exec.CommandContext(ctx, s.runc, append([]string{"--root", s.root}, args...)...)
		cmd.Stdout, cmd.Stderr = s.out, s.out
		start := time.Now()
		err := cmd.Run()
		total += time.Since(start)
		if err != nil {
			msg, _ := os.ReadFile(s.out.Name())
			return 0, fmt.Errorf("runc %s %s: %w: %s", args[0], args[len(args)-1], err, bytes.TrimSpace(msg))
		}
	}
	return total, nil
}

// sequential times n starts one after another, each followed by an
// unmeasured `runc delete -f`.
func (b *bareRunc) sequential(ctx context.Context, n int, kind string, log *slog.Logger) ([]sample, error) {
	log.Info("bare runc "+kind+" of busybox sleep 3600, then delete -f, one at a time", "runs", n)
	var out []sample
	for i := range n {
		id := fmt.Sprintf("podstart-bare-%d-%s-%03d", os.Getpid(), kind[:3], i)
		s, err := b.prepare(id, kind)
		if err != nil {
			return nil, err
		}
		cpu0 := b.meter.now()
		d, err := s.run(ctx)
		s.close()
		if err != nil {
			return nil, err
		}
		out = append(out, sample{latency: d, cpu: b.meter.since(cpu0)})
		if err := b.delete(ctx, id); err != nil {
			return nil, err
		}
		if (i+1)%25 == 0 || i+1 == n {
			log.Info("bare runc "+kind, "done", i+1, "of", n, "last_ms", ms(d), "p50_ms", ms(percentile(latencies(out), 0.5)))
		}
	}
	return out, nil
}

// concurrent times n `runc run -d` started at once, each from the moment
// all were released (as the pods at once are), then deletes them. The
// bundles are written before: a goroutine that wrote its bundle while
// earlier runc processes kept the CPUs busy started its own clock up to
// ~50 ms late.
func (b *bareRunc) concurrent(ctx context.Context, n int, log *slog.Logger) ([]sample, error) {
	log.Info("bare runc run -d, all at once, each timed from the release", "runs", n)
	out := make([]sample, n)
	errs := make([]error, n)
	starts := make([]*bareStart, n)
	defer func() {
		for _, s := range starts {
			if s != nil {
				s.close()
			}
		}
	}()
	for i := range n {
		s, err := b.prepare(fmt.Sprintf("podstart-bare-%d-conc-%03d", os.Getpid(), i), bareRun)
		if err != nil {
			return nil, err
		}
		starts[i] = s
	}
	release := make(chan struct{})
	var released time.Time
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-release
			_, errs[i] = starts[i].run(ctx)
			out[i].latency = time.Since(released)
		})
	}
	// Wall and CPU time of the same span: the bundles' writing is in neither.
	cpu0 := b.meter.now()
	released = time.Now()
	close(release)
	wg.Wait()
	cpu := b.meter.since(cpu0)
	for i := range n {
		out[i].cpu = cpu.div(n) // only the batch's total is known
	}
	for i := range n {
		wg.Go(func() { b.delete(ctx, fmt.Sprintf("podstart-bare-%d-conc-%03d", os.Getpid(), i)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	log.Info("bare runc run -d, all at once", "runs", n, "p50_ms", ms(percentile(latencies(out), 0.5)))
	return out, nil
}

// delete removes container id and its bundle.
func (b *bareRunc) delete(ctx context.Context, id string) error {
	out, err := exec.CommandContext(ctx, b.runc, "--root", b.root, "delete", "-f", id).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "does not exist") {
		return fmt.Errorf("runc delete %s: %w: %s", id, err, bytes.TrimSpace(out))
	}
	b.mu.Lock()
	delete(b.live, id)
	b.mu.Unlock()
	return os.RemoveAll(filepath.Join(b.bundles, id))
}

// close deletes containers still there and the baseline's cgroups; the
// rootfs and state live under the benchmark's dir, removed later.
func (b *bareRunc) close(ctx context.Context, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var errs []error
	b.mu.Lock()
	var ids []string
	for id := range b.live {
		ids = append(ids, id)
	}
	b.mu.Unlock()
	for _, id := range ids {
		errs = append(errs, b.delete(ctx, id))
	}
	if hs, err := cgroups.Hierarchies(); err == nil {
		errs = append(errs, cgroups.Remove(ctx, hs, b.cgroup))
	}
	if err := errors.Join(errs...); err != nil {
		log.Warn("clean-up: bare runc", "err", err)
	}
}
