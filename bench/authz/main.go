package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/authz"
)

type options struct {
	duration time.Duration
	rounds   int
	clients  int
	conns    int
	cpuProf  string
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 500*time.Millisecond, "length of each measured phase")
	flag.IntVar(&o.rounds, "rounds", 12, "off/on phase pairs (many short alternating phases spread a busy machine's noise evenly)")
	flag.IntVar(&o.clients, "clients", 32, "concurrent callers")
	flag.IntVar(&o.conns, "conns", 4, "gRPC connections the callers share")
	flag.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile of the auth-on phases here")
	flag.Parse()
	if o.duration <= 0 || o.rounds <= 0 || o.clients <= 0 || o.conns <= 0 {
		fmt.Fprintln(os.Stderr, "authz: -duration, -rounds, -clients and -conns must be positive")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "authz:", err)
		os.Exit(1)
	}
}

// target is one running server and client options for the measured user.
type target struct {
	name string
	opts client.Options
	stop func()
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "bench-authz-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	off, err := start(ctx, dir+"/off", false)
	if err != nil {
		return err
	}
	defer off.stop()
	on, err := start(ctx, dir+"/on", true)
	if err != nil {
		return err
	}
	defer on.stop()

	rates := map[string][]float64{}
	for r := range o.rounds {
		order := []*target{off, on}
		if r%2 == 1 { // neither side always goes first
			order = []*target{on, off}
		}
		for _, t := range order {
			stop := func() {}
			if t.name == "on" && o.cpuProf != "" {
				var err error
				if stop, err = startProfile(o.cpuProf, r); err != nil {
					return err
				}
			}
			rate, err := measure(ctx, t, o)
			stop() // the profile covers this auth-on phase only
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			rates[t.name] = append(rates[t.name], rate)
		}
	}
	offRate, onRate := mean(rates["off"]), mean(rates["on"])
	fmt.Printf("auth off: %.0f gets/s (median %.0f); auth on: %.0f gets/s (median %.0f); %d phase pairs of %s, %d clients\n",
		offRate, median(rates["off"]), onRate, median(rates["on"]), o.rounds, o.duration, o.clients)
	fmt.Printf("RESULT authz_overhead_ratio=%.2f gets_per_s_on=%.0f gets_per_s_off=%.0f clients=%d\n", onRate/offRate, onRate, offRate, o.clients)
	return nil
}

// start runs one API server replica with auth on or off, creates namespace
// demo with pod web, and (auth on) a viewer binding for user "bench".
func start(ctx context.Context, dir string, auth bool) (*target, error) {
	apiTLS, clientTLS, err := pki.Ephemeral(grpcserver.APIServerUserPrefix+"bench", grpcserver.GroupAPIServers)
	if err != nil {
		return nil, err
	}
	cfg := apiserver.Config{ID: "bench", DataDir: dir, Listen: "127.0.0.1:0", Bootstrap: true, Logger: slog.New(slog.DiscardHandler), TLS: apiTLS}
	var tokens *authz.Service
	if auth {
		cfg.Auth = func(_ context.Context, env apiserver.AuthEnv) (apiserver.AuthHooks, error) {
			s, err := authz.New(authz.Config{Records: env.Records, Logger: cfg.Logger})
			if err != nil {
				return apiserver.AuthHooks{}, err
			}
			tokens = s
			return apiserver.AuthHooks{Authenticator: grpcserver.Chain(s), PublicMethods: authz.PublicMethods(), Register: s.Register,
				PeerCredentials: s.PeerCredentials(env.ReplicaID), Run: s.Run}, nil
		}
	}
	srvCtx, cancel := context.WithCancel(ctx)
	srv, err := apiserver.New(srvCtx, cfg)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = srv.Run(srvCtx); close(done) }()
	t := &target{name: "off", opts: client.Options{Servers: []string{srv.Addr()}, TLS: clientTLS}, stop: func() { cancel(); <-done }}
	if err := srv.Store().WaitLeader(ctx); err != nil {
		t.stop()
		return nil, err
	}
	admin := t.opts
	if auth {
		t.name = "on"
		adminTok, err := issue(ctx, tokens, "admin", grpcserver.GroupMasters)
		if err != nil {
			t.stop()
			return nil, err
		}
		admin.Token = adminTok
		if t.opts.Token, err = issue(ctx, tokens, "bench"); err != nil {
			t.stop()
			return nil, err
		}
	}
	if err := seed(ctx, admin, auth); err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
}

func issue(ctx context.Context, s *authz.Service, user string, groups ...string) (string, error) {
	tok, err := s.IssueWhenReady(ctx, user, groups, time.Hour)
	return tok.GetAccessToken(), err
}

func seed(ctx context.Context, opts client.Options, auth bool) error {
	c, err := client.New(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := client.For[*corev1.Namespace](c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "demo"}}); err != nil {
		return err
	}
	pod := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: "web", Namespace: "demo"}, Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox:1"}}}}
	if _, err := client.For[*corev1.Pod](c).Create(ctx, pod); err != nil {
		return err
	}
	if auth {
		rb := &authv1.RoleBinding{Metadata: &corev1.ObjectMeta{Name: "bench-view", Namespace: "demo"},
			Spec: &authv1.RoleBindingSpec{Role: apis.RoleViewer, Subjects: []*authv1.Subject{{Kind: apis.SubjectUser, Name: "bench"}}}}
		if _, err := client.For[*authv1.RoleBinding](c).Create(ctx, rb); err != nil {
			return err
		}
	}
	return nil
}

// measure runs o.clients callers doing Get pod demo/web for o.duration
// (after a short warm-up) and returns calls per second.
func measure(ctx context.Context, t *target, o options) (float64, error) {
	clients := make([]*client.Client, o.conns)
	for i := range clients {
		c, err := client.New(t.opts)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		clients[i] = c
	}
	var count atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	warmEnd := time.Now().Add(100 * time.Millisecond)
	end := warmEnd.Add(o.duration)
	for i := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pods := client.For[*corev1.Pod](clients[i%len(clients)])
			for time.Now().Before(end) {
				if _, err := pods.Get(ctx, "demo", "web"); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if time.Now().After(warmEnd) {
					count.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	if count.Load() == 0 {
		return 0, errors.New("no calls completed")
	}
	return float64(count.Load()) / o.duration.Seconds(), nil
}

func mean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// startProfile profiles the first auth-on phase only.
func startProfile(path string, round int) (func(), error) {
	if round != 0 {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
