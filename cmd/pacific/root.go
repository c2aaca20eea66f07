package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/internal/signals"
)

// version is stamped by the build (-ldflags "-X main.version=...").
var version = "dev"

func run(ctx context.Context, args []string) int {
	root := newRootCommand(os.Stdout, os.Stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}

type globalFlags struct {
	logLevel  string
	logFormat string
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "pacific",
		Short:         "Pacific control plane server",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(newDevCommand(g, stdout, stderr), newAPIServerCommand(g, stderr),
		newHostAgentCommand(g, stderr), newControllersCommand(g, stderr), newImageServiceCommand(g, stderr), newSchedulerCommand(g, stderr), newCACommand(stdout), &cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "pacific", version) },
		})
	return root
}

func (g *globalFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", g.logFormat)
}

// signalContext cancels on the first signal and exits on the second.
func signalContext(ctx context.Context, logger *slog.Logger) (context.Context, func()) {
	return signals.Context(ctx, logger, os.Exit)
}
