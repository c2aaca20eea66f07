package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/openpacific/pacific/sdk/client"
)

func TestResolveTarget(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv(client.ConfigEnv, "")
	path := filepath.Join(dir, "c.yaml")
	cfg := &client.Config{CurrentContext: "dev", Contexts: []client.Context{
		{Name: "dev", Server: "127.0.0.1:7443", Token: "dev-token", Namespace: "team-a"},
		{Name: "ha", Servers: []string{"10.0.0.1:7443", "10.0.0.2:7443"}},
	}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	resolve := func(f globalFlags) (target, error) {
		a := &app{flags: f}
		return a.resolveTarget()
	}

	tg, err := resolve(globalFlags{config: path})
	if err != nil || tg.opts.Servers[0] != "127.0.0.1:7443" || tg.opts.Token != "dev-token" || tg.namespace != "team-a" {
		t.Fatalf("current context: %+v %v", tg, err)
	}
	tg, err = resolve(globalFlags{config: path, namespace: "x", token: "flag-token"})
	if err != nil || tg.namespace != "x" || tg.opts.Token != "flag-token" {
		t.Fatalf("flags over context: %+v %v", tg, err)
	}
	// The context's token never goes to another server.
	tg, err = resolve(globalFlags{config: path, server: "evil.example:7443"})
	if err != nil || tg.opts.Token != "" || tg.opts.Servers[0] != "evil.example:7443" || tg.namespace != "team-a" {
		t.Fatalf("--server: %+v %v", tg, err)
	}
	tg, err = resolve(globalFlags{config: path, server: "127.0.0.1:7443"})
	if err != nil || tg.opts.Token != "dev-token" {
		t.Fatalf("--server naming the context's own server: %+v %v", tg, err)
	}
	tg, err = resolve(globalFlags{config: path, context: "ha"})
	if err != nil || len(tg.opts.Servers) != 2 || tg.namespace != "default" {
		t.Fatalf("--context ha: %+v %v", tg, err)
	}
	if _, err := resolve(globalFlags{config: path, context: "nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown context: %v", err)
	}

	// No config anywhere: --server is enough; nothing is an error.
	tg, err = resolve(globalFlags{server: "a:1,b:2"})
	if err != nil || len(tg.opts.Servers) != 2 || tg.namespace != "default" {
		t.Fatalf("--server without config: %+v %v", tg, err)
	}
	if _, err := resolve(globalFlags{}); err == nil || !strings.Contains(err.Error(), "--server") {
		t.Fatalf("no target: %v", err)
	}
	// A named config must exist.
	if _, err := resolve(globalFlags{config: filepath.Join(dir, "missing.yaml"), server: "a:1"}); err == nil {
		t.Fatal("a missing --config file was ignored")
	}
	// $PACCTL_CONFIG is used when --config is not given.
	t.Setenv(client.ConfigEnv, path)
	if tg, err := resolve(globalFlags{}); err != nil || tg.opts.Token != "dev-token" {
		t.Fatalf("$%s: %+v %v", client.ConfigEnv, tg, err)
	}
}
