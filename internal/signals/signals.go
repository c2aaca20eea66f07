package signals

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// ExitCode is used when a second signal cuts the graceful shutdown short.
const ExitCode = 130

// Context returns a context canceled by the first SIGINT or SIGTERM. A
// second signal calls exit(ExitCode). stop releases the signal handler.
func Context(parent context.Context, logger *slog.Logger, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			logger.Info("shutting down gracefully; signal again to exit now", "signal", sig.String())
			cancel()
		case <-done:
			return
		}
		select {
		case <-ch:
			logger.Warn("second signal: exiting now")
			exit(ExitCode)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}
