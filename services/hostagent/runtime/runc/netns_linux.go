package runc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// nsKinds are the namespaces a sandbox pins, by their /proc/*/ns names.
var nsKinds = []string{"net", "ipc", "uts"}

// pinNamespaces creates new network, IPC and UTS namespaces and bind-mounts
// them onto dir/{net,ipc,uts}. The work happens on a dedicated OS thread
// that is thrown away afterwards (its goroutine exits while locked).
func pinNamespaces(dir, hostname string) (runtime.Namespaces, error) {
	type result struct {
		ns  runtime.Namespaces
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		// No UnlockOSThread: this thread's namespaces differ from the
		// process', so the Go runtime must terminate it with the goroutine.
		ns, err := pinOnThisThread(dir, hostname)
		ch <- result{ns, err}
	}()
	r := <-ch
	return r.ns, r.err
}

func pinOnThisThread(dir, hostname string) (ns runtime.Namespaces, err error) {
	if err := unix.Unshare(unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS); err != nil {
		return ns, fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return ns, fmt.Errorf("sethostname: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return ns, err
	}
	var pinned []string
	defer func() {
		if err != nil {
			for _, p := range pinned {
				unpin(p)
			}
		}
	}()
	for _, kind := range nsKinds {
		target := filepath.Join(dir, kind)
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
		if err != nil {
			return ns, fmt.Errorf("create %s: %w", target, err)
		}
		f.Close()
		if err := unix.Mount("/proc/thread-self/ns/"+kind, target, "", unix.MS_BIND, ""); err != nil {
			os.Remove(target)
			return ns, fmt.Errorf("bind-mount %s namespace: %w", kind, err)
		}
		pinned = append(pinned, target)
	}
	return runtime.Namespaces{
		Network: filepath.Join(dir, "net"),
		IPC:     filepath.Join(dir, "ipc"),
		UTS:     filepath.Join(dir, "uts"),
	}, nil
}

// loopbackUp sets IFF_UP on "lo" in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

// unpin unmounts and removes a pinned namespace file (missing is fine).
func unpin(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil &&
		!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// isPinned reports whether path is a mounted namespace file.
func isPinned(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}
