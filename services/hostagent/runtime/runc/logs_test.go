package runc

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/openpacific/pacific/services/hostagent/runtime"
	"github.com/openpacific/pacific/services/hostagent/runtime/logs"
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

// The shim writes the CRI log format with size-bounded rotation, and cuts
// lines longer than logs.MaxLineSize into partial entries (hack/test.sh
// runs this under the C and the Go shim).
func TestShimLogRotationAndLongLines(t *testing.T) {
	t.Parallel()
	const maxBytes, maxFiles = 4096, 3
	e := newEnv(t, func(o *Options) { o.LogMaxBytes, o.LogMaxFiles = maxBytes, maxFiles })
	// 20480 a's on one line (10 doubled 11 times), then "end".
	long := e.spec("long", "sh", "-c", `s=aaaaaaaaaa; for i in 1 2 3 4 5 6 7 8 9 10 11; do s=$s$s; done; echo $s; echo end`)
	e.run(long)
	if st := e.wait("long"); st.ExitCode != 0 {
		t.Fatalf("long: %+v", st)
	}
	var entries []logs.Entry
	for i := maxFiles - 1; i >= 0; i-- {
		entries = append(entries, readLogFile(t, logs.RotatedPath(e.logPath("long"), i), maxBytes)...)
	}
	var got []string
	for _, en := range entries {
		got = append(got, fmt.Sprintf("%s %v %d", en.Stream, en.Partial, len(en.Content)))
	}
	want := []string{"stdout true 16384", "stdout false 4096", "stdout false 3"}
	if !slices.Equal(got, want) {
		t.Fatalf("entries (stream partial length) = %q, want %q", got, want)
	}

	lines := e.spec("lines", "sh", "-c", `i=0; while [ $i -lt 600 ]; do echo line-$i; i=$((i+1)); done`)
	e.run(lines)
	if st := e.wait("lines"); st.ExitCode != 0 {
		t.Fatalf("lines: %+v", st)
	}
	path := e.logPath("lines")
	if _, err := os.Stat(logs.RotatedPath(path, maxFiles)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a rotated file beyond -log-max-files %d: %v", maxFiles, err)
	}
	var out []string
	for i := maxFiles - 1; i >= 0; i-- {
		for _, en := range readLogFile(t, logs.RotatedPath(path, i), maxBytes) {
			out = append(out, string(en.Content))
		}
	}
	// What is kept is the end of the output, without gaps.
	if len(out) < 100 || out[len(out)-1] != "line-599" {
		t.Fatalf("kept %d lines ending %q", len(out), out[max(0, len(out)-1):])
	}
	for i := 1; i < len(out); i++ {
		var a, b int
		fmt.Sscanf(out[i-1], "line-%d", &a)
		fmt.Sscanf(out[i], "line-%d", &b)
		if b != a+1 {
			t.Fatalf("lines %q then %q: a gap", out[i-1], out[i])
		}
	}
}

// logPath is the log file of container id.
func (e *testEnv) logPath(id string) string {
	e.t.Helper()
	c, err := e.rt.get(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.meta.LogPath
}

// readLogFile parses every line of a log file (none if it does not exist)
// and checks the file kept to maxBytes unless it holds one entry.
func readLogFile(t *testing.T, path string, maxBytes int) []logs.Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []logs.Entry
	for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		en, err := logs.ParseEntry([]byte(line))
		if err != nil {
			t.Fatalf("%s: line %.80q: %v", path, line, err)
		}
		out = append(out, en)
	}
	if len(data) > maxBytes && len(out) > 1 {
		t.Fatalf("%s: %d bytes in %d entries, over the %d-byte limit", path, len(data), len(out), maxBytes)
	}
	return out
}
