package runc

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// containerMeta is what the runtime persists per container (meta.json).
type containerMeta struct {
	ID          string            `json:"id"`
	SandboxID   string            `json:"sandboxID,omitempty"`
	Name        string            `json:"name,omitempty"`
	Attempt     int               `json:"attempt"`
	Bundle      string            `json:"bundle"`
	LogPath     string            `json:"logPath"`
	CgroupsPath string            `json:"cgroupsPath"`
	TTY         bool              `json:"tty,omitempty"`
	ShimPid     int               `json:"shimPid"`
	ShimStart   uint64            `json:"shimStart"` // /proc/<pid>/stat starttime
	Pid         int               `json:"pid"`
	CreatedAt   time.Time         `json:"createdAt"`
	StartedAt   time.Time         `json:"startedAt,omitzero"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// sandboxMeta is what the runtime persists per sandbox (sandbox.json).
type sandboxMeta struct {
	ID         string             `json:"id"`
	Hostname   string             `json:"hostname"`
	Labels     map[string]string  `json:"labels,omitempty"`
	Namespaces runtime.Namespaces `json:"namespaces"`
	CreatedAt  time.Time          `json:"createdAt"`
}

const (
	metaFile    = "meta.json"
	sandboxFile = "sandbox.json"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func validateID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%w: %s ID %q must match %s", runtime.ErrInvalidSpec, kind, id, idPattern)
	}
	return nil
}

// writeJSON writes v to path atomically.
func writeJSON(path string, v any) error {
	// Compact: config.json with its seccomp profile is written (and read
	// by runc) once per start; `jq .` shows it indented.
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

// procStartTime returns the start time (clock ticks since boot) of pid, to
// tell a process from a later one that reuses its PID.
func procStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces and parentheses.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}
