package controllers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/controllers/deployment"
	"github.com/openpacific/pacific/services/controllers/namespace"
	"github.com/openpacific/pacific/services/controllers/record"
	"github.com/openpacific/pacific/services/controllers/replicaset"
)

// Config configures the controllers.
type Config struct {
	// Client talks to the API server. Required.
	Client *client.Client
	Logger *slog.Logger
}

// Manager runs every controller.
type Manager struct {
	controllers []*controller.Controller
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
	return &Manager{controllers: []*controller.Controller{
		namespace.NewController(c.Resources(), c.Discovery(), logger),
		replicaset.NewController(c, rec, logger),
		deployment.NewController(c, rec, logger),
	}}
}

// Run blocks until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
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
