package hostagent

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/shim"
)

// The test binary doubles as the runc runtime's shim: the runtime
// re-executes it with PACIFIC_TEST_SHIM=1, as the agent re-executes itself
// as `pacific shim`.
func TestMain(m *testing.M) {
	if os.Getenv("PACIFIC_TEST_SHIM") == "1" {
		os.Exit(shim.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func testLogger() *slog.Logger {
	if os.Getenv("PACIFIC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startAPI runs an in-process API server and returns a client for it.
func startAPI(t *testing.T) *client.Client {
	t.Helper()
	c, _ := startAPIReplica(t)
	return c
}

// startAPIReplica also returns the server, to stop and restart it.
func startAPIReplica(t *testing.T) (*client.Client, *apiservertest.Replica) {
	t.Helper()
	r := apiservertest.StartReplica(t)
	return r.Client(t), r
}

func createNamespace(t *testing.T, c *client.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.For[*corev1.Namespace](c).Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

// poll calls cond until it returns nil or the deadline passes; then it
// fails the test with cond's last error.
func poll(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	testutil.EventuallyNoError(t, timeout, "condition", cond)
}
