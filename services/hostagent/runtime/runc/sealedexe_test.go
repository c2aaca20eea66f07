package runc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func TestSealedCopy(t *testing.T) {
	ctx := context.Background()
	src := "/bin/true" // ELF, and `true --version` exits 0
	f, err := sealedCopy(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Fd() < minSealedFD {
		t.Fatalf("the copy is fd %d; children exec it by number, which must be at least %d", f.Fd(), minSealedFD)
	}
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(fdPath(f))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the copy differs from %s (%d bytes, want %d): %v", src, len(got), len(want), err)
	}
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil || seals&sealedSeals != sealedSeals {
		t.Fatalf("seals %#x, %v; want at least %#x", seals, err, sealedSeals)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("a write to the sealed copy succeeded")
	}
	if err := unix.Ftruncate(int(f.Fd()), 1); err == nil {
		t.Fatal("the sealed copy could be truncated")
	}

	// A wrapper script cannot run from a close-on-exec fd: no copy.
	script := filepath.Join(t.TempDir(), "runc")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if f, err := sealedCopy(ctx, script); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		if f != nil {
			f.Close()
		}
		t.Fatalf("script: %v, want it refused as not ELF", err)
	}
	// An ELF that fails `--version` is not used either.
	if f, err := sealedCopy(ctx, "/bin/false"); err == nil {
		f.Close()
		t.Fatal("a copy that fails --version was kept")
	}
}

// Containers start from the runtime's sealed copy of runc: the created
// container's init (still runc, waiting to be started) runs from the
// memfd, so runc made no protected copy of its own; neither the shim nor
// the container keep the fd.
func TestContainersStartFromSealedRunc(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if e.rt.runcExe == nil {
		t.Fatalf("runtime over %s made no sealed copy", e.opts.RuncPath)
	}
	ctx := e.ctx()
	st, err := e.rt.CreateContainer(ctx, e.spec("sealed", "sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(st.Pid) + "/exe")
	if err != nil || !strings.HasPrefix(exe, "/memfd:runc") {
		t.Fatalf("created container's init runs %q (%v), want runc's sealed copy /memfd:runc", exe, err)
	}
	if err := e.rt.StartContainer(ctx, "sealed"); err != nil {
		t.Fatal(err)
	}
	out, _, code, err := e.execOut("sealed", runtime.ExecSpec{Args: []string{"ls", "-l", "/proc/1/fd/", "/proc/self/fd/"}})
	if err != nil || code != 0 || strings.Contains(out, "memfd") {
		t.Fatalf("container's fds: %q %d %v; want no memfd", out, code, err)
	}
	// runc exec (probes, pacctl exec) runs from the copy too: the exec'd
	// process's parent is that runc.
	p, err := e.rt.Exec(ctx, "sealed", runtime.ExecSpec{Args: []string{"sleep", "30"}})
	if err != nil {
		t.Fatal(err)
	}
	runcExe, err := os.Readlink("/proc/" + strconv.Itoa(p.(*execProcess).cmd.Process.Pid) + "/exe")
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(runcExe, "/memfd:runc") {
		t.Fatalf("runc exec ran %q (%v), want runc's sealed copy /memfd:runc", runcExe, err)
	}
	e.rt.mu.Lock()
	c := e.rt.containers["sealed"]
	e.rt.mu.Unlock()
	c.mu.Lock()
	shimPid := c.meta.ShimPid
	c.mu.Unlock()
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(shimPid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if target, _ := os.Readlink("/proc/" + strconv.Itoa(shimPid) + "/fd/" + fd.Name()); strings.Contains(target, "memfd:runc") {
			t.Fatalf("the shim still holds runc's copy as fd %s", fd.Name())
		}
	}
}
