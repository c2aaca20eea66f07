package extract

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// maxCachedDirs bounds the directory file descriptors kept open.
const maxCachedDirs = 256

// meta is what an entry carries besides its content.
type meta struct {
	mode   uint32 // permission bits plus setuid, setgid, sticky
	uid    int
	gid    int
	mtime  time.Time
	atime  time.Time
	xattrs map[string]string
}

type dirMeta struct {
	rel string
	m   meta
}

// fsWriter writes entries below one directory without ever following a
// symlink: every parent is opened with O_NOFOLLOW|O_DIRECTORY relative to
// its own parent, starting from a descriptor of the root directory.
type fsWriter struct {
	rootfd     int
	dirs       map[string]int // relative dir -> open descriptor
	dirMetas   map[string]int // relative dir -> index in deferred
	deferred   []dirMeta
	chown      bool // apply ownership
	privileged bool // apply trusted.* / security.* xattrs
	log        *slog.Logger
	buf        []byte
}

func newFSWriter(dir string, chown, privileged bool, log *slog.Logger) (*fsWriter, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	if log == nil {
		log = slog.Default()
	}
	return &fsWriter{
		rootfd:     fd,
		dirs:       map[string]int{},
		dirMetas:   map[string]int{},
		chown:      chown,
		privileged: privileged,
		log:        log,
	}, nil
}

func (w *fsWriter) close() {
	for _, fd := range w.dirs {
		unix.Close(fd)
	}
	w.dirs = map[string]int{}
	if w.rootfd >= 0 {
		unix.Close(w.rootfd)
		w.rootfd = -1
	}
}

// evict closes cached descriptors when there are too many. It is called
// only at the start of an operation, never while one holds descriptors.
func (w *fsWriter) evict() {
	if len(w.dirs) < maxCachedDirs {
		return
	}
	for _, fd := range w.dirs {
		unix.Close(fd)
	}
	clear(w.dirs)
}

// forget drops cached descriptors for rel and everything below it, after
// rel was removed or replaced.
func (w *fsWriter) forget(rel string) {
	for k, fd := range w.dirs {
		if k == rel || strings.HasPrefix(k, rel+"/") || rel == "" {
			unix.Close(fd)
			delete(w.dirs, k)
		}
	}
}

func split(rel string) (parent, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

func openDirAt(pfd int, base string) (int, error) {
	for {
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// errNotPresent marks a lookup (create=false) of a path that does not exist
// as a directory.
var errNotPresent = errors.New("not present")

// errSymlinkInPath marks a lookup that met a symlink where a directory was
// expected.
var errSymlinkInPath = errors.New("path goes through a symlink")

// dirFD returns a descriptor for directory rel ("" is the root). With create
// it makes missing directories (mode 0755; the archive's own entry, if any,
// sets the final mode later).
func (w *fsWriter) dirFD(rel string, create bool) (int, error) {
	if rel == "" {
		return w.rootfd, nil
	}
	if fd, ok := w.dirs[rel]; ok {
		return fd, nil
	}
	parent, base := split(rel)
	pfd, err := w.dirFD(parent, create)
	if err != nil {
		return -1, err
	}
	fd, err := openDirAt(pfd, base)
	if err == unix.ENOENT && create {
		if err := unix.Mkdirat(pfd, base, 0o755); err != nil && err != unix.EEXIST {
			return -1, &os.PathError{Op: "mkdir", Path: rel, Err: err}
		}
		fd, err = openDirAt(pfd, base)
	}
	if err != nil {
		switch err {
		case unix.ENOENT:
			return -1, fmt.Errorf("%w: %q", errNotPresent, rel)
		case unix.ELOOP, unix.ENOTDIR:
			var st unix.Stat_t
			if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				if !create {
					return -1, fmt.Errorf("%w: %w: %q", errNotPresent, errSymlinkInPath, rel)
				}
				return -1, fmt.Errorf("%w: %q is a symlink; refusing to write through it", ErrUnsafeLayer, rel)
			}
			if !create {
				return -1, fmt.Errorf("%w: %q is not a directory", errNotPresent, rel)
			}
			return -1, fmt.Errorf("%w: %q is used as a directory but is not one", ErrInvalidLayer, rel)
		}
		return -1, &os.PathError{Op: "open", Path: rel, Err: err}
	}
	w.dirs[rel] = fd
	return fd, nil
}

// removeAt removes base (any type, directories recursively) from the
// directory pfd. rel is base's path, used to drop cached descriptors.
func (w *fsWriter) removeAt(pfd int, base, rel string) error {
	err := unix.Unlinkat(pfd, base, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return &os.PathError{Op: "unlink", Path: rel, Err: err}
	}
	w.forget(rel)
	fd, err := openDirAt(pfd, base)
	if err != nil {
		return &os.PathError{Op: "open", Path: rel, Err: err}
	}
	if err := w.removeChildren(fd, rel); err != nil {
		unix.Close(fd)
		return err
	}
	unix.Close(fd)
	if err := unix.Unlinkat(pfd, base, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return &os.PathError{Op: "rmdir", Path: rel, Err: err}
	}
	return nil
}

// removeChildren empties the directory open as fd.
func (w *fsWriter) removeChildren(fd int, rel string) error {
	dup, err := unix.Dup(fd)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(dup), rel)
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return &os.PathError{Op: "readdir", Path: rel, Err: err}
	}
	for _, n := range names {
		if err := w.removeAt(fd, n, path.Join(rel, n)); err != nil {
			return err
		}
	}
	return nil
}

// replaceable runs create; if it fails with EEXIST, removes what is there
// and runs it once more.
func (w *fsWriter) replaceable(pfd int, base, rel string, create func() error) error {
	err := create()
	if err != unix.EEXIST {
		return err
	}
	if err := w.removeAt(pfd, base, rel); err != nil {
		return err
	}
	return create()
}

func (w *fsWriter) xattrAllowed(name string) bool {
	switch {
	case strings.HasPrefix(name, "trusted.overlay."), strings.HasPrefix(name, "user.overlay."):
		return false
	case strings.HasPrefix(name, "user."):
		return true
	case strings.HasPrefix(name, "trusted."), strings.HasPrefix(name, "security."), strings.HasPrefix(name, "system."):
		return w.privileged
	}
	return false
}

// setXattrs applies xattrs, best effort: through fd when fd >= 0, else on
// base in pfd without following it (via /proc/self/fd).
func (w *fsWriter) setXattrs(fd, pfd int, base, rel string, x map[string]string) {
	for k, v := range x {
		if !w.xattrAllowed(k) {
			w.log.Debug("xattr dropped", "path", rel, "xattr", k)
			continue
		}
		var err error
		if fd >= 0 {
			err = unix.Fsetxattr(fd, k, []byte(v), 0)
		} else {
			err = unix.Lsetxattr("/proc/self/fd/"+strconv.Itoa(pfd)+"/"+base, k, []byte(v), 0)
		}
		if err != nil {
			w.log.Debug("xattr not applied", "path", rel, "xattr", k, "err", err)
		}
	}
}

func timespecs(m meta) []unix.Timespec {
	at := m.atime
	if at.IsZero() {
		at = m.mtime
	}
	return []unix.Timespec{unix.NsecToTimespec(at.UnixNano()), unix.NsecToTimespec(m.mtime.UnixNano())}
}

// setTimes sets atime/mtime of base in pfd without following it.
func (w *fsWriter) setTimes(pfd int, base, rel string, m meta) {
	if m.mtime.IsZero() {
		return
	}
	if err := unix.UtimesNanoAt(pfd, base, timespecs(m), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		w.log.Debug("times not applied", "path", rel, "err", err)
	}
}

func (w *fsWriter) lchown(pfd int, base, rel string, m meta) {
	if !w.chown {
		return
	}
	if err := unix.Fchownat(pfd, base, m.uid, m.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		w.log.Debug("ownership not applied", "path", rel, "err", err)
	}
}

// mkdir makes directory rel (keeping an existing directory, replacing
// anything else) and defers its mode, ownership and times to finish.
func (w *fsWriter) mkdir(rel string, m meta) error {
	w.evict()
	if rel != "" {
		parent, base := split(rel)
		pfd, err := w.dirFD(parent, true)
		if err != nil {
			return err
		}
		err = unix.Mkdirat(pfd, base, 0o755)
		if err == unix.EEXIST {
			var st unix.Stat_t
			if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return &os.PathError{Op: "stat", Path: rel, Err: err}
			}
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				if err := w.removeAt(pfd, base, rel); err != nil {
					return err
				}
				err = unix.Mkdirat(pfd, base, 0o755)
			} else {
				err = nil
			}
		}
		if err != nil {
			return &os.PathError{Op: "mkdir", Path: rel, Err: err}
		}
	}
	if len(m.xattrs) > 0 {
		fd, err := w.dirFD(rel, false)
		if err == nil {
			w.setXattrs(fd, -1, "", rel, m.xattrs)
		}
	}
	if i, ok := w.dirMetas[rel]; ok {
		w.deferred[i].m = m
	} else {
		w.dirMetas[rel] = len(w.deferred)
		w.deferred = append(w.deferred, dirMeta{rel: rel, m: m})
	}
	return nil
}

// fileWriter hides os.File's ReadFrom so that io.CopyBuffer uses our buffer.
type fileWriter struct{ f *os.File }

func (fw fileWriter) Write(p []byte) (int, error) { return fw.f.Write(p) }

// writeFile creates regular file rel with size bytes from r.
func (w *fsWriter) writeFile(rel string, r io.Reader, size int64, m meta) error {
	w.evict()
	parent, base := split(rel)
	pfd, err := w.dirFD(parent, true)
	if err != nil {
		return err
	}
	var fd int
	err = w.replaceable(pfd, base, rel, func() error {
		var err error
		fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return &os.PathError{Op: "create", Path: rel, Err: err}
	}
	f := os.NewFile(uintptr(fd), rel)
	if size > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 1<<20)
		}
		n, err := io.CopyBuffer(fileWriter{f}, io.LimitReader(r, size), w.buf)
		if err != nil {
			f.Close()
			return fmt.Errorf("write %q: %w", rel, err)
		}
		if n != size {
			f.Close()
			return fmt.Errorf("%w: %q: archive ends after %d of %d bytes", ErrInvalidLayer, rel, n, size)
		}
	}
	if w.chown {
		if err := unix.Fchown(fd, m.uid, m.gid); err != nil {
			w.log.Debug("ownership not applied", "path", rel, "err", err)
		}
	}
	if err := unix.Fchmod(fd, m.mode); err != nil {
		w.log.Debug("mode not applied", "path", rel, "err", err)
	}
	w.setXattrs(fd, -1, "", rel, m.xattrs)
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", rel, err)
	}
	w.setTimes(pfd, base, rel, m)
	return nil
}

// symlink creates symlink rel pointing at target, which is stored as is and
// never resolved.
func (w *fsWriter) symlink(rel, target string, m meta) error {
	w.evict()
	parent, base := split(rel)
	pfd, err := w.dirFD(parent, true)
	if err != nil {
		return err
	}
	if err := w.replaceable(pfd, base, rel, func() error { return unix.Symlinkat(target, pfd, base) }); err != nil {
		return &os.PathError{Op: "symlink", Path: rel, Err: err}
	}
	w.lchown(pfd, base, rel, m)
	w.setXattrs(-1, pfd, base, rel, m.xattrs)
	w.setTimes(pfd, base, rel, m)
	return nil
}

// link makes rel a hardlink to target, an existing non-directory below the
// root. Neither path may go through a symlink.
func (w *fsWriter) link(rel, target string) error {
	w.evict()
	tparent, tbase := split(target)
	tpfd, err := w.dirFD(tparent, false)
	if err != nil {
		if errors.Is(err, errSymlinkInPath) {
			return fmt.Errorf("%w: hardlink %q: target %q: %v", ErrUnsafeLayer, rel, target, err)
		}
		if errors.Is(err, errNotPresent) {
			return fmt.Errorf("%w: hardlink %q: target %q: %v", ErrInvalidLayer, rel, target, err)
		}
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(tpfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%w: hardlink %q: target %q: %v", ErrInvalidLayer, rel, target, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("%w: hardlink %q: target %q is a directory", ErrInvalidLayer, rel, target)
	}
	parent, base := split(rel)
	pfd, err := w.dirFD(parent, true)
	if err != nil {
		return err
	}
	// dirFD(parent) may have created directories but never closes
	// descriptors, so tpfd is still valid.
	err = unix.Linkat(tpfd, tbase, pfd, base, 0)
	if err == unix.EEXIST {
		var cur unix.Stat_t
		if unix.Fstatat(pfd, base, &cur, unix.AT_SYMLINK_NOFOLLOW) == nil && cur.Ino == st.Ino && cur.Dev == st.Dev {
			return nil
		}
		if err := w.removeAt(pfd, base, rel); err != nil {
			return err
		}
		// removeAt drops cached descriptors below rel; resolve both
		// parents again rather than reuse a descriptor that may be closed.
		if tpfd, err = w.dirFD(tparent, false); err != nil {
			return fmt.Errorf("%w: hardlink %q: target %q: %v", ErrInvalidLayer, rel, target, err)
		}
		if pfd, err = w.dirFD(parent, true); err != nil {
			return err
		}
		err = unix.Linkat(tpfd, tbase, pfd, base, 0)
	}
	if err != nil {
		return &os.PathError{Op: "link", Path: rel, Err: err}
	}
	return nil
}

// fifo creates a named pipe.
func (w *fsWriter) fifo(rel string, m meta) error {
	w.evict()
	parent, base := split(rel)
	pfd, err := w.dirFD(parent, true)
	if err != nil {
		return err
	}
	if err := w.replaceable(pfd, base, rel, func() error { return unix.Mknodat(pfd, base, unix.S_IFIFO|(m.mode&0o777), 0) }); err != nil {
		return &os.PathError{Op: "mkfifo", Path: rel, Err: err}
	}
	w.lchown(pfd, base, rel, m)
	if err := unix.Fchmodat(pfd, base, m.mode&0o7777, 0); err != nil {
		w.log.Debug("mode not applied", "path", rel, "err", err)
	}
	w.setTimes(pfd, base, rel, m)
	return nil
}

// whiteout writes an overlayfs whiteout (a 0/0 character device) at rel.
func (w *fsWriter) whiteout(rel string) error {
	w.evict()
	parent, base := split(rel)
	pfd, err := w.dirFD(parent, true)
	if err != nil {
		return err
	}
	if err := w.replaceable(pfd, base, rel, func() error { return unix.Mknodat(pfd, base, unix.S_IFCHR, 0) }); err != nil {
		return &os.PathError{Op: "mknod whiteout", Path: rel, Err: err}
	}
	return nil
}

// opaque marks directory rel (made if missing) opaque for overlayfs.
func (w *fsWriter) opaque(rel string) error {
	w.evict()
	fd, err := w.dirFD(rel, true)
	if err != nil {
		return err
	}
	if err := unix.Fsetxattr(fd, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		return &os.PathError{Op: "setxattr trusted.overlay.opaque", Path: rel, Err: err}
	}
	return nil
}

// remove deletes rel if it exists. A path whose parent is missing, is not a
// directory or is a symlink does not exist in this tree: nothing to do.
func (w *fsWriter) remove(rel string) error {
	w.evict()
	if rel == "" {
		return w.clearDir("")
	}
	parent, base := split(rel)
	pfd, err := w.dirFD(parent, false)
	if err != nil {
		if errors.Is(err, errNotPresent) {
			return nil
		}
		return err
	}
	return w.removeAt(pfd, base, rel)
}

// clearDir removes the children of directory rel, if it is one.
func (w *fsWriter) clearDir(rel string) error {
	w.evict()
	fd, err := w.dirFD(rel, false)
	if err != nil {
		if errors.Is(err, errNotPresent) {
			return nil
		}
		return err
	}
	for k, cfd := range w.dirs {
		if k != rel && (rel == "" || strings.HasPrefix(k, rel+"/")) {
			unix.Close(cfd)
			delete(w.dirs, k)
		}
	}
	return w.removeChildren(fd, rel)
}

// finish applies the deferred directory metadata, deepest first. A
// directory that no longer exists as such is skipped.
func (w *fsWriter) finish() {
	sort.SliceStable(w.deferred, func(i, j int) bool {
		return strings.Count(w.deferred[i].rel, "/") > strings.Count(w.deferred[j].rel, "/")
	})
	rootMeta := -1
	for i, d := range w.deferred {
		if d.rel == "" {
			rootMeta = i
			continue
		}
		w.evict()
		parent, base := split(d.rel)
		pfd, err := w.dirFD(parent, false)
		if err != nil {
			continue
		}
		fd, err := openDirAt(pfd, base)
		if err != nil {
			continue
		}
		w.applyDirMeta(fd, d.rel, d.m)
		unix.Close(fd)
		w.setTimes(pfd, base, d.rel, d.m)
	}
	if rootMeta >= 0 {
		m := w.deferred[rootMeta].m
		w.applyDirMeta(w.rootfd, "", m)
		if !m.mtime.IsZero() {
			if err := unix.UtimesNanoAt(w.rootfd, ".", timespecs(m), 0); err != nil {
				w.log.Debug("times not applied", "path", "/", "err", err)
			}
		}
	}
	w.deferred, w.dirMetas = nil, map[string]int{}
}

func (w *fsWriter) applyDirMeta(fd int, rel string, m meta) {
	if w.chown {
		if err := unix.Fchown(fd, m.uid, m.gid); err != nil {
			w.log.Debug("ownership not applied", "path", rel, "err", err)
		}
	}
	if err := unix.Fchmod(fd, m.mode); err != nil {
		w.log.Debug("mode not applied", "path", rel, "err", err)
	}
}
