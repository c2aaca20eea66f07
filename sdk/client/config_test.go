package client

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConfigSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "pacctl.yaml")
	cfg := &Config{CurrentContext: "dev"}
	cfg.SetContext(Context{Name: "dev", Server: "127.0.0.1:7443", Namespace: "team-a", Token: "t0k"})
	cfg.SetContext(Context{Name: "prod", Servers: []string{"10.0.0.1:7443", "10.0.0.2:7443"}})
	cfg.SetContext(Context{Name: "dev", Server: "127.0.0.1:7444", Namespace: "team-a", Token: "t0k"}) // replaces
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("mode = %o, want 600", perm)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("dir: %v %v, want mode 700", di.Mode(), err)
	}
	got, err := LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cfg) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, cfg)
	}
	opts, err := got.Options("")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(opts.Servers, []string{"127.0.0.1:7444"}) || opts.Token != "t0k" {
		t.Fatalf("current context options = %+v", opts)
	}
	opts, err = got.Options("prod")
	if err != nil || len(opts.Servers) != 2 || opts.Token != "" {
		t.Fatalf("prod options = %+v, %v", opts, err)
	}
	if _, err := got.Options("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown context: %v", err)
	}

	// Saving over an existing, too-open file leaves it private again.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := got.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode after re-save = %o", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown top-level field", "currentContext: dev\nbogus: 1\n", "c.yaml:2: bogus: unknown field"},
		{"unknown context field", "contexts:\n- name: dev\n  server: a:1\n  sever: b:2\n", "c.yaml:4: contexts[0].sever: unknown field"},
		{"wrong type", "contexts:\n- name: dev\n  server: {host: a}\n", "c.yaml:3: contexts[0].server: want a string"},
		{"contexts not a list", "contexts: dev\n", "c.yaml:1: contexts: want a list of contexts"},
		{"not a mapping", "- a\n- b\n", "c.yaml:1: (top level): want a mapping of fields"},
		{"missing name", "contexts:\n- server: a:1\n", "c.yaml:2: contexts[0].name: required"},
		{"missing server", "contexts:\n- name: dev\n", "c.yaml:2: contexts[0].server: required"},
		{"bad server", "contexts:\n- name: dev\n  server: localhost\n", `c.yaml:3: contexts[0].server: server "localhost": want host:port`},
		{"bad servers entry", "contexts:\n- name: dev\n  servers:\n  - a:1\n  - nope\n", `c.yaml:5: contexts[0].servers[1]: server "nope": want host:port`},
		{"duplicate context", "contexts:\n- name: dev\n  server: a:1\n- name: dev\n  server: b:1\n", `c.yaml:4: contexts[1].name: duplicate context "dev"`},
		{"duplicate key", "currentContext: a\ncurrentContext: b\n", "c.yaml:2: currentContext: duplicate field"},
		{"dangling current", "currentContext: prod\ncontexts:\n- name: dev\n  server: a:1\n", `c.yaml:1: currentContext: no context named "prod"`},
		{"syntax", "contexts: [\n", "c.yaml: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("c.yaml", []byte(tc.yaml))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %q, want %q", err, tc.want)
			}
		})
	}
}

func TestConfigEmptyAndMissing(t *testing.T) {
	for _, data := range []string{"", "# nothing yet\n", "~\n"} {
		cfg, err := ParseConfig("c.yaml", []byte(data))
		if err != nil || len(cfg.Contexts) != 0 {
			t.Fatalf("ParseConfig(%q) = %+v, %v", data, cfg, err)
		}
	}
	_, err := LoadConfigFile(filepath.Join(t.TempDir(), "missing.yaml"))
	if !IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
	cfg := &Config{}
	if _, err := cfg.Options(""); err == nil {
		t.Fatal("Options of an empty config succeeded")
	}
	one := &Config{Contexts: []Context{{Name: "only", Server: "a:1"}}}
	if opts, err := one.Options(""); err != nil || opts.Servers[0] != "a:1" {
		t.Fatalf("single context without currentContext: %+v, %v", opts, err)
	}
}

func TestConfigPath(t *testing.T) {
	t.Setenv(ConfigEnv, "/from/env.yaml")
	if p, explicit, _ := ConfigPath("/from/flag.yaml"); p != "/from/flag.yaml" || !explicit {
		t.Fatalf("flag: %s %v", p, explicit)
	}
	if p, explicit, _ := ConfigPath(""); p != "/from/env.yaml" || !explicit {
		t.Fatalf("env: %s %v", p, explicit)
	}
	t.Setenv(ConfigEnv, "")
	t.Setenv("HOME", "/home/x")
	if p, explicit, _ := ConfigPath(""); p != "/home/x/.pacific/pacctl.yaml" || explicit {
		t.Fatalf("default: %s %v", p, explicit)
	}
}

func TestConfigSaveRefusesInvalid(t *testing.T) {
	cfg := &Config{CurrentContext: "x", Contexts: []Context{{Name: "dev", Server: "a:1"}}}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := cfg.Save(path); err == nil {
		t.Fatal("saved a config whose current context does not exist")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file written anyway: %v", err)
	}
}
