package informer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openpacific/pacific/internal/informer"
	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

func TestInformerListsThenFollows(t *testing.T) {
	c, err := client.New(client.Options{Servers: []string{apiservertest.Start(t)}, TLS: testutil.ClientTLS(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ns := client.For[*corev1.Host](c)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := ns.Create(ctx, &corev1.Host{Metadata: &corev1.ObjectMeta{Name: "before"}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{} // name → last event
	synced := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- informer.Run(ctx, ns, client.WatchOptions{LabelSelector: "!skip"}, informer.Handler[*corev1.Host]{
			Upsert: func(n *corev1.Host) { mu.Lock(); seen[n.GetMetadata().GetName()] = "upsert"; mu.Unlock() },
			Delete: func(n *corev1.Host) { mu.Lock(); seen[n.GetMetadata().GetName()] = "delete"; mu.Unlock() },
			Synced: func() { close(synced) },
		}, nil)
	}()
	select {
	case <-synced:
	case <-time.After(20 * time.Second):
		t.Fatal("never synced")
	}
	mu.Lock()
	if seen["before"] != "upsert" {
		t.Fatalf("existing object not delivered before Synced: %v", seen)
	}
	mu.Unlock()
	if _, err := ns.Create(ctx, &corev1.Host{Metadata: &corev1.ObjectMeta{Name: "after"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Create(ctx, &corev1.Host{Metadata: &corev1.ObjectMeta{Name: "hidden", Labels: map[string]string{"skip": "yes"}}}); err != nil {
		t.Fatal(err)
	}
	if err := ns.Delete(ctx, "", "before"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "changes delivered", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		if seen["hidden"] != "" {
			t.Fatal("an object the selector excludes was delivered")
		}
		return seen["after"] == "upsert" && seen["before"] == "delete", fmt.Sprint(seen)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
