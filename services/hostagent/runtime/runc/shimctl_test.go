package runc

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// A shim started with bad arguments exits 2 and names the argument
// (hack/test.sh runs this under the C and the Go shim).
func TestShimRejectsBadArguments(t *testing.T) {
	path, args, env := testShim(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--id", "c", "--bundle", "/b", "--runc-root", "/r", "--log-path", "/l", "--log-max-files", "abc"}, "log-max-files"},
		{[]string{"--id", "c", "--bundle", "/b", "--runc-root", "/r", "--log-path", "/l", "--bogus", "1"}, "bogus"},
		{[]string{"--id", "c"}, "--bundle"},
		{[]string{"--id", "c", "--bundle", "/b", "--runc-root", "/r", "--log-path", "/l", "--runc-cpu", "-1"}, "runc-cpu"},
		{[]string{"--id", "c", "--bundle", "/b", "--runc-root", "/r", "--log-path", "/l", "--runc-cpu", "1024"}, "runc-cpu"},
		{[]string{"--id", "c", "--bundle", "/b", "--runc-root", "/r", "--log-path", "/l", "--runc-fd", "3"}, "runc-fd"},
		{[]string{"--id", "c", "--bundle", "/b", "--runc-root", "/r", "--log-path", "/l", "--runc-fd", "x"}, "runc-fd"},
		{[]string{"--id", "c", "--bundle", "/b", "--runc-root", "/r", "--log-path", "/l", "--runc-fd", "99"}, "runc-fd"},
	} {
		cmd := exec.Command(path, append(append([]string{}, args...), tc.args...)...)
		cmd.Env = append(cmd.Environ(), env...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("shim %q: %v, output %q; want exit 2 naming %s", tc.args, err, out, tc.want)
		}
	}
}
