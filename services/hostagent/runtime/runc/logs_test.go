package runc

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func TestLogsPreviousAndTTY(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	if _, err := e.rt.CreateSandbox(ctx, runtime.SandboxSpec{ID: "pod"}); err != nil {
		t.Fatal(err)
	}
	// Two runs (attempts) of container "main".
	for attempt, word := range []string{"first", "second"} {
		s := e.spec("main-"+word, "sh", "-c", "echo "+word+"; echo line2")
		s.SandboxID, s.Name, s.Attempt = "pod", "main", attempt
		e.run(s)
		e.wait(s.ID)
		if err := e.rt.RemoveContainer(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	latest := e.logs(runtime.LogOptions{SandboxID: "pod", Name: "main", Tail: 1})
	if !slices.Equal(latest, []string{"stdout line2"}) {
		t.Fatalf("latest tail 1 = %q", latest)
	}
	prev := e.logs(runtime.LogOptions{SandboxID: "pod", Name: "main", Previous: true, Tail: -1})
	if !slices.Equal(prev, []string{"stdout first", "stdout line2"}) {
		t.Fatalf("previous = %q", prev)
	}
	err := e.rt.ReadLogs(ctx, runtime.LogOptions{SandboxID: "pod", Name: "other", Tail: -1}, nil)
	if !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("logs of unknown container: %v", err)
	}

	// A TTY container: output goes to the log (one stream, no \r).
	s := e.spec("tty", "sh", "-c", "tty; echo hello-tty")
	s.SandboxID, s.TTY = "pod", true
	e.run(s)
	if st := e.wait("tty"); st.ExitCode != 0 {
		t.Fatalf("tty: %+v", st)
	}
	got := e.logs(logOpts("tty"))
	if len(got) != 2 || !strings.HasPrefix(got[0], "stdout /dev/pts/") || got[1] != "stdout hello-tty" {
		t.Fatalf("tty log %q", got)
	}
}
