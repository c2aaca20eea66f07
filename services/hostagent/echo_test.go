package hostagent

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Under load the watch can deliver the agent's own status write before the
// write's answer. A client that holds every status answer until the
// agent's watch has the write makes that happen on each write: the echo
// must be held (and then dropped), not reconciled.
func TestEarlyEchoOfOwnWriteIsHeld(t *testing.T) {
	e := newAgentEnv(t, nil)
	e.stop()
	var held, writes atomic.Int64
	opts := e.api.ClientOptions(t)
	opts.DialOptions = append(opts.DialOptions, grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, callOpts...)
		resp, ok := reply.(*corev1.UpdateStatusResponse)
		pod := &corev1.Pod{}
		if err != nil || !strings.HasSuffix(method, "/UpdateStatus") || !ok || resp.GetObject().UnmarshalTo(pod) != nil {
			return err
		}
		writes.Add(1)
		a, key, rv := e.agent, keyOf(pod), pod.GetMetadata().GetResourceVersion()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			a.mu.Lock()
			seen := a.seen[key].GetMetadata().GetResourceVersion()
			wasHeld := slices.Contains(a.held[key], rv)
			a.mu.Unlock()
			if seen >= rv {
				if wasHeld {
					held.Add(1)
				}
				return nil
			}
			select {
			case <-ctx.Done():
				return nil // the test fails below: nothing was held
			case <-tick.C:
			}
		}
	}))
	c, err := client.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.cfg = func(cfg *Config) { cfg.Client = c }
	e.start()

	e.create(e.newPod("echo", "sleep", "3600"))
	e.waitPod("echo", 30*time.Second, isRunning(true))
	if writes.Load() == 0 || held.Load() != writes.Load() {
		t.Fatalf("%d of %d status writes had their early echo held", held.Load(), writes.Load())
	}
	e.agent.mu.Lock()
	defer e.agent.mu.Unlock()
	if len(e.agent.held) != 0 || len(e.agent.writing) != 0 {
		t.Fatalf("left after the writes: held %v, writing %v", e.agent.held, e.agent.writing)
	}
}
