package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openpacific/pacific/sdk/client"
)

// connectTimeout bounds one connection attempt, so an unreachable server
// is reported in seconds.
const connectTimeout = 5 * time.Second

// target is where pacctl sends requests, after flags and config.
type target struct {
	opts      client.Options
	namespace string
}

// resolveTarget combines --server/--token/--namespace with the config
// file's context. A token from the config is sent only to that context's
// own server, never to a --server that differs.
func (a *app) resolveTarget() (target, error) {
	path, explicit, err := client.ConfigPath(a.flags.config)
	if err != nil && a.flags.server == "" {
		return target{}, err
	}
	var cfg *client.Config
	if path != "" {
		cfg, err = client.LoadConfigFile(path)
		switch {
		case err == nil:
		case client.IsNotExist(err) && !explicit:
			cfg = nil // no default config yet: flags must say everything
		case client.IsNotExist(err):
			return target{}, fmt.Errorf("client config %s does not exist", path)
		default:
			return target{}, err
		}
	}
	var cctx *client.Context
	if cfg != nil && (len(cfg.Contexts) > 0 || a.flags.context != "") {
		cctx, err = cfg.Context(a.flags.context)
		if err != nil && (a.flags.context != "" || a.flags.server == "") {
			return target{}, fmt.Errorf("%s: %w", path, err)
		}
	} else if a.flags.context != "" {
		return target{}, fmt.Errorf("no context named %q: no client config at %s", a.flags.context, path)
	}

	t := target{namespace: "default"}
	if cctx != nil && a.flags.token == "" {
		if err := a.refreshIfExpired(path, cfg, cctx); err != nil {
			return target{}, err
		}
	}
	if cctx != nil {
		t.opts = cctx.Options()
		if cctx.Namespace != "" {
			t.namespace = cctx.Namespace
		}
	}
	if a.flags.server != "" {
		servers := strings.Split(a.flags.server, ",")
		if cctx == nil || !sameServers(servers, cctx.Addresses()) {
			t.opts.Token = ""
		}
		t.opts.Servers = servers
	}
	if a.flags.token != "" {
		t.opts.Token = a.flags.token
	}
	if a.flags.caFile != "" {
		pem, err := readCAFile(a.flags.caFile)
		if err != nil {
			return target{}, err
		}
		t.opts.CAPEM = pem
	}
	if a.flags.namespace != "" {
		t.namespace = a.flags.namespace
	}
	if len(t.opts.Servers) == 0 {
		where := "no client config at " + path
		if cfg != nil {
			where = "the config " + path + " has no contexts"
		}
		return target{}, errors.New("no API server to talk to: pass --server ADDR or --config FILE (pacific dev writes DIR/pacctl.yaml); " + where)
	}
	t.opts.UserAgent = "pacctl/" + version()
	t.opts.ConnectTimeout = connectTimeout
	return t, nil
}

func sameServers(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.TrimSpace(a[i]) != b[i] {
			return false
		}
	}
	return true
}

// client returns the connection, creating it on first use.
func (a *app) client() (*client.Client, error) {
	if a.cl != nil {
		return a.cl, nil
	}
	t, err := a.resolveTarget()
	if err != nil {
		return nil, err
	}
	if len(t.opts.CAPEM) == 0 && t.opts.TLS == nil {
		// Same rules as login: a context naming this server, else trust a
		// loopback server on first use.
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		defer cancel()
		server := strings.Join(t.opts.Servers, ",")
		if t.opts.CAPEM, err = a.loginCA(ctx, &client.Config{}, server); err != nil && !errors.Is(err, errUnreachable) {
			a.target = server
			return nil, err
		}
	}
	c, err := client.New(t.opts)
	if err != nil {
		return nil, err
	}
	a.cl, a.target, a.namespace = c, strings.Join(c.Servers(), ","), t.namespace
	return c, nil
}

// defaultNamespace is the namespace for namespaced kinds when a command
// has no other: -n, else the context's, else "default".
func (a *app) defaultNamespace() string {
	if a.namespace == "" {
		return "default"
	}
	return a.namespace
}
