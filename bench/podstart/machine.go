package main

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/services/hostagent/runtime/runc"
)

// checkMachine verifies what the benchmark needs and resolves o.runc and
// o.busybox to absolute paths. It installs nothing.
func checkMachine(o *options) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (runc, cgroups, namespaces, overlay mounts)")
	}
	if o.runc == "" {
		o.runc = findRunc()
	}
	if o.runc == "" {
		return errors.New("runc not found: run ./hack/install-runc.sh (runc 1.5.2 into .bin) or pass -runc")
	}
	p, err := exec.LookPath(o.runc)
	if err != nil {
		return fmt.Errorf("runc %q: %w (./hack/install-runc.sh installs one)", o.runc, err)
	}
	if o.runc, err = filepath.Abs(p); err != nil {
		return err
	}
	if err := checkStatic(o.busybox); err != nil {
		return fmt.Errorf("busybox: %w (apt-get install busybox-static, or pass -busybox)", err)
	}
	return nil
}

// findRepo returns the directory with go.work at or above the working
// directory ("" if none).
func findRepo() string {
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

// findRunc returns <repo>/.bin/runc (hack/install-runc.sh) when the working
// directory is inside the repository, else runc from PATH, else "".
func findRunc() string {
	if repo := findRepo(); repo != "" {
		p := filepath.Join(repo, ".bin", "runc")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	p, _ := exec.LookPath("runc")
	return p
}

// buildShim builds cmd/pacific-shim into dir, as hack/dev.sh installs it
// next to pacific, and returns its path.
func buildShim(ctx context.Context, dir string) (string, error) {
	repo := findRepo()
	if repo == "" {
		return "", errors.New("-shim small: run from inside the repository (it builds ./cmd/pacific-shim), or pass -shim self or -shim PATH")
	}
	bin := filepath.Join(dir, runc.ShimBinary)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pacific-shim")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pacific-shim: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

// checkStatic fails unless path is a statically linked ELF executable: the
// image has no libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// mountsUnder lists the mount points at or below dir, in mount order.
func mountsUnder(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeOctal(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, nil
}

// unescapeOctal undoes mountinfo's \ooo escapes (space, tab, newline, \).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cleanupDir unmounts whatever is still mounted under dir (deepest first)
// and removes it.
func cleanupDir(dir string, log *slog.Logger) {
	if mps, err := mountsUnder(dir); err == nil {
		for i := len(mps) - 1; i >= 0; i-- {
			if err := unix.Unmount(mps[i], unix.MNT_DETACH); err != nil {
				log.Warn("clean-up: unmount", "path", mps[i], "err", err)
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		log.Warn("clean-up: remove state dir", "dir", dir, "err", err)
	}
}
