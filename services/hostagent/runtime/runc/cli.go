package runc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// cli runs the runc binary with its own state root.
type cli struct {
	path string
	root string
	env  []string // added to runc's environment (Options.ChildEnv)
	// exe, if set, is the sealed copy the commands run from (see start).
	exe *sealedRunc
}

func (c cli) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.path, append([]string{"--root", c.root}, args...)...)
	if len(c.env) > 0 {
		cmd.Env = append(os.Environ(), c.env...)
	}
	return cmd
}

// start starts a command made by command: from the sealed copy of runc
// when there is one, the binary that created the containers (decision
// 0036).
func (c cli) start(cmd *exec.Cmd) error { return c.exe.start(cmd) }

// run runs runc and maps its failures onto the runtime's errors.
func (c cli) run(ctx context.Context, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := c.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := c.start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		return nil, c.wrap(args, stderr.String(), err)
	}
	return stdout.Bytes(), nil
}

var runcMsg = regexp.MustCompile(`msg="((?:[^"\\]|\\.)*)"`)

// wrap turns runc's stderr into an error, wrapping ErrNotFound or
// ErrNotRunning when runc says so.
func (c cli) wrap(args []string, stderr string, err error) error {
	msg := strings.TrimSpace(stderr)
	if m := runcMsg.FindAllStringSubmatch(stderr, -1); len(m) > 0 {
		if s, uerr := strconv.Unquote(`"` + m[len(m)-1][1] + `"`); uerr == nil {
			msg = s
		}
	}
	if msg == "" {
		msg = err.Error()
	}
	op := "runc"
	if len(args) > 0 {
		op += " " + args[0]
	}
	switch {
	case strings.Contains(msg, "does not exist"):
		return fmt.Errorf("%s: %s: %w", op, msg, runtime.ErrNotFound)
	case strings.Contains(msg, "not running"), strings.Contains(msg, "stopped container"),
		strings.Contains(msg, "container has already exited"):
		return fmt.Errorf("%s: %s: %w", op, msg, runtime.ErrNotRunning)
	}
	return fmt.Errorf("%s: %s", op, msg)
}

// runcState is the output of `runc state`.
type runcState struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"` // creating, created, running, paused, stopped
	Bundle string `json:"bundle"`
}

func (c cli) state(ctx context.Context, id string) (runcState, error) {
	var s runcState
	out, err := c.run(ctx, "state", id)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(out, &s); err != nil {
		return s, fmt.Errorf("runc state: %w", err)
	}
	return s, nil
}

func (c cli) list(ctx context.Context) ([]runcState, error) {
	out, err := c.run(ctx, "list", "--format", "json")
	if err != nil {
		return nil, err
	}
	var ss []runcState
	if err := json.Unmarshal(out, &ss); err != nil {
		return nil, fmt.Errorf("runc list: %w", err)
	}
	return ss, nil
}

// check verifies the binary is a usable runc (≥ 1.2, with seccomp unless
// noSeccomp) and returns its version.
func (c cli) check(ctx context.Context, noSeccomp bool) (string, error) {
	out, err := exec.CommandContext(ctx, c.path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("runc %q not usable: %w", c.path, err)
	}
	m := regexp.MustCompile(`runc version (\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		return "", fmt.Errorf("runc %q: cannot parse version from %q", c.path, out)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	version := m[1] + "." + m[2] + "." + m[3]
	if major < 1 || (major == 1 && minor < 2) {
		return version, fmt.Errorf("runc %s at %q is too old (CVE-2024-21626): install ≥ 1.2 (hack/install-runc.sh)", version, c.path)
	}
	if noSeccomp {
		return version, nil
	}
	out, err = exec.CommandContext(ctx, c.path, "features").Output()
	if err != nil {
		return version, fmt.Errorf("runc features: %w", err)
	}
	var f struct {
		Linux struct {
			Seccomp struct {
				Enabled *bool `json:"enabled"`
			} `json:"seccomp"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(out, &f); err != nil {
		return version, fmt.Errorf("runc features: %w", err)
	}
	if f.Linux.Seccomp.Enabled == nil || !*f.Linux.Seccomp.Enabled {
		return version, errors.New("runc was built without seccomp support: rebuild it with -tags seccomp (hack/install-runc.sh) or set NoSeccomp")
	}
	return version, nil
}
