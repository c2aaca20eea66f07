package manifest

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadPaths(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"b.yaml":        "b",
		"a.yml":         "a",
		"c.JSON":        "c",
		"notes.txt":     "skip",
		"sub.yaml/x":    "skip: a directory named like a manifest",
		"nested/d.yaml": "skip: not recursive",
		"single.conf":   "explicit files may have any name",
	})
	inputs, err := ReadPaths([]string{dir, filepath.Join(dir, "single.conf"), "-"}, strings.NewReader("stdin"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range inputs {
		got = append(got, strings.TrimPrefix(in.Source, dir+string(filepath.Separator))+"="+string(in.Data))
	}
	want := "a.yml=a b.yaml=b c.JSON=c single.conf=explicit files may have any name -=stdin"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %q\nwant %q", strings.Join(got, " "), want)
	}
}

func TestReadPathsErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		paths []string
		stdin io.Reader
		want  string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.yaml")}, nil, "no such file or directory"},
		{"stdin twice", []string{"-", "-"}, strings.NewReader(""), "more than once"},
		{"no stdin", []string{"-"}, nil, "no standard input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadPaths(tt.paths, tt.stdin)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestReadLimited(t *testing.T) {
	if _, err := readLimited(strings.NewReader("12345"), "x", 4); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "read x: too large: over the limit of 4 bytes") {
		t.Fatalf("over the limit: %v", err)
	}
	if data, err := readLimited(strings.NewReader("1234"), "x", 4); err != nil || string(data) != "1234" {
		t.Fatalf("at the limit: %q, %v", data, err)
	}
	if _, err := readLimited(failingReader{}, "x", 4); err == nil || !strings.Contains(err.Error(), "read x: boom") {
		t.Fatalf("read error: %v", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestDecodePaths(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"1.yaml": issueManifest,
		"2.yaml": "apiVersion: core.pacific.dev/v1\nkind: Namespace\nmetadata: {name: b}\n---\n" + issueManifest,
	})
	docs, err := Decoder{}.DecodePaths([]string{dir, "-"}, strings.NewReader(issueManifest))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, filepath.Base(d.Source)+":"+d.Object.GetMetadata().GetName())
	}
	if want := "1.yaml:demo 2.yaml:b 2.yaml:demo -:demo"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}

	writeFiles(t, dir, map[string]string{"3.yaml": issueManifest + "spec: {bogus: 1}\n"})
	docs, err = Decoder{}.DecodePaths([]string{dir, "-"}, strings.NewReader("kind: Namespace\n"))
	if docs != nil {
		t.Fatal("documents returned with an error")
	}
	checkErrors(t, err, []string{filepath.Join(dir, "3.yaml") + ":6: spec.bogus: unknown field", "-:1: apiVersion: required"})

	if _, err := (Decoder{}).DecodePaths([]string{filepath.Join(dir, "missing")}, nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}
