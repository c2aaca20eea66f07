package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/sim"
)

// kubeSchedulerReference is kube-scheduler's own CI floor (scheduler_perf,
// SchedulingBasic at 5,000 nodes): see README.md. It is not run here.
const kubeSchedulerReference = 680.0

// stallAfter ends the wait for bindings when none came for this long.
const stallAfter = 20 * time.Second

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp(o.dir, "bench-scheduler-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("bench/scheduler: %d simulated hosts in %d zones, %d pods; state in %s\n", o.hosts, o.zones, o.pods, dir)
	bin, err := buildPacific(ctx, dir)
	if err != nil {
		return err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return err
	}
	raftAddr, err := freeAddr()
	if err != nil {
		return err
	}
	tlsDir := filepath.Join(dir, "pki")
	if err := benchPKI(tlsDir); err != nil {
		return err
	}
	level := o.logLevel.String()
	adminConfig := filepath.Join(dir, "admin.yaml")
	api, err := startProc("apiserver", bin, filepath.Join(dir, "apiserver.log"), "apiserver", "--log-level", level,
		"--data-dir", filepath.Join(dir, "apiserver"), "--listen", apiAddr, "--raft-addr", raftAddr, "--bootstrap",
		"--admin-config", adminConfig, "--tls-dir", tlsDir, "--tls-name", "apiserver")
	if err != nil {
		return err
	}
	defer api.stop()
	c, err := waitAPI(ctx, adminConfig, api)
	if err != nil {
		return err
	}
	defer c.Close()
	schedToken := filepath.Join(dir, "scheduler.token")
	tok, err := authv1.NewAuthServiceClient(c.Conn()).IssueToken(ctx, &authv1.IssueTokenRequest{User: "system:scheduler", TtlSeconds: 24 * 3600})
	if err != nil {
		return fmt.Errorf("issue the scheduler's token: %w", err)
	}
	if err := os.WriteFile(schedToken, []byte(tok.GetAccessToken()), 0o600); err != nil {
		return err
	}

	// Hosts first, so the scheduler starts with all of them.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel}))
	fleet, err := sim.New(sim.Config{Client: c, Logger: logger, CPUMillis: hostCPUMilli, MemoryBytes: hostMemBytes, LeasesOnly: !o.runPods})
	if err != nil {
		return err
	}
	hostCfgs := make([]sim.HostConfig, o.hosts)
	for i := range hostCfgs {
		hostCfgs[i] = sim.HostConfig{Name: fmt.Sprintf("sim-%05d", i), Labels: map[string]string{zoneLabel: fmt.Sprintf("zone-%d", i%o.zones)}}
	}
	t0 := time.Now()
	if err := fleet.AddHosts(ctx, hostCfgs); err != nil {
		return fmt.Errorf("register hosts: %w", err)
	}
	fmt.Printf("registered %d hosts in %.1fs\n", o.hosts, time.Since(t0).Seconds())
	fleetCtx, stopFleet := context.WithCancel(ctx)
	defer stopFleet()
	if o.fleet {
		go func() { _ = fleet.Run(fleetCtx) }()
	}

	schedArgs := []string{"scheduler", "--log-level", level, "--server", apiAddr, "--token-file", schedToken, "--tls-dir", tlsDir, "--identity", "bench", "--lease-duration", "5s"}
	if o.bindWorkers > 0 {
		schedArgs = append(schedArgs, "--bind-workers", strconv.Itoa(o.bindWorkers))
	}
	if o.percent > 0 {
		schedArgs = append(schedArgs, "--percentage-of-hosts-to-score", strconv.Itoa(o.percent))
	}
	sched, err := startProc("scheduler", bin, filepath.Join(dir, "scheduler.log"), schedArgs...)
	if err != nil {
		return err
	}
	defer sched.stop()
	if _, err := client.For[*corev1.Namespace](c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: namespace}}); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	if err := waitSchedulerReady(ctx, c, sched, o.hosts); err != nil {
		return err
	}

	pods := podMix(o.pods, o.seed)
	res, err := place(ctx, c, pods, o.creators, []*proc{api, sched})
	if err != nil {
		return err
	}
	stopFleet()

	hosts, _, err := client.For[*corev1.Host](c).ListAll(ctx, client.ListOptions{})
	if err != nil {
		return err
	}
	stored, _, err := client.For[*corev1.Pod](c).ListAll(ctx, client.ListOptions{Namespace: namespace})
	if err != nil {
		return err
	}
	violations, unbound := check(hosts, stored)
	for _, p := range stored {
		if p.GetSpec().GetNodeName() == "" {
			fmt.Printf("  unbound %s: %s\n", p.GetMetadata().GetName(), p.GetStatus().GetSchedulingExplanation())
			break
		}
	}
	for i, v := range violations {
		if i == 20 {
			fmt.Printf("  ... and %d more\n", len(violations)-20)
			break
		}
		fmt.Println("  VIOLATION", v)
	}
	res.print(o)
	fmt.Printf("checker: %d pods, %d hosts, %d violations, %d unbound\n", len(stored), len(hosts), len(violations), unbound)
	if unbound > 0 {
		violations = append(violations, fmt.Sprintf("%d pods unbound", unbound))
	}
	fmt.Printf("RESULT sched_pods_per_s=%.0f sched_violations=%d sched_p99_ms=%.1f\n", res.podsPerSec, len(violations), res.p99ms)
	return nil
}

// waitAPI waits for the API server's cluster-admin config and returns a
// client using it once the server answers.
func waitAPI(ctx context.Context, adminConfig string, api *proc) (*client.Client, error) {
	deadline := time.Now().Add(60 * time.Second)
	var c *client.Client
	for {
		var err error
		if c == nil {
			var cfg *client.Config
			if cfg, err = client.LoadConfigFile(adminConfig); err == nil {
				var opts client.Options
				if opts, err = cfg.Options(""); err == nil {
					c, err = client.New(opts)
				}
			}
		}
		if c != nil {
			if _, err = c.Discovery().ListKinds(ctx, &corev1.ListKindsRequest{}); err == nil {
				return c, nil
			}
		}
		if e := api.exited(); e != nil {
			return nil, e
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("API server not serving after 60s: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitSchedulerReady waits until the scheduler leads and has placed a
// probe pod (so its caches hold every host).
func waitSchedulerReady(ctx context.Context, c *client.Client, sched *proc, hosts int) error {
	pods := client.For[*corev1.Pod](c)
	probe := &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: "probe", Namespace: namespace},
		Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "main", Image: "busybox:1"}}},
	}
	if _, err := pods.Create(ctx, probe); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := pods.Get(ctx, namespace, "probe")
		if err == nil && p.GetSpec().GetNodeName() != "" {
			break
		}
		if e := sched.exited(); e != nil {
			return e
		}
		if time.Now().After(deadline) {
			return errors.New("scheduler placed no probe pod within 60s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := pods.Delete(ctx, namespace, "probe"); err != nil {
		return err
	}
	// Bound, it carries the host agent's finalizer, and the simulated
	// hosts here run no pods (-run-pods off): release it as an agent would.
	p, err := pods.Get(ctx, namespace, "probe")
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !apis.RemoveFinalizer(p.GetMetadata(), apis.HostAgentFinalizer) {
		return nil
	}
	if _, err := pods.Update(ctx, p); err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("release the probe pod: %w", err)
	}
	return nil
}

type results struct {
	pods       int
	elapsed    time.Duration
	podsPerSec float64
	lat        []time.Duration
	p50ms      float64
	p99ms      float64
	createdIn  time.Duration
	usage      map[string][2]usage // before, after
	wall       time.Duration
}

// place creates the pods with `creators` concurrent creates and waits for
// a watch to see every one bound.
func place(ctx context.Context, c *client.Client, pods []*corev1.Pod, creators int, procs []*proc) (*results, error) {
	typed := client.For[*corev1.Pod](c)
	list, err := typed.List(ctx, client.ListOptions{Namespace: namespace, Limit: 1})
	if err != nil {
		return nil, err
	}
	w, err := typed.Watch(ctx, client.WatchOptions{Namespace: namespace, ResourceVersion: list.ResourceVersion})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	res := &results{pods: len(pods), usage: map[string][2]usage{}}
	before := map[string]usage{}
	self, err := readUsage(os.Getpid())
	if err != nil {
		return nil, err
	}
	before["bench"] = self
	for _, p := range procs {
		u, err := readUsage(p.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		before[p.name] = u
	}
	var mu sync.Mutex
	created := map[string]time.Time{}
	bound := map[string]time.Time{}
	start := time.Now()
	work := make(chan *corev1.Pod)
	errs := make(chan error, creators)
	var wg sync.WaitGroup
	for range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				t := time.Now()
				if _, err := typed.Create(ctx, p); err != nil {
					errs <- fmt.Errorf("create %s: %w", p.GetMetadata().GetName(), err)
					return
				}
				mu.Lock()
				created[p.GetMetadata().GetName()] = t
				mu.Unlock()
			}
		}()
	}
	go func() {
		defer close(work)
		for _, p := range pods {
			select {
			case work <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	createsDone := make(chan struct{})
	go func() {
		wg.Wait()
		res.createdIn = time.Since(start)
		close(createsDone)
	}()
	var last time.Time
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	stalled := false
	for len(bound) < len(pods) && !stalled {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return nil, fmt.Errorf("watch ended: %w", w.Err())
			}
			if ev.Object == nil || ev.Object.GetSpec().GetNodeName() == "" {
				continue
			}
			name := ev.Object.GetMetadata().GetName()
			if _, seen := bound[name]; !seen {
				last = time.Now()
				bound[name] = last
			}
		case err := <-errs:
			return nil, err
		case <-progress.C:
			mu.Lock()
			fmt.Printf("  %5.1fs: %d created, %d bound\n", time.Since(start).Seconds(), len(created), len(bound))
			allCreated := len(created) == len(pods)
			mu.Unlock()
			// Pods no host fits stay Pending: stop waiting once nothing
			// moved for a while after the last create.
			if allCreated && time.Since(last) > stallAfter {
				fmt.Printf("no binding for %s: %d pods stay unbound\n", stallAfter, len(pods)-len(bound))
				stalled = true
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d pods bound when the run timed out: %w", len(bound), len(pods), ctx.Err())
		}
	}
	<-createsDone
	if len(bound) == 0 {
		return nil, errors.New("no pod was bound")
	}
	res.elapsed = last.Sub(start)
	res.podsPerSec = float64(len(pods)) / res.elapsed.Seconds()
	for name, b := range bound {
		res.lat = append(res.lat, b.Sub(created[name]))
	}
	slices.Sort(res.lat)
	res.p50ms = ms(percentile(res.lat, 0.5))
	res.p99ms = ms(percentile(res.lat, 0.99))
	res.wall = time.Since(start)
	self, err = readUsage(os.Getpid())
	if err != nil {
		return nil, err
	}
	res.usage["bench"] = [2]usage{before["bench"], self}
	for _, p := range procs {
		u, err := readUsage(p.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		res.usage[p.name] = [2]usage{before[p.name], u}
	}
	return res, nil
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e5) / 10 }

func (r *results) print(o options) {
	fmt.Printf("placed %d pods in %.2fs (first create → last binding seen): %.0f pods/s; creates took %.2fs\n",
		r.pods, r.elapsed.Seconds(), r.podsPerSec, r.createdIn.Seconds())
	fmt.Printf("create → bound latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.p50ms, r.p99ms, ms(r.lat[len(r.lat)-1]))
	for _, name := range []string{"apiserver", "scheduler", "bench"} {
		u := r.usage[name]
		cpu := u[1].cpu - u[0].cpu
		fmt.Printf("%-9s CPU %.2fs over %.2fs (%.2f cores), RSS %d MiB (peak %d MiB)\n", name, cpu.Seconds(), r.wall.Seconds(),
			cpu.Seconds()/r.wall.Seconds(), u[1].rss>>20, u[1].hwm>>20)
	}
	fmt.Println("(bench = this process: pod creates, the watch, and the simulated hosts' lease renewals)")
	fmt.Printf("reference: kube-scheduler's CI floor is %.0f pods/s at 5,000 nodes (not run here; see README): ratio %.2f\n",
		kubeSchedulerReference, r.podsPerSec/kubeSchedulerReference)
}

// benchPKI writes a CA and the API server's and scheduler's certificates
// into dir (what 'pacific ca init/issue' do); the API server puts the CA
// into the admin config this process reads.
func benchPKI(dir string) error {
	ca, err := pki.NewCA("bench-scheduler-ca")
	if err != nil {
		return err
	}
	if err := ca.Save(dir); err != nil {
		return err
	}
	for name, who := range map[string][]string{
		"apiserver": {grpcserver.APIServerUserPrefix + "apiserver-0", grpcserver.GroupAPIServers},
		"scheduler": {grpcserver.UserScheduler},
	} {
		b, err := ca.LoopbackBundle(who[0], who[1:]...)
		if err != nil {
			return err
		}
		if err := b.Identity.Save(dir, name); err != nil {
			return err
		}
	}
	return nil
}
