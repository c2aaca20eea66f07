package pull

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// dockerAuth is one entry of a docker config "auths" map.
type dockerAuth struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

type credential struct {
	host string // lower-case registry host[:port]
	path string // optional repository path prefix, no slashes around
	cfg  authn.AuthConfig
}

// Keychain resolves registry credentials from pull secrets. It implements
// authn.Keychain. The zero value (or a nil *Keychain) is anonymous.
type Keychain struct {
	creds []credential
}

var _ authn.Keychain = (*Keychain)(nil)

// KeychainFromDockerConfigs builds a keychain from pull secrets, each the
// bytes of a docker config JSON: either {"auths": {"host": {...}}} (the
// kubernetes.io/dockerconfigjson layout) or the legacy {"host": {...}}
// (.dockercfg). Keys may carry a scheme and a path ("https://index.docker.io/v1/",
// "registry.example.com/team"): a path limits the entry to repositories
// under it, and the longest matching key wins. When several secrets match
// equally, the first one given wins. Credential helpers ("credsStore",
// "credHelpers") are not supported: a node must not run helpers named by
// tenants.
func KeychainFromDockerConfigs(configs ...[]byte) (*Keychain, error) {
	kc := &Keychain{}
	for i, raw := range configs {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(raw, &top); err != nil {
			return nil, fmt.Errorf("%w: secret %d: %v", ErrInvalidPullSecret, i, err)
		}
		entries := map[string]dockerAuth{}
		if auths, ok := top["auths"]; ok {
			if err := json.Unmarshal(auths, &entries); err != nil {
				return nil, fmt.Errorf("%w: secret %d: auths: %v", ErrInvalidPullSecret, i, err)
			}
		} else {
			for k, v := range top {
				if k == "credsStore" || k == "credHelpers" || k == "HttpHeaders" {
					continue
				}
				var a dockerAuth
				if err := json.Unmarshal(v, &a); err != nil {
					return nil, fmt.Errorf("%w: secret %d: entry %q: %v", ErrInvalidPullSecret, i, k, err)
				}
				entries[k] = a
			}
		}
		// Map order is random; sort so that lookups are deterministic.
		keys := make([]string, 0, len(entries))
		for k := range entries {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			a := entries[k]
			host, path := splitAuthKey(k)
			if host == "" {
				continue
			}
			cfg := authn.AuthConfig{
				Username:      a.Username,
				Password:      a.Password,
				IdentityToken: a.IdentityToken,
				RegistryToken: a.RegistryToken,
			}
			if a.Auth != "" && cfg.Username == "" && cfg.Password == "" {
				dec, err := base64.StdEncoding.DecodeString(a.Auth)
				if err != nil {
					return nil, fmt.Errorf("%w: secret %d: entry %q: auth is not base64: %v", ErrInvalidPullSecret, i, k, err)
				}
				user, pass, ok := strings.Cut(string(dec), ":")
				if !ok {
					return nil, fmt.Errorf("%w: secret %d: entry %q: auth is not user:password", ErrInvalidPullSecret, i, k)
				}
				cfg.Username, cfg.Password = user, pass
			}
			kc.creds = append(kc.creds, credential{host: host, path: path, cfg: cfg})
		}
	}
	return kc, nil
}

// Resolve implements authn.Keychain.
func (k *Keychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if k == nil {
		return authn.Anonymous, nil
	}
	host := canonicalHost(res.RegistryStr())
	repoPath := ""
	if full := res.String(); strings.HasPrefix(strings.ToLower(full), strings.ToLower(res.RegistryStr())+"/") {
		repoPath = full[len(res.RegistryStr())+1:]
		if i := strings.IndexAny(repoPath, ":@"); i >= 0 {
			repoPath = repoPath[:i]
		}
	}
	best := -1
	bestLen := -1
	for i, c := range k.creds {
		if c.host != host {
			continue
		}
		if c.path != "" && repoPath != c.path && !strings.HasPrefix(repoPath, c.path+"/") {
			continue
		}
		if len(c.path) > bestLen {
			best, bestLen = i, len(c.path)
		}
	}
	if best < 0 {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(k.creds[best].cfg), nil
}

// splitAuthKey turns a docker config key into (canonical host, path).
func splitAuthKey(k string) (string, string) {
	k = strings.TrimSpace(k)
	k = strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
	host, path, _ := strings.Cut(k, "/")
	path = strings.Trim(path, "/")
	// Docker Hub's historical key carries the API version as a path.
	if path == "v1" || path == "v2" {
		path = ""
	}
	return canonicalHost(host), path
}

// canonicalHost lower-cases a registry host and folds Docker Hub's aliases.
func canonicalHost(h string) string {
	h = strings.ToLower(h)
	switch h {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "index.docker.io"
	}
	return h
}
