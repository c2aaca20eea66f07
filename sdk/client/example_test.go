package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func Example() {
	ctx := context.Background()
	c, err := client.New(client.Options{Servers: []string{"127.0.0.1:7443"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	namespaces := client.For[*corev1.Namespace](c)
	_, err = namespaces.Create(ctx, &corev1.Namespace{
		Metadata: &corev1.ObjectMeta{Name: "demo", Labels: map[string]string{"team": "a"}},
	})
	if err != nil && !client.IsAlreadyExists(err) {
		log.Fatal(err)
	}
	ns, err := namespaces.Get(ctx, "", "demo")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ns.GetMetadata().GetName(), ns.GetStatus().GetPhase())
}

func ExampleTyped_Watch() {
	ctx := context.Background()
	c, err := client.New(client.Options{Servers: []string{"127.0.0.1:7443"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	namespaces := client.For[*corev1.Namespace](c)

	for {
		list, err := namespaces.List(ctx, client.ListOptions{})
		if err != nil {
			log.Fatal(err)
		}
		w, err := namespaces.Watch(ctx, client.WatchOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			log.Fatal(err)
		}
		for ev := range w.Events() {
			fmt.Println(ev.Type, ev.Object.GetMetadata().GetName())
		}
		if !errors.Is(w.Err(), client.ErrRelist) {
			log.Fatal(w.Err())
		}
		// The server no longer has our revision: list again.
	}
}

func ExampleTyped_Apply() {
	ctx := context.Background()
	c, err := client.New(client.Options{Servers: []string{"127.0.0.1:7443"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ns := &corev1.Namespace{
		Metadata: &corev1.ObjectMeta{Name: "demo"},
		Spec:     &corev1.NamespaceSpec{Description: "the demo team"},
	}
	_, result, err := client.For[*corev1.Namespace](c).Apply(ctx, ns)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("namespace/%s %s\n", ns.GetMetadata().GetName(), result)
}

func ExampleLoadConfigFile() {
	path, _, err := client.ConfigPath("") // $PACCTL_CONFIG or ~/.pacific/pacctl.yaml
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := client.LoadConfigFile(path)
	if err != nil {
		log.Fatal(err)
	}
	opts, err := cfg.Options("") // the current context
	if err != nil {
		log.Fatal(err)
	}
	opts.UserAgent = "my-tool/1.0"
	c, err := client.New(opts)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}
