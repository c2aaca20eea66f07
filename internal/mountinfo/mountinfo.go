package mountinfo

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Mount is one line of mountinfo (see proc(5)).
type Mount struct {
	// Root is the directory of the filesystem mounted at MountPoint
	// ("/" unless a subtree is bind-mounted).
	Root       string
	MountPoint string
	FSType     string
	Source     string
	// SuperOpts are the per-superblock options (e.g. an overlay's
	// lowerdir/upperdir, a v1 cgroup's controllers).
	SuperOpts string
}

// Read parses /proc/self/mountinfo.
func Read() ([]Mount, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return Parse(b), nil
}

// Parse parses mountinfo text; malformed lines are skipped.
//
//	id parent major:minor root mountpoint options [optional...] - fstype source superoptions
func Parse(b []byte) []Mount {
	var out []Mount
	for line := range bytes.Lines(b) {
		pre, post, ok := strings.Cut(strings.TrimRight(string(line), "\n"), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			continue
		}
		m := Mount{Root: Unescape(f[3]), MountPoint: Unescape(f[4]), FSType: g[0], Source: Unescape(g[1])}
		if len(g) > 2 {
			m.SuperOpts = Unescape(g[2])
		}
		out = append(out, m)
	}
	return out
}

// Unescape decodes mountinfo's octal escapes (\040 for a space, \011 tab,
// \012 newline, \134 backslash).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) && s[i+1] <= '3' {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Under returns the mount points at or below dir, in mount order.
func Under(mounts []Mount, dir string) []string {
	var out []string
	for _, m := range mounts {
		if m.MountPoint == dir || strings.HasPrefix(m.MountPoint, strings.TrimSuffix(dir, "/")+"/") {
			out = append(out, m.MountPoint)
		}
	}
	return out
}
