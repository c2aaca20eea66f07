package hostagent

import (
	"context"
	"fmt"
	"net"
	"os"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// dialInNetns opens a connection from inside the network namespace at
// nsPath (a pod sandbox's), or from the host's when nsPath is empty. The
// socket is created on an OS thread switched into the namespace and keeps
// belonging to it; the thread is switched back (or, if that fails,
// discarded with its goroutine).
func dialInNetns(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	if nsPath == "" {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		conn, restored, err := dialSwitched(ctx, nsPath, network, addr)
		if restored {
			goruntime.UnlockOSThread()
		}
		ch <- result{conn, err}
	}()
	r := <-ch
	return r.conn, r.err
}

// dialSwitched runs on a locked thread: setns into nsPath, dial, setns
// back. restored is false when the thread is left in the pod's namespace.
func dialSwitched(ctx context.Context, nsPath, network, addr string) (conn net.Conn, restored bool, err error) {
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, true, fmt.Errorf("open current netns: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, true, fmt.Errorf("open pod netns: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("enter pod netns %s: %w", nsPath, err)
	}
	var d net.Dialer
	conn, err = d.DialContext(ctx, network, addr)
	if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
		return conn, false, err
	}
	return conn, true, err
}
