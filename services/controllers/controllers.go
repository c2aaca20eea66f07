package controllers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/internal/record"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/controllers/deployment"
	"github.com/openpacific/pacific/services/controllers/eventttl"
	"github.com/openpacific/pacific/services/controllers/gc"
	"github.com/openpacific/pacific/services/controllers/hostlifecycle"
	"github.com/openpacific/pacific/services/controllers/namespace"
	"github.com/openpacific/pacific/services/controllers/replicaset"
)

// Config configures the controllers.
type Config struct {
	// Client talks to the API server. Required.
	Client *client.Client
	Logger *slog.Logger
	// HostMonitorGrace: a host whose lease is not renewed for this long
	// becomes Ready=Unknown (default 40s).
	HostMonitorGrace time.Duration
	// PodEvictionTimeout: pods of a host not Ready for this long are
	// evicted (default 5m).
	PodEvictionTimeout time.Duration
	// EventTTL: Events that have not recurred for this long are deleted
	// (default 1h); EventSweepInterval is how often (default 1m).
	EventTTL           time.Duration
	EventSweepInterval time.Duration
}

// Manager runs every controller.
type Manager struct {
	controllers []*controller.Controller
	client      *client.Client
	logger      *slog.Logger
	eventTTL    eventttl.Config
}

// New builds the controllers.
func New(cfg Config) *Manager {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "controllers")
	c := cfg.Client
	rec := &record.Recorder{Events: client.For[*corev1.Event](c), Component: "controllers", Logger: logger, Now: time.Now}
	ttl := eventttl.Config{TTL: cfg.EventTTL, Interval: cfg.EventSweepInterval, Logger: logger.With("controller", "event-ttl")}
	return &Manager{client: c, logger: logger, eventTTL: ttl, controllers: []*controller.Controller{
		namespace.NewController(c.Resources(), c.Discovery(), logger),
		replicaset.NewController(c, rec, logger),
		deployment.NewController(c, rec, logger),
		hostlifecycle.NewController(c, hostlifecycle.Config{MonitorGrace: cfg.HostMonitorGrace, EvictionTimeout: cfg.PodEvictionTimeout}, rec, logger),
	}}
}

// Run blocks until ctx ends. The garbage collector starts once the API
// server has told it the kinds.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.runGC(ctx)
	}()
	wg.Go(func() { eventttl.Run(ctx, m.client, m.eventTTL) })
	for _, c := range m.controllers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Start(ctx) // Start only returns when ctx ends
		}()
	}
	wg.Wait()
	return nil
}

func (m *Manager) runGC(ctx context.Context) {
	retry := 100 * time.Millisecond
	for ctx.Err() == nil {
		c, err := gc.NewController(ctx, m.client, m.logger)
		if err == nil {
			_ = c.Start(ctx)
			return
		}
		m.logger.Warn("garbage collector not started; retrying", "err", err, "retry", retry)
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
		retry = min(2*retry, 10*time.Second)
	}
}
