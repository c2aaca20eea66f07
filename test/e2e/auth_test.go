package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openpacific/pacific/internal/testutil"
)

// TestDevAuth walks the identity acceptance path as a new user would:
// pacific dev's admin config, a local user, a namespace viewer binding,
// login, and what the viewer may and may not do.
func TestDevAuth(t *testing.T) {
	bins := build(t)
	dataDir := t.TempDir()
	listen := testutil.UnusedLoopbackAddr(t)
	dev := startDev(t, bins, dataDir, listen)
	admin := "--config=" + dev.config

	fi, err := os.Stat(dev.config)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: mode %v; want 0600", dev.config, fi.Mode().Perm())
	}
	if out := dev.out.String(); !strings.Contains(out, "pacctl login") {
		t.Fatalf("pacific dev does not say how to log in:\n%s", out)
	}

	// No credential: refused, and pacctl says how to log in.
	r := pacctl(t, bins, []string{"PACCTL_CONFIG="}, "", "--server", listen, "get", "namespaces")
	if r.code == 0 || !strings.Contains(r.stderr, "Unauthenticated: ") || !strings.Contains(r.stderr, "pacctl login") {
		t.Fatalf("no credential: code=%d stderr=%q", r.code, r.stderr)
	}

	mustPacctl := func(stdin string, args ...string) result {
		t.Helper()
		r := pacctl(t, bins, nil, stdin, args...)
		if r.code != 0 {
			t.Fatalf("pacctl %s: code=%d stdout=%q stderr=%q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	mustPacctl(demoNamespace, admin, "apply", "-f", "-")
	mustPacctl("s3cret-passw0rd\n", admin, "user", "create", "alice", "--password-stdin")
	mustPacctl("", admin, "apply", "-f", "../../examples/rolebinding-viewer.yaml")

	aliceCfg := filepath.Join(t.TempDir(), "alice.yaml")
	alice := "--config=" + aliceCfg
	if r := pacctl(t, bins, nil, "wrong-password\n", "login", "--server", listen, "--username", "alice", "--password-stdin", alice); r.code == 0 || !strings.Contains(r.stderr, "Unauthenticated") {
		t.Fatalf("login with a wrong password: code=%d stderr=%q", r.code, r.stderr)
	}
	mustPacctl("s3cret-passw0rd\n", "login", "--server", listen, "--username", "alice", "--password-stdin", alice)
	fi, err = os.Stat(aliceCfg)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: mode %v; want 0600", aliceCfg, fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(aliceCfg); strings.Contains(string(b), "s3cret-passw0rd") {
		t.Fatal("the password was written to the config")
	}

	mustPacctl("", alice, "get", "pods", "-n", "demo")
	if r := mustPacctl("", alice, "auth", "can-i", "list", "pods", "-n", "demo"); r.stdout != "yes\n" {
		t.Fatalf("can-i list: %q", r.stdout)
	}
	if r := pacctl(t, bins, nil, "", alice, "auth", "can-i", "create", "pods", "-n", "demo"); r.code != 1 || r.stdout != "no\n" {
		t.Fatalf("can-i create: code=%d stdout=%q", r.code, r.stdout)
	}
	pod := "apiVersion: core.pacific.dev/v1\nkind: Pod\nmetadata: {name: p, namespace: demo}\nspec:\n  containers: [{name: c, image: busybox:1}]\n"
	if r := pacctl(t, bins, nil, pod, alice, "apply", "-f", "-"); r.code == 0 || !strings.Contains(r.stderr, "PermissionDenied") && !strings.Contains(r.stderr, "cannot create") {
		t.Fatalf("viewer apply of a pod: code=%d stderr=%q", r.code, r.stderr)
	}
	ns := strings.Replace(demoNamespace, "name: demo", "name: alices", 1)
	if r := pacctl(t, bins, nil, ns, alice, "apply", "-f", "-"); r.code == 0 {
		t.Fatalf("viewer created a namespace: stdout=%q", r.stdout)
	}
	if r := pacctl(t, bins, nil, "", alice, "user", "create", "bob", "--password-stdin"); r.code == 0 {
		t.Fatal("a viewer created a user")
	}

	// Logout revokes the token: the saved config no longer works.
	mustPacctl("", alice, "logout")
	if r := pacctl(t, bins, nil, "", alice, "get", "pods", "-n", "demo"); r.code == 0 || !strings.Contains(r.stderr, "Unauthenticated") {
		t.Fatalf("after logout: code=%d stderr=%q", r.code, r.stderr)
	}
}
