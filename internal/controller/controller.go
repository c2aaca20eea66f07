package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Result tells the controller when to look at a key again.
type Result struct {
	// RequeueAfter > 0 reconciles the key again after this long.
	RequeueAfter time.Duration
}

// Reconciler drives one object toward its desired state.
type Reconciler interface {
	Reconcile(ctx context.Context, req Request) (Result, error)
}

// ReconcileFunc adapts a function to Reconciler.
type ReconcileFunc func(ctx context.Context, req Request) (Result, error)

// Reconcile calls f.
func (f ReconcileFunc) Reconcile(ctx context.Context, req Request) (Result, error) {
	return f(ctx, req)
}

// Source feeds keys into the queue until ctx ends (e.g. List+Watch).
type Source func(ctx context.Context, enqueue func(Request)) error

// Controller runs Workers reconcilers over keys from its Sources.
type Controller struct {
	Name       string
	Reconciler Reconciler
	Sources    []Source
	Workers    int
	Logger     *slog.Logger
	// Backoff bounds for failed reconciles (defaults 50ms .. 30s).
	BaseDelay, MaxDelay time.Duration
}

// Start blocks until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	logger := c.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("controller", c.Name)
	base, maxDelay := c.BaseDelay, c.MaxDelay
	if base == 0 {
		base = 50 * time.Millisecond
	}
	if maxDelay == 0 {
		maxDelay = 30 * time.Second
	}
	q := NewQueue(base, maxDelay)
	go q.shutDownOnDone(ctx)

	var wg sync.WaitGroup
	for _, src := range c.Sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := src(ctx, q.Add); err != nil && ctx.Err() == nil {
				logger.Error("source stopped", "err", err)
			}
		}()
	}
	workers := max(c.Workers, 1)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				req, ok := q.Get()
				if !ok {
					return
				}
				c.reconcile(ctx, logger, q, req)
				q.Done(req)
			}
		}()
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) reconcile(ctx context.Context, logger *slog.Logger, q *Queue, req Request) {
	res, err := safeReconcile(ctx, c.Reconciler, req)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			logger.Warn("reconcile failed; will retry", "key", req.String(), "err", err)
		}
		q.AddRateLimited(req)
	case res.RequeueAfter > 0:
		q.Forget(req)
		q.AddAfter(req, res.RequeueAfter)
	default:
		q.Forget(req)
	}
}

func safeReconcile(ctx context.Context, r Reconciler, req Request) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return r.Reconcile(ctx, req)
}
