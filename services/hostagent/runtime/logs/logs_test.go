package logs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock returns strictly increasing times, 1 s apart.
func fakeClock() func() time.Time {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	var n atomic.Int64
	return func() time.Time { return t0.Add(time.Duration(n.Add(1)) * time.Second) }
}

func readAllEntries(t *testing.T, path string, opts ReadOptions) []Entry {
	t.Helper()
	var out []Entry
	err := Read(context.Background(), path, opts, func(e Entry) error {
		e.Content = bytes.Clone(e.Content)
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

func contents(es []Entry) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, string(e.Content))
	}
	return strings.Join(parts, ",")
}

func TestFormatRoundTrip(t *testing.T) {
	ts := time.Date(2026, 11, 23, 10, 0, 0, 5, time.UTC)
	for _, e := range []Entry{
		{Time: ts, Stream: Stdout, Content: []byte("hello world")},
		{Time: ts, Stream: Stderr, Partial: true, Content: []byte("  spaced  ")},
		{Time: ts, Stream: Stdout, Content: nil},
	} {
		line := AppendEntry(nil, e)
		if line[len(line)-1] != '\n' {
			t.Fatalf("no newline: %q", line)
		}
		got, err := ParseEntry(line[:len(line)-1])
		if err != nil {
			t.Fatalf("ParseEntry(%q): %v", line, err)
		}
		if !got.Time.Equal(e.Time) || got.Stream != e.Stream || got.Partial != e.Partial || !bytes.Equal(got.Content, e.Content) {
			t.Fatalf("round trip %q: got %+v want %+v", line, got, e)
		}
	}
	if !strings.HasPrefix(string(AppendEntry(nil, Entry{Time: ts, Stream: Stdout, Content: []byte("x")})), "2026-11-23T10:00:00.000000005Z stdout F x") {
		t.Fatal("not CRI format")
	}
	for _, bad := range []string{"", "nonsense", "2026-11-23T10:00:00Z stdout X hi", "yesterday stdout F hi"} {
		if _, err := ParseEntry([]byte(bad)); err == nil {
			t.Errorf("ParseEntry(%q) accepted", bad)
		}
	}
}

func TestWriterRotationAndTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c", "0.log")
	// Each entry is ~40 bytes; 200 bytes per file → ~4 entries per file.
	w, err := OpenWriter(path, WriterOptions{MaxBytes: 200, MaxFiles: 3, Now: fakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&in, "line-%02d\n", i)
	}
	if err := w.CopyStream(Stdout, strings.NewReader(in.String())); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		st, err := os.Stat(RotatedPath(path, i))
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		if st.Size() > 200 {
			t.Fatalf("file %d has %d bytes > 200", i, st.Size())
		}
	}
	if _, err := os.Stat(RotatedPath(path, 3)); err == nil {
		t.Fatal("more than MaxFiles files kept")
	}
	all := readAllEntries(t, path, ReadOptions{Tail: -1})
	if len(all) < 8 || string(all[len(all)-1].Content) != "line-39" {
		t.Fatalf("all: %s", contents(all))
	}
	for i := 1; i < len(all); i++ {
		if !all[i].Time.After(all[i-1].Time) {
			t.Fatalf("entries out of order: %s", contents(all))
		}
	}
	// Tail across files: more than the current file holds.
	tail := readAllEntries(t, path, ReadOptions{Tail: 7})
	if got, want := contents(tail), "line-33,line-34,line-35,line-36,line-37,line-38,line-39"; got != want {
		t.Fatalf("tail 7 = %s, want %s", got, want)
	}
	if got := readAllEntries(t, path, ReadOptions{Tail: 0}); len(got) != 0 {
		t.Fatalf("tail 0 = %s", contents(got))
	}
	// Since: the last three entries.
	since := all[len(all)-3].Time
	if got := contents(readAllEntries(t, path, ReadOptions{Tail: -1, Since: since})); got != "line-37,line-38,line-39" {
		t.Fatalf("since = %s", got)
	}
	if got := contents(readAllEntries(t, path, ReadOptions{Tail: 10, Since: since})); got != "line-37,line-38,line-39" {
		t.Fatalf("tail+since = %s", got)
	}
}

func TestPartialLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := OpenWriter(path, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", MaxLineSize+10)
	if err := w.CopyStream(Stderr, strings.NewReader(long+"\nshort\r\nno-newline")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	es := readAllEntries(t, path, ReadOptions{Tail: -1})
	if len(es) != 4 {
		t.Fatalf("got %d entries", len(es))
	}
	if !es[0].Partial || es[1].Partial || string(es[0].Content)+string(es[1].Content) != long {
		t.Fatalf("long line not split into P+F")
	}
	if string(es[2].Content) != "short\r" || es[2].Stream != Stderr {
		t.Fatalf("entry 2 = %q", es[2].Content)
	}
	if string(es[3].Content) != "no-newline" || es[3].Partial {
		t.Fatalf("entry 3 = %+v", es[3])
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := OpenWriter(path, WriterOptions{MaxBytes: 120, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	copyDone := make(chan error, 1)
	go func() { copyDone <- w.CopyStream(Stdout, pr) }()
	fmt.Fprintln(pw, "before")

	var finished atomic.Bool
	got := make(chan string, 100)
	readDone := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		readDone <- Read(ctx, path, ReadOptions{Tail: 1, Follow: true, Done: finished.Load, PollInterval: 5 * time.Millisecond},
			func(e Entry) error { got <- string(e.Content); return nil })
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("followed %q, want %q", s, want)
			}
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %q", want)
		}
	}
	expect("before")
	// Each line forces a rotation (2 entries of ~45 bytes per file at most),
	// and the reader must see every one exactly once, in order.
	for i := 0; i < 6; i++ {
		line := fmt.Sprintf("after-%d", i)
		fmt.Fprintln(pw, line)
		expect(line)
	}
	pw.Close()
	if err := <-copyDone; err != nil {
		t.Fatal(err)
	}
	w.Close()
	finished.Store(true)
	if err := <-readDone; err != nil {
		t.Fatalf("follow: %v", err)
	}
	select {
	case s := <-got:
		t.Fatalf("unexpected extra entry %q", s)
	default:
	}
}

func TestFollowMissingFileAndCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, path, ReadOptions{Tail: -1, Follow: true, PollInterval: 5 * time.Millisecond},
			func(e Entry) error { got <- string(e.Content); return nil })
	}()
	w, err := OpenWriter(path, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.WriteEntry(Entry{Time: time.Now(), Stream: Stdout, Content: []byte("late")}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "late" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow never saw the file appear")
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Read after cancel = %v", err)
	}
}
