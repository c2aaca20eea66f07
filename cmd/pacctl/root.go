package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// app is one pacctl invocation: its streams, global flags and, once a
// command needs it, the connection.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	flags          globalFlags

	cl        *client.Client
	target    string // the server address(es), for messages
	namespace string // the default namespace after flags and context
	kinds     []*corev1.KindInfo
	// failed records that an error was already printed (commands that go
	// on after one error, like delete a b c).
	failed bool
	// exitCode, when set, is the process exit code (exec propagates the
	// remote command's).
	exitCode int
}

type globalFlags struct {
	config         string
	server         string
	token          string
	caFile         string
	context        string
	namespace      string
	requestTimeout time.Duration
}

// run executes pacctl with args and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	defer a.close()
	root := newRootCommand(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		a.printError(err)
		return 1
	}
	if a.failed {
		return 1
	}
	return a.exitCode
}

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "pacctl",
		Short: "pacctl controls a Pacific control plane",
		Long: "pacctl controls a Pacific control plane: apply manifests, get, describe and\n" +
			"delete objects, manage the API server's replicas.\n\n" +
			"The target comes from --server/--token or from a config file: --config,\n" +
			"$" + client.ConfigEnv + ", or ~/.pacific/pacctl.yaml (pacific dev writes one).",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.flags.config, "config", "", "client config file (default $"+client.ConfigEnv+", else ~/.pacific/pacctl.yaml)")
	pf.StringVar(&a.flags.server, "server", "", "API server address host:port (several: comma-separated); overrides the context's")
	pf.StringVar(&a.flags.token, "token", "", "bearer token for the API; overrides the context's")
	pf.StringVar(&a.flags.caFile, "certificate-authority", "", "PEM file of the CA that signed the API server's certificate; overrides the context's")
	pf.StringVar(&a.flags.context, "context", "", "the config file context to use (default: its currentContext)")
	pf.StringVarP(&a.flags.namespace, "namespace", "n", "", `namespace for namespaced kinds (default: the context's, else "default")`)
	pf.DurationVar(&a.flags.requestTimeout, "request-timeout", 0, "give up on a request after this long, e.g. 30s (0: no limit; watches are not limited)")
	root.AddCommand(
		newApplyCommand(a),
		newGetCommand(a),
		newDescribeCommand(a),
		newDeleteCommand(a),
		newLogsCommand(a),
		newExecCommand(a),
		newWaitCommand(a),
		newRolloutCommand(a),
		newScaleCommand(a),
		newHostCommand(a),
		newAdminCommand(a),
		newLoginCommand(a),
		newLogoutCommand(a),
		newUserCommand(a),
		newAuthCommand(a),
		newVersionCommand(a),
	)
	return root
}

// requestContext bounds one request by --request-timeout.
func (a *app) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.flags.requestTimeout > 0 {
		return context.WithTimeout(ctx, a.flags.requestTimeout)
	}
	return context.WithCancel(ctx)
}

func (a *app) close() {
	if a.cl != nil {
		a.cl.Close()
	}
}

// exactArgs and friends turn cobra's argument errors into usage errors.
func argsAtLeast(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{fmt.Errorf("%s: %s", cmd.CommandPath(), what)}
		}
		return nil
	}
}

func argsExactly(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s: %s", cmd.CommandPath(), what)}
		}
		return nil
	}
}
