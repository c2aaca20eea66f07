package runc

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// listening reports whether /proc/<pid>/net/tcp (the sockets of pid's
// network namespace) has a listener on port.
func listening(pid, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, file := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, file))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
				return true
			}
		}
	}
	return false
}

func TestSandboxSharedNetns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	sb, err := e.rt.CreateSandbox(ctx, runtime.SandboxSpec{ID: "pod", Hostname: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !sb.Ready || sb.Namespaces.Network == "" {
		t.Fatalf("sandbox %+v", sb)
	}
	// A port nobody uses on the host.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ps := strconv.Itoa(port)

	server := e.spec("server", "sh", "-c", "hostname; nc -l -p "+ps)
	server.SandboxID = "pod"
	st := e.run(server)
	poll(t, "server listening", 10*time.Second, func() bool { return listening(st.Pid, port) })

	// The listener is inside the pod's netns only: the host cannot reach it.
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+ps, time.Second); err == nil {
		c.Close()
		t.Fatal("host reached the pod's listener on its own loopback")
	}
	client := e.spec("client", "sh", "-c", "echo hello-from-client | nc 127.0.0.1 "+ps)
	client.SandboxID = "pod"
	e.run(client)
	if st := e.wait("client"); st.ExitCode != 0 {
		t.Fatalf("client: %+v %q", st, e.logs(logOpts("client")))
	}
	if st := e.wait("server"); st.ExitCode != 0 {
		t.Fatalf("server: %+v", st)
	}
	got := strings.Join(e.logs(logOpts("server")), "\n")
	if !strings.Contains(got, "stdout web-1") || !strings.Contains(got, "stdout hello-from-client") {
		t.Fatalf("server log %q", got)
	}

	// wget against busybox httpd in the same pod (busybox works under seccomp).
	httpd := e.spec("httpd", "httpd", "-f", "-p", "127.0.0.1:"+ps, "-h", "/www")
	httpd.SandboxID = "pod"
	st = e.run(httpd)
	poll(t, "httpd listening", 10*time.Second, func() bool { return listening(st.Pid, port) })
	out, errOut, code, err := e.execOut("httpd", runtime.ExecSpec{Args: []string{"wget", "-q", "-O", "-", "http://127.0.0.1:" + ps + "/"}})
	if err != nil || code != 0 || out != "hello from httpd\n" {
		t.Fatalf("wget = %q %q %d %v", out, errOut, code, err)
	}

	// Standalone containers get their own (empty) network namespace.
	alone := e.spec("alone", "sh", "-c", "nc -w 1 127.0.0.1 "+ps+" </dev/null")
	e.run(alone)
	if st := e.wait("alone"); st.ExitCode == 0 {
		t.Fatal("a container outside the pod reached the pod's server")
	}
}
