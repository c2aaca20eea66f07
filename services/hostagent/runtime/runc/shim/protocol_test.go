package shim

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestArgsRoundTrip(t *testing.T) {
	c := Config{ID: "c1", Bundle: "/b", Runc: "/bin/runc", RuncRoot: "/r", LogPath: "/l/0.log",
		LogMaxBytes: 1024, LogMaxFiles: 2, TTY: true}
	got, err := parseArgs(c.Args())
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatalf("round trip: %+v != %+v", got, c)
	}
	c.TTY, c.Start = false, true
	if got, err := parseArgs(c.Args()); err != nil || got != c {
		t.Fatalf("round trip with Start: %+v, %v; want %+v", got, err, c)
	}
	c.PinRunc, c.RuncCPU, c.RuncFD = true, 1, 4
	if got, err := parseArgs(c.Args()); err != nil || got != c {
		t.Fatalf("round trip with --runc-cpu and --runc-fd: %+v, %v; want %+v", got, err, c)
	}
	if _, err := parseArgs([]string{"--id", "x"}); err == nil {
		t.Fatal("missing flags accepted")
	}
}

func TestExitFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadExit(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadExit of a running container: %v", err)
	}
	want := Exit{Pid: 42, ExitCode: 137, Signal: 9, OOMKilled: true, FinishedAt: time.Now().UTC().Round(0)}
	if err := writeExit(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExit(dir)
	if err != nil || !got.FinishedAt.Equal(want.FinishedAt) {
		t.Fatalf("ReadExit = %+v %v", got, err)
	}
	got.FinishedAt = want.FinishedAt
	if got != want {
		t.Fatalf("ReadExit = %+v, want %+v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, ExitFile+".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temporary file left")
	}
}

func TestRuncError(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "runc.log")
	os.WriteFile(log, []byte(`{"level":"info","msg":"hello"}
{"level":"error","msg":"exec: \"nope\": executable file not found in $PATH"}
`), 0o600)
	if got := RuncError(log, "exit status 1"); got != `exec: "nope": executable file not found in $PATH` {
		t.Fatalf("RuncError = %q", got)
	}
	if got := RuncError(filepath.Join(dir, "missing"), "exit status 1"); got != "exit status 1" {
		t.Fatalf("RuncError fallback = %q", got)
	}
}
