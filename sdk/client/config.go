package client

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ConfigEnv names the environment variable that points at a client config
// file, as --config does for pacctl.
const ConfigEnv = "PACCTL_CONFIG"

// Config is a client config file (pacctl.yaml), shaped like a kubeconfig:
//
//	currentContext: dev
//	contexts:
//	- name: dev
//	  server: 127.0.0.1:7443
//	  token: ""
//	  namespace: ""
//
// `pacific dev` writes one; pacctl and integrators read it. It may hold
// tokens, so Save writes it readable by its owner only.
type Config struct {
	CurrentContext string    `yaml:"currentContext"`
	Contexts       []Context `yaml:"contexts"`
}

// Context is one named API target with its credentials.
type Context struct {
	Name string `yaml:"name"`
	// Server is host:port of the API. Servers lists several replicas
	// instead (or in addition); the client spreads calls over them.
	Server  string   `yaml:"server"`
	Servers []string `yaml:"servers,omitempty"`
	Token   string   `yaml:"token"`
	// RefreshToken trades for a new Token when it expires (pacctl does so
	// automatically); User is who the tokens belong to, for display.
	RefreshToken string `yaml:"refreshToken,omitempty"`
	User         string `yaml:"user,omitempty"`
	// Namespace is the default namespace for namespaced kinds.
	Namespace string `yaml:"namespace"`
	// CertificateAuthorityData is the PEM of the CA that signed the API
	// servers' certificates (Pacific's internal CA); empty trusts the
	// system's roots.
	CertificateAuthorityData string `yaml:"certificateAuthorityData,omitempty"`
}

// ConfigError is a problem in a config file, naming the field:
// "pacctl.yaml:4: contexts[0].server: want host:port".
type ConfigError struct {
	File  string
	Line  int // 0 when unknown
	Field string
	Msg   string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// DefaultConfigPath is ~/.pacific/pacctl.yaml.
func DefaultConfigPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default config path: %w", err)
	}
	return filepath.Join(home, ".pacific", "pacctl.yaml"), nil
}

// ConfigPath picks the config file: flag if set, else $PACCTL_CONFIG, else
// the default path. explicit reports whether the user named the file (so a
// missing file is an error rather than "no config yet").
func ConfigPath(flag string) (path string, explicit bool, err error) {
	if flag != "" {
		return flag, true, nil
	}
	if env := os.Getenv(ConfigEnv); env != "" {
		return env, true, nil
	}
	path, err = DefaultConfigPath()
	return path, false, err
}

// LoadConfigFile reads and checks a config file. A missing file is an
// error that matches errors.Is(err, fs.ErrNotExist); a malformed one is a
// *ConfigError naming the line and field.
func LoadConfigFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read client config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses config file content; name is used in errors.
func ParseConfig(name string, data []byte) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &Config{}, nil // empty file
		}
		return nil, &ConfigError{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	p := configParser{file: name, lines: map[string]int{}}
	cfg := p.config(&doc)
	if p.err != nil {
		return nil, p.err
	}
	if err := cfg.check(name, p.lines); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Context returns the named context, or the current one for "".
func (c *Config) Context(name string) (*Context, error) {
	if name == "" {
		name = c.CurrentContext
	}
	if name == "" {
		if len(c.Contexts) == 1 {
			return &c.Contexts[0], nil
		}
		return nil, errors.New("no current context: set currentContext in the config or pass --context")
	}
	for i := range c.Contexts {
		if c.Contexts[i].Name == name {
			return &c.Contexts[i], nil
		}
	}
	return nil, fmt.Errorf("no context named %q in the client config", name)
}

// Options returns client options for the named context ("" for current).
func (c *Config) Options(contextName string) (Options, error) {
	ctx, err := c.Context(contextName)
	if err != nil {
		return Options{}, err
	}
	return ctx.Options(), nil
}

// Options returns client options for the context.
func (c *Context) Options() Options {
	return Options{Servers: c.Addresses(), Token: c.Token, CAPEM: []byte(c.CertificateAuthorityData)}
}

// Addresses returns Server and Servers together.
func (c *Context) Addresses() []string {
	var out []string
	if c.Server != "" {
		out = append(out, c.Server)
	}
	return append(out, c.Servers...)
}

// SetContext adds ctx, or replaces the context of the same name.
func (c *Config) SetContext(ctx Context) {
	for i := range c.Contexts {
		if c.Contexts[i].Name == ctx.Name {
			c.Contexts[i] = ctx
			return
		}
	}
	c.Contexts = append(c.Contexts, ctx)
}

// Save writes the config atomically (temporary file, fsync, rename) with
// mode 0600, creating the directory (0700) if needed.
func (c *Config) Save(path string) error {
	if err := c.check(path, nil); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("encode client config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode client config: %w", err)
	}
	data := buf.Bytes()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save client config: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save client config: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save client config: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save client config: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save client config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save client config: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save client config: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; not all file systems support it
		d.Close()
	}
	return nil
}

// check validates what the parser cannot: names, references, addresses.
// lines maps field paths to lines (nil when not parsed from a file).
func (c *Config) check(file string, lines map[string]int) error {
	fail := func(field, msg string) error {
		line := lines[field]
		if line == 0 { // a missing field: point at its parent
			line = lines[field[:max(strings.LastIndexByte(field, '.'), 0)]]
		}
		return &ConfigError{File: file, Line: line, Field: field, Msg: msg}
	}
	seen := map[string]bool{}
	for i, ctx := range c.Contexts {
		field := fmt.Sprintf("contexts[%d]", i)
		switch {
		case ctx.Name == "":
			return fail(field+".name", "required")
		case seen[ctx.Name]:
			return fail(field+".name", fmt.Sprintf("duplicate context %q", ctx.Name))
		}
		seen[ctx.Name] = true
		if len(ctx.Addresses()) == 0 {
			return fail(field+".server", "required")
		}
		if ctx.Server != "" {
			if _, err := checkServers([]string{ctx.Server}); err != nil {
				return fail(field+".server", err.Error())
			}
		}
		for j, s := range ctx.Servers {
			if _, err := checkServers([]string{s}); err != nil {
				return fail(fmt.Sprintf("%s.servers[%d]", field, j), err.Error())
			}
		}
		if ctx.CertificateAuthorityData != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(ctx.CertificateAuthorityData)) {
			return fail(field+".certificateAuthorityData", "no PEM certificate in it")
		}
	}
	if c.CurrentContext != "" && !seen[c.CurrentContext] {
		return fail("currentContext", fmt.Sprintf("no context named %q", c.CurrentContext))
	}
	return nil
}

// IsNotExist reports whether err says a config file does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
