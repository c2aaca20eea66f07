package runc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// sealedSeals are the seals runc checks before it trusts /proc/self/exe
// as a copy no container can write to (runc's exeseal.IsSelfExeCloned).
const sealedSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// minSealedFD is the lowest fd number of the sealed copy. Starting a child,
// Go moves the child's stdio, extra files and an error pipe to low fds
// (from 3 up, a few at most) before exec; a higher number survives that.
const minSealedFD = 64

// sealedCopy copies the runc executable at path into a sealed memfd
// (decision 0036). A runc executed from it finds its /proc/self/exe
// already sealed and skips making its own protected copy for the
// container's init, an overlay mount per start whose teardown waits for
// an expedited RCU grace period. It fails for an executable that is not
// ELF (e.g. a wrapper script, which could not be run from a
// close-on-exec fd), where memfds cannot be sealed or executed
// (vm.memfd_noexec), and when the copy does not run `--version`.
func sealedCopy(ctx context.Context, path string) (*os.File, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(src, magic); err != nil || !bytes.Equal(magic, []byte("\x7fELF")) {
		return nil, fmt.Errorf("%s is not an ELF executable", path)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	// MFD_EXEC: executable even where vm.memfd_noexec makes memfds
	// non-executable by default; kernels before 6.3 do not know the flag.
	fd, err := unix.MemfdCreate("runc", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("runc", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	// Children exec the copy by its fd number, which must stay clear of
	// the numbers a fork uses to arrange the child's stdio (see start).
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, minSealedFD)
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("move the copy's fd: %w", err)
	}
	f := os.NewFile(uintptr(high), "memfd:runc")
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	if _, err := io.Copy(f, src); err != nil {
		return nil, fmt.Errorf("copy %s: %w", path, err)
	}
	if err := f.Chmod(0o511); err != nil {
		return nil, err
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, sealedSeals); err != nil {
		return nil, fmt.Errorf("seal the copy: %w", err)
	}
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, err
	}
	if seals&sealedSeals != sealedSeals {
		return nil, errors.New("the copy's seals did not hold")
	}
	// The child's fd of the same number is open until exec opened the
	// file (there are no ExtraFiles to overwrite it).
	out, err := exec.CommandContext(ctx, fdPath(f), "--version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("run the copy: %w: %s", err, bytes.TrimSpace(out))
	}
	ok = true
	return f, nil
}

// fdPath names f's file through this process's fd table.
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// sealedRunc is the runtime's sealed copy of runc, shared by the shims,
// which get it as an fd, and the runc commands the runtime runs itself
// (exec, kill, delete...), which execute it by its /proc/self/fd path.
type sealedRunc struct {
	mu sync.RWMutex
	f  *os.File // nil once closed
}

// file returns the copy (nil once closed). A closed copy handed to a
// child makes its start fail; it never runs anything else.
func (s *sealedRunc) file() *os.File {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.f
}

// start starts cmd (a runc command) from the copy while it is open. The
// fd is close-on-exec: the child still has it when exec opens the path,
// and runc does not inherit it. A command with ExtraFiles runs from its
// path: they take fd numbers in the child without bound.
func (s *sealedRunc) start(cmd *exec.Cmd) error {
	if s == nil || len(cmd.ExtraFiles) > 0 {
		return cmd.Start()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.f != nil {
		cmd.Path = fdPath(s.f)
	}
	return cmd.Start()
}

func (s *sealedRunc) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}
