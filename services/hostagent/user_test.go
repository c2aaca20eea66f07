package hostagent

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func writeRootfsFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveUser(t *testing.T) {
	root := writeRootfsFiles(t, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\nbroken line\n",
		"etc/group":  "root:x:0:\napp:x:1001:\nwheel:x:10:app,other\nweb:x:33:\n",
	})
	i64 := func(v int64) *int64 { return &v }
	yes := true
	for _, tc := range []struct {
		name      string
		imageUser string
		pod       *corev1.PodSecurityContext
		sc        *corev1.SecurityContext
		want      runtime.User
		wantErr   bool
	}{
		{"default root", "", nil, nil, runtime.User{}, false},
		{"numeric", "1000", nil, nil, runtime.User{UID: 1000, GID: 1001, AdditionalGIDs: []uint32{10}}, false},
		{"numeric unknown", "4242", nil, nil, runtime.User{UID: 4242}, false},
		{"name", "app", nil, nil, runtime.User{UID: 1000, GID: 1001, AdditionalGIDs: []uint32{10}}, false},
		{"name and group", "app:web", nil, nil, runtime.User{UID: 1000, GID: 33, AdditionalGIDs: []uint32{10}}, false},
		{"uid:gid", "7:8", nil, nil, runtime.User{UID: 7, GID: 8}, false},
		{"unknown name", "ghost", nil, nil, runtime.User{}, true},
		{"unknown group", "app:ghosts", nil, nil, runtime.User{}, true},
		{"runAsUser wins", "app", nil, &corev1.SecurityContext{RunAsUser: i64(0)}, runtime.User{}, false},
		{"pod runAsUser and group", "", &corev1.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(5)}, nil, runtime.User{UID: 1000, GID: 5, AdditionalGIDs: []uint32{10}}, false},
		{"container over pod", "", &corev1.PodSecurityContext{RunAsUser: i64(1000)}, &corev1.SecurityContext{RunAsUser: i64(9)}, runtime.User{UID: 9}, false},
		{"nonroot ok", "app", &corev1.PodSecurityContext{RunAsNonRoot: &yes}, nil, runtime.User{UID: 1000, GID: 1001, AdditionalGIDs: []uint32{10}}, false},
		{"nonroot refuses root", "", &corev1.PodSecurityContext{RunAsNonRoot: &yes}, nil, runtime.User{}, true},
		{"out of range", "", nil, &corev1.SecurityContext{RunAsUser: i64(-1)}, runtime.User{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: &corev1.PodSpec{SecurityContext: tc.pod}}
			got, err := resolveUser(root, pod, &corev1.Container{SecurityContext: tc.sc}, tc.imageUser)
			if tc.wantErr {
				if !errors.Is(err, errConfig) {
					t.Fatalf("err = %v, want a config error", err)
				}
				return
			}
			if err != nil || got.UID != tc.want.UID || got.GID != tc.want.GID || !slices.Equal(got.AdditionalGIDs, tc.want.AdditionalGIDs) {
				t.Errorf("resolveUser = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// An image whose /etc/passwd is a symlink to a host path is read inside
// its own root, never from the host.
func TestResolveUserStaysInRootfs(t *testing.T) {
	outside := writeRootfsFiles(t, map[string]string{"passwd": "evil:x:0:0::/:/bin/sh\n"})
	root := writeRootfsFiles(t, map[string]string{"etc/.keep": ""})
	if err := os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveUser(root, &corev1.Pod{}, &corev1.Container{}, "evil"); !errors.Is(err, errConfig) {
		t.Errorf("user from outside the rootfs resolved: err = %v", err)
	}
	if err := os.Remove(filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../etc/passwd", filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveUser(root, &corev1.Pod{}, &corev1.Container{}, "root"); !errors.Is(err, errConfig) {
		t.Errorf("user resolved through a ../ symlink out of the rootfs: err = %v", err)
	}
}
