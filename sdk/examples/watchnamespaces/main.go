// Command watchnamespaces is a small integrator program: it connects to the
// Pacific API, watches namespaces, creates one, and prints every change
// until interrupted.
//
//	go run ./examples/watchnamespaces --server 127.0.0.1:7443 --name demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func main() {
	server := flag.String("server", "127.0.0.1:7443", "API server address(es), comma-separated")
	token := flag.String("token", os.Getenv("PACIFIC_TOKEN"), "bearer token (default $PACIFIC_TOKEN)")
	name := flag.String("name", "demo", "namespace to create")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, strings.Split(*server, ","), *token, *name); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, servers []string, token, name string) error {
	c, err := client.New(client.Options{Servers: servers, Token: token, UserAgent: "watchnamespaces"})
	if err != nil {
		return err
	}
	defer c.Close()
	namespaces := client.For[*corev1.Namespace](c)

	// Watching from revision 0 first delivers every namespace as ADDED; the
	// BOOKMARK after them says the watcher is in sync.
	w, err := namespaces.Watch(ctx, client.WatchOptions{Bookmarks: true})
	if err != nil {
		return err
	}
	defer w.Stop()

	created := false
	for ev := range w.Events() {
		if ev.Type == corev1.EventType_EVENT_TYPE_BOOKMARK {
			if !created {
				fmt.Printf("in sync at revision %d\n", ev.ResourceVersion)
				if err := create(ctx, namespaces, name); err != nil {
					return err
				}
				created = true
			}
			continue
		}
		md := ev.Object.GetMetadata()
		fmt.Printf("%-8s %-20s phase=%-12s labels=%v rv=%d\n",
			strings.TrimPrefix(ev.Type.String(), "EVENT_TYPE_"), md.GetName(), ev.Object.GetStatus().GetPhase(), md.GetLabels(), ev.ResourceVersion)
	}
	switch err := w.Err(); {
	case errors.Is(err, context.Canceled):
		return nil // interrupted
	case errors.Is(err, client.ErrRelist):
		return fmt.Errorf("fell too far behind; a real controller would list again: %w", err)
	default:
		return err
	}
}

func create(ctx context.Context, namespaces *client.Typed[*corev1.Namespace], name string) error {
	_, err := namespaces.Create(ctx, &corev1.Namespace{
		Metadata: &corev1.ObjectMeta{Name: name, Labels: map[string]string{"created-by": "watchnamespaces"}},
		Spec:     &corev1.NamespaceSpec{Description: "created by the watchnamespaces example"},
	})
	switch {
	case client.IsAlreadyExists(err):
		fmt.Printf("namespace %q already exists\n", name)
		return nil
	case err != nil:
		return err
	}
	fmt.Printf("created namespace %q\n", name)
	return nil
}
