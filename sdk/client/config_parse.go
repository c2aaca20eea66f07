package client

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// configParser walks a YAML config document so that every error can name
// its line and field path, and unknown fields are refused.
type configParser struct {
	file  string
	lines map[string]int // field path → line
	err   error
}

func (p *configParser) fail(n *yaml.Node, field, format string, args ...any) {
	if p.err == nil {
		p.err = &ConfigError{File: p.file, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
}

func (p *configParser) config(doc *yaml.Node) *Config {
	cfg := &Config{}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cfg
	}
	p.mapping(root, "", func(key string, v *yaml.Node) {
		switch key {
		case "currentContext":
			cfg.CurrentContext = p.str(v, key)
		case "contexts":
			if v.Kind != yaml.SequenceNode {
				if !isNull(v) {
					p.fail(v, key, "want a list of contexts")
				}
				return
			}
			for i, item := range v.Content {
				cfg.Contexts = append(cfg.Contexts, p.context(item, fmt.Sprintf("contexts[%d]", i)))
			}
		default:
			p.fail(v, key, "unknown field")
		}
	})
	return cfg
}

func (p *configParser) context(n *yaml.Node, path string) Context {
	var c Context
	p.mapping(n, path, func(key string, v *yaml.Node) {
		field := path + "." + key
		switch key {
		case "name":
			c.Name = p.str(v, field)
		case "server":
			c.Server = p.str(v, field)
		case "servers":
			if v.Kind != yaml.SequenceNode {
				if !isNull(v) {
					p.fail(v, field, "want a list of host:port addresses")
				}
				return
			}
			for i, s := range v.Content {
				c.Servers = append(c.Servers, p.str(s, fmt.Sprintf("%s[%d]", field, i)))
			}
		case "token":
			c.Token = p.str(v, field)
		case "refreshToken":
			c.RefreshToken = p.str(v, field)
		case "user":
			c.User = p.str(v, field)
		case "namespace":
			c.Namespace = p.str(v, field)
		case "certificateAuthorityData":
			c.CertificateAuthorityData = p.str(v, field)
		default:
			p.fail(v, field, "unknown field")
		}
	})
	return c
}

// mapping calls fn for each key of a mapping node, refusing duplicates.
func (p *configParser) mapping(n *yaml.Node, path string, fn func(key string, v *yaml.Node)) {
	p.lines[path] = n.Line
	if n.Kind != yaml.MappingNode {
		field := path
		if field == "" {
			field = "(top level)"
		}
		p.fail(n, field, "want a mapping of fields")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := k.Value
		if path != "" {
			field = path + "." + k.Value
		}
		if seen[k.Value] {
			p.fail(k, field, "duplicate field")
			return
		}
		seen[k.Value] = true
		p.lines[field] = k.Line
		fn(k.Value, v)
	}
}

// str returns a scalar as a string; null is "".
func (p *configParser) str(n *yaml.Node, field string) string {
	p.lines[field] = n.Line
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.fail(n, field, "want a string")
		return ""
	}
	return n.Value
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}
