package mountinfo

import (
	"reflect"
	"testing"
)

const sample = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
35 22 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:13 - cgroup cgroup rw,memory
36 22 0:31 / /sys/fs/cgroup/unified rw,nosuid shared:14 - cgroup2 cgroup2 rw,nsdelegate
90 22 0:50 / /run/pacific/c\0401/rootfs rw,relatime - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w
91 22 8:1 /data/sub /mnt/bind rw - ext4 /dev/sda1 rw
garbage line without separator
92 22 0:51 / short
`

func TestParse(t *testing.T) {
	got := Parse([]byte(sample))
	want := []Mount{
		{Root: "/", MountPoint: "/", FSType: "ext4", Source: "/dev/sda1", SuperOpts: "rw"},
		{Root: "/", MountPoint: "/sys/fs/cgroup/memory", FSType: "cgroup", Source: "cgroup", SuperOpts: "rw,memory"},
		{Root: "/", MountPoint: "/sys/fs/cgroup/unified", FSType: "cgroup2", Source: "cgroup2", SuperOpts: "rw,nsdelegate"},
		{Root: "/", MountPoint: "/run/pacific/c 1/rootfs", FSType: "overlay", Source: "overlay", SuperOpts: "rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w"},
		{Root: "/data/sub", MountPoint: "/mnt/bind", FSType: "ext4", Source: "/dev/sda1", SuperOpts: "rw"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse:\n got %+v\nwant %+v", got, want)
	}
	if u := Under(got, "/run/pacific"); !reflect.DeepEqual(u, []string{"/run/pacific/c 1/rootfs"}) {
		t.Errorf("Under(/run/pacific) = %q", u)
	}
	if u := Under(got, "/mnt/bind"); !reflect.DeepEqual(u, []string{"/mnt/bind"}) {
		t.Errorf("Under(/mnt/bind) = %q", u)
	}
	if u := Under(got, "/mnt/bi"); len(u) != 0 {
		t.Errorf("Under(/mnt/bi) matched a sibling: %q", u)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:         "plain",
		`a\040b`:        "a b",
		`tab\011nl\012`: "tab\tnl\n",
		`back\134slash`: `back\slash`,
		`end\04`:        `end\04`,  // too short: kept
		`not\089`:       `not\089`, // not octal: kept
		`big\777`:       `big\777`, // over a byte: kept
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// The mount table of the machine the tests run on parses, and / is in it.
func TestReadSelf(t *testing.T) {
	ms, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.MountPoint == "/" {
			return
		}
	}
	t.Fatalf("no / among %d mounts", len(ms))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range Parse(b) {
			if m.MountPoint == "" || m.FSType == "" {
				t.Fatalf("empty field in %+v", m)
			}
		}
	})
}
