package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/natsauth"
	"github.com/openpacific/pacific/internal/natsembed"
	"github.com/openpacific/pacific/internal/netutil"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/authz"
	"github.com/openpacific/pacific/services/controllers"
	"github.com/openpacific/pacific/services/hostagent"
	"github.com/openpacific/pacific/services/scheduler"
)

type devOptions struct {
	dataDir  string
	listen   string
	runcPath string
	unpinned bool
	hostName string
	registry string
	sim      simOptions
	sched    schedulerFlags
	ctrl     controllerFlags
	sso      ssoFlags
	sts      bool
}

func newDevCommand(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	o := &devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run every Pacific service in one process on loopback",
		Long: `Run every Pacific service in one process on loopback: an embedded NATS
server, one API server replica and the controllers. Data survives restarts in
--data-dir, where a ready-to-use pacctl config is written (pacctl.yaml).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := g.logger(stderr)
			if err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context(), logger)
			defer stop()
			return runDev(ctx, o, logger, stdout)
		},
	}
	home, _ := os.UserHomeDir()
	cmd.Flags().StringVar(&o.dataDir, "data-dir", filepath.Join(home, ".pacific", "dev"), "directory for all state; reuse it to keep your objects")
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:7443", "loopback address for the API")
	cmd.Flags().StringVar(&o.runcPath, "runc", "runc", "runc binary for the local host's pods (./hack/install-runc.sh builds one into .bin)")
	cmd.Flags().BoolVar(&o.unpinned, "unpinned-starts", false, unpinnedStartsUsage)
	cmd.Flags().StringVar(&o.registry, "registry", "", "also serve an OCI registry on this loopback address, seeded with busybox:1 from the host's static busybox (e.g. 127.0.0.1:5000)")
	cmd.Flags().StringVar(&o.hostName, "host-name", "local", "name of the local Host object (pods bind to it with spec.nodeName)")
	o.sim.addFlags(cmd)
	o.sched.add(cmd, "scheduler-")
	o.ctrl.add(cmd)
	o.sso.add(cmd)
	cmd.Flags().BoolVar(&o.sts, "sts", false, "also run govmomi's vSphere STS simulator on loopback and trust its signing certificate for 'pacctl login --sso --sts-url' (its one fixed token expired in 2018, so the server refuses it: this exercises the client path only)")
	return cmd
}

func (o *devOptions) validate() error {
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return fmt.Errorf("--listen %q: want HOST:PORT: %w", o.listen, err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--listen %q: dev mode serves loopback only (127.0.0.0/8 or ::1)", o.listen)
	}
	if o.dataDir == "" {
		return errors.New("--data-dir is required")
	}
	if _, err := o.sched.config("scheduler-"); err != nil {
		return err
	}
	if err := o.ctrl.validate(); err != nil {
		return err
	}
	return o.sim.validate()
}

// The dev admin credential: a long-lived token so SDK programs using the
// config keep working for a day (pacctl also refreshes it).
const (
	devAdminUser = "admin"
	devAdminTTL  = 24 * time.Hour
)

// devState is what dev mode must remember between runs besides the data.
type devState struct {
	RaftAddr string `json:"raftAddr"`
}

func runDev(ctx context.Context, o *devOptions, logger *slog.Logger, stdout io.Writer) error {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir %s: %w", o.dataDir, err)
	}
	state, err := loadDevState(o.dataDir)
	if err != nil {
		return err
	}
	ca, certs, err := devPKI(filepath.Join(o.dataDir, "pki"), o.hostName)
	if err != nil {
		return err
	}
	natsTLS, err := certs["nats"].Server(true)
	if err != nil {
		return fmt.Errorf("NATS TLS: %w", err)
	}
	natsLog := logger.With("component", "nats")
	natsSrv, err := natsembed.Start(ctx, natsembed.Config{Host: "127.0.0.1", StoreDir: filepath.Join(o.dataDir, "nats"), Logger: natsLog,
		TLS: natsTLS, Auth: natsauth.New(natsLog)})
	if err != nil {
		return fmt.Errorf("start embedded NATS: %w", err)
	}
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := natsSrv.Shutdown(shutdownCtx); err != nil {
			logger.Warn("NATS shutdown", "err", err)
		}
	}()
	if o.registry != "" {
		reg, err := startDevRegistry(ctx, o.registry, filepath.Join(o.dataDir, "registry"), logger)
		switch {
		case errors.Is(err, syscall.EADDRINUSE):
			// Something already serves there (often a registry the user
			// runs); use it as it is.
			logger.Warn("--registry address in use; not starting one (pods will pull from whatever serves there)", "addr", o.registry)
		case err != nil:
			return err
		default:
			defer reg.Close(context.WithoutCancel(ctx))
		}
	}
	sso, err := o.sso.config()
	if err != nil {
		return err
	}
	stsURL := ""
	if o.sts {
		stsSim, err := startDevSTS(ctx)
		if err != nil {
			return err
		}
		defer stsSim.Close()
		if sso == nil {
			sso = &authz.SAMLConfig{}
		}
		sso.Certificates = append(sso.Certificates, stsSim.cert)
		stsURL = stsSim.url
	}
	var tokens *authz.Service
	api, err := apiserver.New(ctx, apiserver.Config{
		Auth:      authFunc(logger, sso, &tokens),
		ID:        "dev",
		DataDir:   filepath.Join(o.dataDir, "apiserver"),
		Listen:    o.listen,
		RaftAddr:  state.RaftAddr,
		Bootstrap: true,
		NATSURL:   natsSrv.ClientURL(),
		AuditFile: filepath.Join(o.dataDir, "audit", "audit.log"),
		TLS:       certs["apiserver-dev"],
		Logger:    logger,
	})
	if err != nil {
		return fmt.Errorf("start API server (--listen %s): %w", o.listen, err)
	}
	if err := api.Store().WaitLeader(ctx); err != nil {
		api.Close()
		return fmt.Errorf("API server store: %w", err)
	}
	configPath := filepath.Join(o.dataDir, "pacctl.yaml")
	if err := writeAdminConfig(ctx, tokens, configPath, "dev", api.Addr(), ca.CertPEM, devAdminTTL); err != nil {
		api.Close()
		return err
	}
	c, err := serviceClient(api.Addr(), certs["controllers"], tokens, grpcserver.UserControllers)
	if err != nil {
		api.Close()
		return err
	}
	defer c.Close()
	hostClient, err := serviceClient(api.Addr(), certs["host-"+o.hostName], tokens, grpcserver.HostUserPrefix+o.hostName, grpcserver.GroupHosts)
	if err != nil {
		api.Close()
		return err
	}
	defer hostClient.Close()
	ctrl := controllers.New(o.ctrl.config(c, logger))
	// The dev hosts' leases last as long as the controllers' grace, so a
	// shortened --host-monitor-grace (demos, tests) is honoured.
	lease, renew := o.ctrl.hostMonitorGrace, min(o.ctrl.hostMonitorGrace/4, hostagent.DefaultRenewInterval)
	podsLine := "local host " + o.hostName + " runs pods with runc"
	var local *node
	if reason := nodeUnavailable(o.runcPath); reason != "" {
		podsLine = "NO local host: " + reason + "; pods stay Pending"
	} else if local, err = startNode(ctx, nodeConfig{dataDir: o.dataDir, hostName: o.hostName, runcPath: o.runcPath, unpinnedStarts: o.unpinned, api: hostClient, logger: logger, natsURL: natsSrv.ClientURL(),
		leaseDuration: lease, renewInterval: renew, tls: certs["host-"+o.hostName], imageTLS: certs["imagesvc"]}); err != nil {
		api.Close()
		return err
	}
	schedClient, err := serviceClient(api.Addr(), certs["scheduler"], tokens, grpcserver.UserScheduler)
	if err != nil {
		api.Close()
		return err
	}
	defer schedClient.Close()
	schedCfg, _ := o.sched.config("scheduler-")
	schedCfg.Client, schedCfg.Logger, schedCfg.Identity = schedClient, logger, "dev"
	// One replica: a short lease lets a restarted dev take over at once.
	schedCfg.LeaseDuration = 2 * time.Second
	sched, err := scheduler.New(schedCfg)
	if err != nil {
		api.Close()
		return err
	}
	o.sim.leaseDuration, o.sim.renewInterval = lease, renew
	simHosts, err := newSimHosts(&o.sim, c, logger)
	if err != nil {
		api.Close()
		return err
	}
	if simHosts != nil {
		podsLine += fmt.Sprintf("; %d simulated hosts sim-1..sim-%d (%s CPU, %s memory each)", o.sim.hosts, o.sim.hosts, o.sim.cpu, o.sim.memory)
	}

	stsLines := ""
	if stsURL != "" {
		stsLines = fmt.Sprintf(`
vSphere SSO (STS simulator at %s):
  echo anything | pacctl login --server %s --sso --sts-url %s --username administrator@vsphere.local --password-stdin --config sso.yaml
  The simulator ignores the password and always returns one fixed assertion
  that expired in 2018, so the server refuses it ("invalid SAML token"; the
  server log says why: expired). This shows the client path, not a login.
`, stsURL, api.Addr(), stsURL)
	}
	fmt.Fprintf(stdout, `Pacific dev is running.
  API:        %s
  NATS:       %s
  Data:       %s
  Client config: %s
  Pods:       %s

Try (the config holds a cluster-admin credential, valid %s; restart to renew):
  export PACCTL_CONFIG=%s
  pacctl apply -f examples/namespace.yaml
  pacctl get namespaces -w

Users and logging in:
  pacctl user create alice --password-stdin          # as the admin
  pacctl login --server %s --username alice --password-stdin --config alice.yaml
  pacctl auth can-i list pods -n demo --config alice.yaml
%s
Press Ctrl-C to stop (twice to stop at once).
`, api.Addr(), natsSrv.ClientURL(), o.dataDir, configPath, podsLine, devAdminTTL, configPath, api.Addr(), stsLines)

	var wg sync.WaitGroup
	ctrlCtx, stopCtrl := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = ctrl.Run(ctrlCtx)
	}()
	if local != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := local.run(ctrlCtx); err != nil {
				logger.Error("local host stopped", "err", err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sched.Run(ctrlCtx); err != nil {
			logger.Error("scheduler stopped", "err", err)
		}
	}()
	if simHosts != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := simHosts.run(ctrlCtx); err != nil {
				logger.Error("simulated hosts stopped", "err", err)
			}
		}()
	}
	err = api.Run(ctx)
	stopCtrl()
	wg.Wait()
	return err
}

// loadDevState reads DATA/dev.json, choosing and saving a Raft port on
// first use: Raft remembers its own address, so it must stay the same.
func loadDevState(dir string) (devState, error) {
	path := filepath.Join(dir, "dev.json")
	var st devState
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &st); err != nil || st.RaftAddr == "" {
			return st, fmt.Errorf("%s: corrupt (want {\"raftAddr\": \"127.0.0.1:PORT\"}); remove the data dir to start over", path)
		}
		return st, nil
	case !errors.Is(err, os.ErrNotExist):
		return st, fmt.Errorf("read %s: %w", path, err)
	}
	// Below the ephemeral range: an outgoing connection could otherwise
	// hold it when dev mode starts again.
	if st.RaftAddr, err = netutil.StableLoopbackAddr(); err != nil {
		return st, fmt.Errorf("pick a Raft port: %w", err)
	}
	b, _ = json.Marshal(st)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return st, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return st, fmt.Errorf("write %s: %w", path, err)
	}
	return st, nil
}
