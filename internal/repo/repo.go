package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Root returns the directory with go.work at or above the working
// directory ("" if none).
func Root() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for ; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
	}
	return ""
}

// BuildShim builds the C container shim (cmd/pacific-shim) of the
// repository at root into out with hack/build-shim.sh, as hack/dev.sh
// installs it next to pacific.
func BuildShim(ctx context.Context, root, out string) error {
	if root == "" {
		return errors.New("build pacific-shim: not inside the repository (no go.work above the working directory)")
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "build-shim.sh"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("hack/build-shim.sh: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return nil
}
