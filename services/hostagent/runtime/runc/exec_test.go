package runc

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func TestExec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	e.run(e.spec("box", "sleep", "60"))

	out, errOut, code, err := e.execOut("box", runtime.ExecSpec{
		Args: []string{"sh", "-c", "echo out $FOO; echo err >&2; exit 5"}, Env: []string{"FOO=bar"},
	})
	if err != nil || code != 5 || out != "out bar\n" || errOut != "err\n" {
		t.Fatalf("exec = %q %q %d %v", out, errOut, code, err)
	}
	// The runtime's own settings for runc (Options.ChildEnv) reach neither
	// the container's process nor an exec'd one.
	out, _, code, err = e.execOut("box", runtime.ExecSpec{
		Args: []string{"sh", "-c", `echo "[$GOMAXPROCS]"; tr '\0' '\n' </proc/1/environ | grep -c GOMAXPROCS; true`},
	})
	if err != nil || code != 0 || out != "[]\n0\n" {
		t.Fatalf("GOMAXPROCS leaked into the container: %q %d %v", out, code, err)
	}
	// stdin is passed through and closed at EOF.
	var stdout bytes.Buffer
	p, err := e.rt.Exec(ctx, "box", runtime.ExecSpec{Args: []string{"cat"}, Stdin: strings.NewReader("piped\n"), Stdout: &stdout})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(ctx); err != nil || code != 0 || stdout.String() != "piped\n" {
		t.Fatalf("cat = %q %d %v", stdout.String(), code, err)
	}
	// User and cwd.
	out, _, code, err = e.execOut("box", runtime.ExecSpec{
		Args: []string{"sh", "-c", "id -u; id -g; echo $PWD"}, User: &runtime.User{UID: 65534, GID: 65534}, Cwd: "/tmp",
	})
	if err != nil || code != 0 || out != "65534\n65534\n/tmp\n" {
		t.Fatalf("user/cwd = %q %d %v", out, code, err)
	}
	// TTY: the process has a terminal; resize reaches it.
	pr, pw := io.Pipe()
	var ttyOut bytes.Buffer
	p, err = e.rt.Exec(ctx, "box", runtime.ExecSpec{
		Args: []string{"sh", "-c", "tty; read line; stty size 2>/dev/null || echo nostty; echo got-$line"},
		TTY:  true, Stdin: pr, Stdout: &ttyOut, Size: &runtime.WindowSize{Width: 100, Height: 40},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Resize(runtime.WindowSize{Width: 120, Height: 50}); err != nil {
		t.Fatal(err)
	}
	pw.Write([]byte("hello\n"))
	code, err = p.Wait(ctx)
	pw.Close()
	if err != nil || code != 0 {
		t.Fatalf("tty exec: %d %v (%q)", code, err, ttyOut.String())
	}
	if s := ttyOut.String(); !strings.Contains(s, "/dev/pts/") || !strings.Contains(s, "got-hello") {
		t.Fatalf("tty output %q", s)
	}
	// A signal reaches the process: 128+15.
	p, err = e.rt.Exec(ctx, "box", runtime.ExecSpec{Args: []string{"sh", "-c", "echo up; exec sleep 30"}, Stdout: &stdout})
	if err != nil {
		t.Fatal(err)
	}
	poll(t, "exec pid file", 5*time.Second, func() bool { return p.(*execProcess).pid() > 0 })
	if err := p.Signal(15); err != nil {
		t.Fatal(err)
	}
	if code, _ := p.Wait(ctx); code != 143 {
		t.Fatalf("signalled exec exit code %d, want 143", code)
	}

	// Into a stopped container: ErrNotRunning (→ FailedPrecondition).
	if _, err := e.rt.StopContainer(ctx, "box", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.execOut("box", runtime.ExecSpec{Args: []string{"true"}}); !errors.Is(err, runtime.ErrNotRunning) {
		t.Fatalf("exec into stopped container: %v", err)
	}
	// Into a created (not started) one, too.
	if _, err := e.rt.CreateContainer(ctx, e.spec("idle", "sleep", "60")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.execOut("idle", runtime.ExecSpec{Args: []string{"true"}}); !errors.Is(err, runtime.ErrNotRunning) {
		t.Fatalf("exec into created container: %v", err)
	}
	if _, _, _, err := e.execOut("nope", runtime.ExecSpec{Args: []string{"true"}}); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("exec into missing container: %v", err)
	}
}
