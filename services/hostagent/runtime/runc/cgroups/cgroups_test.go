package cgroups

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestHierarchiesOfThisHost(t *testing.T) {
	hs, err := Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err == nil && len(hs) == 0 {
		t.Fatal("no hierarchy found although /sys/fs/cgroup exists")
	}
	for _, h := range hs {
		if !filepath.IsAbs(h.Mount) || (!h.V2 && len(h.Controllers) == 0) {
			t.Errorf("bad hierarchy %+v", h)
		}
	}
}

// fakeHierarchies builds v1 memory + cpuset and a v2 hierarchy in plain dirs.
func fakeHierarchies(t *testing.T) []Hierarchy {
	root := t.TempDir()
	hs := []Hierarchy{
		{Mount: filepath.Join(root, "memory"), Controllers: []string{"memory"}},
		{Mount: filepath.Join(root, "cpuset"), Controllers: []string{"cpuset"}},
		{Mount: filepath.Join(root, "unified"), V2: true},
	}
	for _, h := range hs {
		os.MkdirAll(h.Mount, 0o755)
	}
	os.WriteFile(filepath.Join(hs[1].Mount, "cpuset.cpus"), []byte("0-1\n"), 0o644)
	os.WriteFile(filepath.Join(hs[1].Mount, "cpuset.mems"), []byte("0\n"), 0o644)
	return hs
}

func TestEnsureParentAndRemove(t *testing.T) {
	hs := fakeHierarchies(t)
	// Plain dirs do not get the kernel's files: pre-create empty ones.
	for _, d := range []string{"/p", "/p/q"} {
		dir := filepath.Join(hs[1].Mount, d)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "cpuset.cpus"), nil, 0o644)
		os.WriteFile(filepath.Join(dir, "cpuset.mems"), nil, 0o644)
	}
	if err := EnsureParent(hs, "/p/q"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"/p", "/p/q"} {
		got, _ := os.ReadFile(filepath.Join(hs[1].Mount, d, "cpuset.cpus"))
		if string(got) != "0-1\n" {
			t.Fatalf("%s cpuset.cpus = %q", d, got)
		}
	}
	for _, dir := range Dirs(hs, "/p/q") {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			t.Fatalf("%s not created", dir)
		}
	}
	// Remove removes sub-cgroups too (plain dirs: remove the files first).
	for _, d := range []string{"/p", "/p/q"} {
		os.Remove(filepath.Join(hs[1].Mount, d, "cpuset.cpus"))
		os.Remove(filepath.Join(hs[1].Mount, d, "cpuset.mems"))
	}
	os.MkdirAll(filepath.Join(hs[0].Mount, "p", "q", "child"), 0o755)
	if err := Remove(context.Background(), hs, "/p"); err != nil {
		t.Fatal(err)
	}
	for _, dir := range Dirs(hs, "/p") {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%s still exists", dir)
		}
	}
	if err := Remove(context.Background(), hs, "/p"); err != nil {
		t.Fatalf("removing again: %v", err)
	}
}

func TestOOMKills(t *testing.T) {
	hs := fakeHierarchies(t)
	if _, ok := OOMKills(hs, "/c"); ok {
		t.Fatal("counter found in a missing cgroup")
	}
	dir := filepath.Join(hs[0].Mount, "c")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "memory.oom_control"), []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"), 0o644)
	if n, ok := OOMKills(hs, "/c"); !ok || n != 2 {
		t.Fatalf("v1 OOMKills = %d %v", n, ok)
	}
	v2 := []Hierarchy{hs[2]}
	dir = filepath.Join(hs[2].Mount, "c")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "memory.events"), []byte("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n"), 0o644)
	if n, ok := OOMKills(v2, "/c"); !ok || n != 1 {
		t.Fatalf("v2 OOMKills = %d %v", n, ok)
	}
}
