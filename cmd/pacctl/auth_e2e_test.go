package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/sdk/client"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

// TestLoginRefreshLogout: a user logs in, the saved token is refreshed
// when it is about to expire, and logout makes the saved tokens useless.
func TestLoginRefreshLogout(t *testing.T) {
	api := apiservertest.StartReplica(t)
	_, admin := startAPIFor(t, api)
	if r := pacctl(t, "pw-for-carol-1\n", admin, "user", "create", "carol", "--password-stdin"); r.code != 0 {
		t.Fatalf("user create: %s", r)
	}
	mustFail(t, "--password-stdin is required", admin, "user", "create", "dave")

	cfgPath := filepath.Join(t.TempDir(), "carol.yaml")
	if r := pacctl(t, "pw-for-carol-1\n", "login", "--server", api.Addr(), "--username", "carol", "--password-stdin", "--config", cfgPath); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	if r := mustRun(t, "user: carol", "--config", cfgPath, "auth", "whoami"); !strings.Contains(r.stdout, "system:authenticated") {
		t.Fatalf("whoami: %q", r.stdout)
	}
	// carol has no role: she is authenticated but may not list pods.
	mustFail(t, `user "carol" cannot list pods in namespace "default"`, "--config", cfgPath, "get", "pods")
	if r := pacctl(t, "", "--config", cfgPath, "auth", "can-i", "list", "pods"); r.code != 1 || r.stdout != "no\n" {
		t.Fatalf("can-i: %s", r)
	}

	// An access token about to expire is refreshed before the call.
	cfg, err := client.LoadConfigFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cctx, _ := cfg.Context("")
	short, err := api.Auth.Issue(context.Background(), "carol", nil, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cctx.Token, cctx.RefreshToken = short.GetAccessToken(), short.GetRefreshToken()
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "user: carol", "--config", cfgPath, "auth", "whoami")
	after, _ := client.LoadConfigFile(cfgPath)
	actx, _ := after.Context("")
	if actx.Token == short.GetAccessToken() || actx.RefreshToken == short.GetRefreshToken() || actx.RefreshToken == "" {
		t.Fatal("the expiring token was not refreshed into the config")
	}
	if fi, err := os.Stat(cfgPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config mode after refresh: %v %v", fi.Mode().Perm(), err)
	}

	// Logout revokes the token server-side, not only in the file.
	stolen := actx.Token
	mustRun(t, "Logged out", "--config", cfgPath, "logout")
	mustFail(t, "Unauthenticated", "--server", api.Addr(), "--token", stolen, "auth", "whoami")
	// Wrong password: a clear refusal, nothing written.
	other := filepath.Join(t.TempDir(), "x.yaml")
	if r := pacctl(t, "nope\n", "login", "--server", api.Addr(), "--username", "carol", "--password-stdin", "--config", other); r.code == 0 || !strings.Contains(r.stderr, "Unauthenticated: invalid username or password") {
		t.Fatalf("wrong password: %s", r)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatal("a failed login wrote a config")
	}
	// Issuing tokens is for cluster admins.
	if r := mustRun(t, "", admin, "auth", "token", "system:scheduler", "--ttl", "10m"); strings.Count(r.stdout, ".") != 2 {
		t.Fatalf("auth token printed %q", r.stdout)
	}
	mustFail(t, "cannot create tokens", "--server", api.Addr(), "--token", api.Token(t, "carol"), "auth", "token", "system:scheduler")
}

// startAPIFor writes a cluster-admin config for api and returns its flag.
func startAPIFor(t *testing.T, api *apiservertest.Replica) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.yaml")
	cfg := &client.Config{CurrentContext: "admin", Contexts: []client.Context{{Name: "admin", Server: api.Addr(), Token: api.Token(t, "admin", "system:masters")}}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	return path, "--config=" + path
}
