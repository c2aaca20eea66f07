package controllers

import (
	"context"
	"log/slog"
	"sync"

	"github.com/openpacific/pacific/internal/controller"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/controllers/namespace"
)

// Config configures the controllers.
type Config struct {
	Resources corev1.ResourceServiceClient
	Discovery corev1.DiscoveryServiceClient
	Logger    *slog.Logger
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
	return &Manager{controllers: []*controller.Controller{
		namespace.NewController(cfg.Resources, cfg.Discovery, logger),
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
