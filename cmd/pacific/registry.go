package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/openpacific/pacific/internal/devregistry"
)

// startDevRegistry serves a loopback registry and seeds busybox:1 into it.
func startDevRegistry(ctx context.Context, addr, dir string, logger *slog.Logger) (*devregistry.Registry, error) {
	reg, err := devregistry.Start(addr, dir)
	if err != nil {
		return nil, fmt.Errorf("--registry: %w", err)
	}
	bb := devregistry.FindBusybox()
	if bb == "" {
		logger.Warn("registry has no busybox image: install busybox-static to get one", "registry", reg.Addr())
		return reg, nil
	}
	img, err := devregistry.BusyboxImage(bb)
	if err == nil {
		err = devregistry.Push(ctx, reg.Addr()+"/busybox:1", img)
	}
	if err != nil {
		reg.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("--registry: seed busybox: %w", err)
	}
	logger.Info("registry serving", "addr", reg.Addr(), "seeded", reg.Addr()+"/busybox:1")
	return reg, nil
}
