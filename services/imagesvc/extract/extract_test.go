package extract

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// entry is one tar entry for the tests' archive builder.
type entry struct {
	name     string
	typ      byte
	body     string
	link     string
	mode     int64
	uid, gid int
	pax      map[string]string
	size     int64 // overrides len(body) in the header when > 0
}

func mkTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: mode, Uid: e.uid, Gid: e.gid, ModTime: mtime, PAXRecords: e.pax, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("header %s: %v", e.name, err)
		}
		if typ == tar.TypeReg && e.body != "" {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox returns (layer dir, outside dir) below one temp dir.
func sandbox(t *testing.T) (string, string) {
	base := t.TempDir()
	layer := filepath.Join(base, "cache", "tmp", "layer")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{layer, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return layer, outside
}

// tree lists every path below dir with a type letter, for comparisons.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		kind := "f"
		switch {
		case d.IsDir():
			kind = "d"
		case d.Type()&fs.ModeSymlink != 0:
			kind = "l"
		case d.Type()&fs.ModeCharDevice != 0:
			kind = "c"
		case d.Type()&fs.ModeNamedPipe != 0:
			kind = "p"
		}
		out = append(out, kind+" "+rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root, and CI runs as root")
	}
	t.Skip("needs root")
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExtractHappyPath(t *testing.T) {
	dir, _ := sandbox(t)
	data := mkTar(t,
		entry{name: "./", typ: tar.TypeDir, mode: 0o755},
		entry{name: "etc/", typ: tar.TypeDir},
		entry{name: "etc/hosts", body: "127.0.0.1 localhost\n", mode: 0o640},
		entry{name: "bin/sh", body: "#!shell", mode: 0o4755}, // parent dir implicit
		entry{name: "bin/ash", typ: tar.TypeLink, link: "bin/sh"},
		entry{name: "bin/bash", typ: tar.TypeSymlink, link: "/bin/sh"},
		entry{name: "usr/lib/rel", typ: tar.TypeSymlink, link: "../../etc"},
		entry{name: "ro/", typ: tar.TypeDir, mode: 0o555},
		entry{name: "ro/child", body: "x"},
		entry{name: "var/.wh.cache", body: ""},
		entry{name: "opt/.wh..wh..opq", body: ""},
		entry{name: ".wh..wh..opq", body: ""},
		entry{name: "dev/null", typ: tar.TypeChar, mode: 0o666},
		entry{name: "run/pipe", typ: tar.TypeFifo, mode: 0o600},
		entry{name: "etc/replaced", body: "first"},
		entry{name: "etc/replaced", body: "second"},
		entry{name: "x/file-then-dir", body: "f"},
		entry{name: "x/file-then-dir/", typ: tar.TypeDir},
		entry{name: "x/file-then-dir/in", body: "in"},
		entry{name: "y/dir-then-link/", typ: tar.TypeDir},
		entry{name: "y/dir-then-link/gone", body: "gone"},
		entry{name: "y/dir-then-link", typ: tar.TypeSymlink, link: "/nowhere"},
		entry{name: "user-xattr", body: "x", pax: map[string]string{"SCHILY.xattr.user.test": "v"}},
	)
	// Unprivileged runs cannot delete below the read-only "ro" afterwards.
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "ro"), 0o755) })
	res, err := Extract(context.Background(), bytes.NewReader(data), dir, Options{})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	want := []string{
		"d bin", "f bin/ash", "l bin/bash", "f bin/sh",
		"d etc", "f etc/hosts", "f etc/replaced",
		"d ro", "f ro/child",
		"d run", "p run/pipe",
		"f user-xattr",
		"d usr", "d usr/lib", "l usr/lib/rel",
		"d x", "d x/file-then-dir", "f x/file-then-dir/in",
		"d y", "l y/dir-then-link",
	}
	// Without OverlayWhiteouts, whiteouts and opaque markers are only
	// recorded (no "var", "opt"), and the skipped device leaves no "dev".
	if got := tree(t, dir); !slices.Equal(got, want) {
		t.Errorf("tree:\n got %q\nwant %q", got, want)
	}
	if got := readFile(t, filepath.Join(dir, "etc/hosts")); got != "127.0.0.1 localhost\n" {
		t.Errorf("etc/hosts = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "etc/replaced")); got != "second" {
		t.Errorf("etc/replaced = %q", got)
	}
	var a, b unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "bin/sh"), &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lstat(filepath.Join(dir, "bin/ash"), &b); err != nil {
		t.Fatal(err)
	}
	if a.Ino != b.Ino {
		t.Errorf("bin/ash is not a hardlink of bin/sh")
	}
	if a.Mode&0o7777 != 0o4755 {
		t.Errorf("bin/sh mode = %o, want 4755", a.Mode&0o7777)
	}
	if got := time.Unix(a.Mtim.Sec, 0).UTC(); !got.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("bin/sh mtime = %v", got)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "bin/bash")); l != "/bin/sh" {
		t.Errorf("bin/bash -> %q", l)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "usr/lib/rel")); l != "../../etc" {
		t.Errorf("usr/lib/rel -> %q", l)
	}
	st, err := os.Stat(filepath.Join(dir, "ro"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o555 {
		t.Errorf("ro mode = %v, want 0555 applied after its child", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Join(dir, "etc/hosts")); st.Mode().Perm() != 0o640 {
		t.Errorf("etc/hosts mode = %v", st.Mode().Perm())
	}
	if !slices.Equal(res.Whiteouts, []string{"var/cache"}) {
		t.Errorf("whiteouts = %q", res.Whiteouts)
	}
	if !slices.Equal(res.OpaqueDirs, []string{"opt", "."}) {
		t.Errorf("opaque dirs = %q", res.OpaqueDirs)
	}
	if res.Skipped != 1 {
		t.Errorf("skipped = %d, want 1 (the device)", res.Skipped)
	}
	if res.Hardlinks != 1 || res.Symlinks != 3 {
		t.Errorf("hardlinks=%d symlinks=%d", res.Hardlinks, res.Symlinks)
	}
	// Not root: no overlay whiteouts were written.
	if _, err := os.Lstat(filepath.Join(dir, "var/cache")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("var/cache exists without OverlayWhiteouts: %v", err)
	}
}

func TestExtractRejectsEscapes(t *testing.T) {
	cases := []struct {
		name    string
		entries func(outside string) []entry
	}{
		{"dotdot", func(string) []entry {
			return []entry{{name: "ok", body: "fine"}, {name: "../escape", body: "pwned"}}
		}},
		{"dotdot-deep", func(string) []entry {
			return []entry{{name: "a/b/../../../escape", body: "pwned"}}
		}},
		{"absolute", func(outside string) []entry {
			return []entry{{name: outside + "/abs", body: "pwned"}}
		}},
		{"abs-path", func(string) []entry {
			return []entry{{name: "/abs/path", body: "pwned"}}
		}},
		{"symlink-then-write-through-abs", func(outside string) []entry {
			return []entry{{name: "a", typ: tar.TypeSymlink, link: outside}, {name: "a/x", body: "pwned"}}
		}},
		{"symlink-to-tmp-then-write", func(string) []entry {
			return []entry{{name: "a", typ: tar.TypeSymlink, link: "/tmp"}, {name: "a/x", body: "pwned"}}
		}},
		{"symlink-then-write-through-rel", func(string) []entry {
			return []entry{{name: "a", typ: tar.TypeSymlink, link: "../../../outside"}, {name: "a/x", body: "pwned"}}
		}},
		{"symlink-then-mkdir-through", func(outside string) []entry {
			return []entry{{name: "a", typ: tar.TypeSymlink, link: outside}, {name: "a/d/", typ: tar.TypeDir}}
		}},
		{"symlink-then-hardlink-into", func(outside string) []entry {
			return []entry{{name: "f", body: "x"}, {name: "a", typ: tar.TypeSymlink, link: outside}, {name: "a/x", typ: tar.TypeLink, link: "f"}}
		}},
		{"symlink-then-symlink-into", func(outside string) []entry {
			return []entry{{name: "a", typ: tar.TypeSymlink, link: outside}, {name: "a/x", typ: tar.TypeSymlink, link: "/etc/passwd"}}
		}},
		{"symlink-then-whiteout-through", func(outside string) []entry {
			return []entry{{name: "a", typ: tar.TypeSymlink, link: outside}, {name: "a/.wh.victim", body: ""}, {name: "a/x", body: "pwned"}}
		}},
		{"hardlink-outside-rel", func(string) []entry {
			return []entry{{name: "x", typ: tar.TypeLink, link: "../outside/victim"}}
		}},
		{"hardlink-outside-abs", func(outside string) []entry {
			return []entry{{name: "x", typ: tar.TypeLink, link: outside + "/victim"}}
		}},
		{"hardlink-etc-passwd", func(string) []entry {
			return []entry{{name: "x", typ: tar.TypeLink, link: "/etc/passwd"}}
		}},
		{"hardlink-through-symlink", func(outside string) []entry {
			return []entry{{name: "s", typ: tar.TypeSymlink, link: outside}, {name: "x", typ: tar.TypeLink, link: "s/victim"}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, outside := sandbox(t)
			victim := filepath.Join(outside, "victim")
			if err := os.WriteFile(victim, []byte("original"), 0o644); err != nil {
				t.Fatal(err)
			}
			before := tree(t, filepath.Dir(filepath.Dir(filepath.Dir(dir))))
			_, err := Extract(context.Background(), bytes.NewReader(mkTar(t, tc.entries(outside)...)), dir, Options{})
			if !errors.Is(err, ErrUnsafeLayer) {
				t.Fatalf("err = %v, want ErrUnsafeLayer", err)
			}
			t.Logf("rejected: %v", err)
			if got := readFile(t, victim); got != "original" {
				t.Errorf("victim changed: %q", got)
			}
			if got := tree(t, outside); !slices.Equal(got, []string{"f victim"}) {
				t.Errorf("outside dir changed: %q", got)
			}
			// Nothing new anywhere in the sandbox except below the layer dir.
			after := tree(t, filepath.Dir(filepath.Dir(filepath.Dir(dir))))
			for _, p := range after {
				if !slices.Contains(before, p) && !strings.Contains(p, "cache/tmp/layer/") {
					t.Errorf("new path outside the layer dir: %s", p)
				}
			}
			if _, err := os.Lstat("/abs"); err == nil {
				t.Errorf("/abs exists")
			}
			if _, err := os.Lstat("/tmp/x"); err == nil {
				if b, _ := os.ReadFile("/tmp/x"); string(b) == "pwned" {
					t.Errorf("/tmp/x written")
				}
			}
		})
	}
}

func TestExtractLimits(t *testing.T) {
	big := strings.Repeat("z", 1000)
	t.Run("bytes", func(t *testing.T) {
		dir, _ := sandbox(t)
		_, err := Extract(context.Background(), bytes.NewReader(mkTar(t, entry{name: "a", body: big}, entry{name: "b", body: big})), dir, Options{MaxBytes: 1500})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("files", func(t *testing.T) {
		dir, _ := sandbox(t)
		var es []entry
		for i := range 20 {
			es = append(es, entry{name: "f" + string(rune('a'+i))})
		}
		_, err := Extract(context.Background(), bytes.NewReader(mkTar(t, es...)), dir, Options{MaxFiles: 10})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		dir, _ := sandbox(t)
		data := mkTar(t, entry{name: "a", body: big})
		_, err := Extract(context.Background(), bytes.NewReader(data[:700]), dir, Options{})
		if err == nil {
			t.Fatal("truncated archive accepted")
		}
	})
	t.Run("bad-whiteout", func(t *testing.T) {
		dir, _ := sandbox(t)
		_, err := Extract(context.Background(), bytes.NewReader(mkTar(t, entry{name: "a/.wh..", body: ""})), dir, Options{})
		if !errors.Is(err, ErrInvalidLayer) {
			t.Fatalf("err = %v, want ErrInvalidLayer", err)
		}
	})
}

func TestExtractOverlayFormAsRoot(t *testing.T) {
	requireRoot(t)
	dir, _ := sandbox(t)
	data := mkTar(t,
		entry{name: "var/.wh.cache", body: ""},
		entry{name: "opt/.wh..wh..opq", body: ""},
		entry{name: "opt/keep", body: "k"},
		entry{name: "owned", body: "o", uid: 1234, gid: 5678},
		entry{name: "forged/", typ: tar.TypeDir, pax: map[string]string{"SCHILY.xattr.trusted.overlay.opaque": "y", "SCHILY.xattr.trusted.overlay.redirect": "/etc"}},
		entry{name: "capped", body: "c", pax: map[string]string{"SCHILY.xattr.user.pacific": "yes"}},
	)
	_, err := Extract(context.Background(), bytes.NewReader(data), dir, Options{Root: true, OverlayWhiteouts: true})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "var/cache"), &st); err != nil {
		t.Fatalf("whiteout device: %v", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("var/cache mode=%o rdev=%d, want char 0/0", st.Mode, st.Rdev)
	}
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(filepath.Join(dir, "opt"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("opt opaque xattr = %q, %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(dir, "forged"), "trusted.overlay.opaque", buf); err == nil {
		t.Errorf("forged trusted.overlay.opaque from the archive was applied")
	}
	if _, err := unix.Lgetxattr(filepath.Join(dir, "forged"), "trusted.overlay.redirect", buf); err == nil {
		t.Errorf("forged trusted.overlay.redirect from the archive was applied")
	}
	if err := unix.Lstat(filepath.Join(dir, "owned"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("owned uid/gid = %d/%d", st.Uid, st.Gid)
	}
}

func TestCopyLayers(t *testing.T) {
	base := t.TempDir()
	l1, l2 := filepath.Join(base, "l1"), filepath.Join(base, "l2")
	target, outside := filepath.Join(base, "target"), filepath.Join(base, "outside")
	for _, d := range []string{l1, l2, target, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r1, err := Extract(context.Background(), bytes.NewReader(mkTar(t,
		entry{name: "keep", body: "lower"},
		entry{name: "gone", body: "lower"},
		entry{name: "opq/old", body: "lower"},
		entry{name: "link", typ: tar.TypeSymlink, link: outside},
		entry{name: "hl1", body: "hard"},
		entry{name: "hl2", typ: tar.TypeLink, link: "hl1"},
	)), l1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Extract(context.Background(), bytes.NewReader(mkTar(t,
		entry{name: ".wh.gone", body: ""},
		entry{name: "opq/.wh..wh..opq", body: ""},
		entry{name: "opq/new", body: "upper"},
		entry{name: "link/", typ: tar.TypeDir},
		entry{name: "link/inside", body: "upper"},
		entry{name: "keep", body: "upper"},
	)), l2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = CopyLayers(context.Background(), target, []Layer{
		{Dir: l1, Whiteouts: r1.Whiteouts, OpaqueDirs: r1.OpaqueDirs},
		{Dir: l2, Whiteouts: r2.Whiteouts, OpaqueDirs: r2.OpaqueDirs},
	}, Options{})
	if err != nil {
		t.Fatalf("CopyLayers: %v", err)
	}
	want := []string{"f hl1", "f hl2", "f keep", "d link", "f link/inside", "d opq", "f opq/new"}
	if got := tree(t, target); !slices.Equal(got, want) {
		t.Errorf("merged tree:\n got %q\nwant %q", got, want)
	}
	if got := readFile(t, filepath.Join(target, "keep")); got != "upper" {
		t.Errorf("keep = %q", got)
	}
	if got := tree(t, outside); len(got) != 0 {
		t.Errorf("outside written: %q", got)
	}
	var a, b unix.Stat_t
	_ = unix.Lstat(filepath.Join(target, "hl1"), &a)
	_ = unix.Lstat(filepath.Join(target, "hl2"), &b)
	if a.Ino != b.Ino {
		t.Errorf("hardlink not preserved in copy")
	}
}
