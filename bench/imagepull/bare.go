package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// bareRun is one measured skopeo copy + tar xzf.
type bareRun struct {
	total    time.Duration
	copy     time.Duration // skopeo copy to dir:
	untar    time.Duration // all tar xzf, one after another
	perLayer []time.Duration
	dirs     []string // unpacked layer directories, bottom first
}

func (r *bareRun) String() string {
	var per []string
	for _, d := range r.perLayer {
		per = append(per, secs(d))
	}
	return fmt.Sprintf("total %s = skopeo copy %s + tar xzf %s [per layer %s]",
		secs(r.total), secs(r.copy), secs(r.untar), strings.Join(per, " "))
}

// tools are the external programs the bare side runs.
type tools struct {
	skopeo string
	tar    string
	// skopeoArgs go before the subcommand (e.g. --insecure-policy when
	// the machine has no /etc/containers/policy.json).
	skopeoArgs []string
}

// pullBare copies ref into dir/blobs with skopeo and untars each layer
// blob into dir/layer<i>.
func pullBare(ctx context.Context, t tools, ref, dir string) (*bareRun, error) {
	blobs := filepath.Join(dir, "blobs")
	args := append(append([]string{}, t.skopeoArgs...),
		"copy", "--quiet", "--src-tls-verify=false", "docker://"+ref, "dir:"+blobs)
	start := time.Now()
	if err := runTool(ctx, t.skopeo, args...); err != nil {
		return nil, err
	}
	copied := time.Now()
	layers, err := dirLayers(blobs)
	if err != nil {
		return nil, err
	}
	r := &bareRun{copy: copied.Sub(start)}
	for i, digest := range layers {
		target := filepath.Join(dir, fmt.Sprintf("layer%d", i))
		t0 := time.Now()
		if err := os.Mkdir(target, 0o755); err != nil {
			return nil, err
		}
		hex := strings.TrimPrefix(digest, "sha256:")
		if err := runTool(ctx, t.tar, "xzf", filepath.Join(blobs, hex), "-C", target); err != nil {
			return nil, err
		}
		r.perLayer = append(r.perLayer, time.Since(t0))
		r.dirs = append(r.dirs, target)
	}
	end := time.Now()
	r.untar, r.total = end.Sub(copied), end.Sub(start)
	return r, nil
}

// dirLayers reads the layer digests, bottom first, from the manifest
// skopeo's dir: transport wrote.
func dirLayers(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("skopeo output: %w", err)
	}
	var m struct {
		Layers []struct {
			Digest string `json:"digest"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("skopeo output: manifest.json: %w", err)
	}
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("skopeo output: manifest.json lists no layers")
	}
	out := make([]string, len(m.Layers))
	for i, l := range m.Layers {
		out[i] = l.Digest
	}
	return out, nil
}

// runTool runs a program; its output goes into the error if it fails.
func runTool(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
