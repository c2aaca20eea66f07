package hostagent

import (
	"errors"
	"slices"
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func TestCommandLine(t *testing.T) {
	img := ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"default"}}
	for _, tc := range []struct {
		name          string
		command, args []string
		img           ImageConfig
		want          []string
		wantErr       bool
	}{
		{"image defaults", nil, nil, img, []string{"/entry", "default"}, false},
		{"args replace cmd", nil, []string{"x"}, img, []string{"/entry", "x"}, false},
		{"command replaces both", []string{"sh"}, nil, img, []string{"sh"}, false},
		{"command and args", []string{"sh", "-c"}, []string{"echo hi"}, img, []string{"sh", "-c", "echo hi"}, false},
		{"cmd only image", nil, nil, ImageConfig{Cmd: []string{"run"}}, []string{"run"}, false},
		{"nothing to run", nil, nil, ImageConfig{}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := commandLine(&corev1.Container{Command: tc.command, Args: tc.args}, tc.img)
			if tc.wantErr {
				if !errors.Is(err, errConfig) {
					t.Fatalf("err = %v, want a config error", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv(
		[]string{"PATH=/bin", "A=image", "B=image"},
		[]*corev1.EnvVar{{Name: "B", Value: "pod"}, {Name: "C", Value: "x=y"}},
		"web-1")
	want := []string{"PATH=/bin", "A=image", "B=pod", "C=x=y", "HOSTNAME=web-1"}
	if !slices.Equal(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
	got = mergeEnv(nil, []*corev1.EnvVar{{Name: "HOSTNAME", Value: "mine"}}, "web-1")
	if !slices.Equal(got, []string{"HOSTNAME=mine"}) {
		t.Errorf("a HOSTNAME the pod sets wins: %q", got)
	}
}

func TestResourcesOf(t *testing.T) {
	got, err := resourcesOf(&corev1.ResourceRequirements{
		Requests: map[string]string{"cpu": "250m", "memory": "32Mi"},
		Limits:   map[string]string{"cpu": "1", "memory": "64Mi"},
	})
	want := runtime.Resources{CPULimitMillis: 1000, CPURequestMillis: 250, MemoryLimitBytes: 64 << 20}
	if err != nil || got != want {
		t.Errorf("resourcesOf = %+v, %v; want %+v", got, err, want)
	}
	if got, err := resourcesOf(nil); err != nil || got != (runtime.Resources{}) {
		t.Errorf("no resources = %+v, %v", got, err)
	}
	if _, err := resourcesOf(&corev1.ResourceRequirements{Limits: map[string]string{"memory": "lots"}}); !errors.Is(err, errConfig) {
		t.Errorf("bad quantity: err = %v", err)
	}
}

func TestCheckSecurity(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name string
		pod  *corev1.PodSpec
		sc   *corev1.SecurityContext
		ok   bool
	}{
		{"none", nil, nil, true},
		{"runtime default seccomp", nil, &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"}}, true},
		{"read-only root", nil, &corev1.SecurityContext{ReadOnlyRootFilesystem: &yes}, true},
		{"privileged", nil, &corev1.SecurityContext{Privileged: &yes}, false},
		{"add caps beyond the default set", nil, &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []string{"NET_ADMIN"}}}, false},
		{"drop all, add back a default one", nil, &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []string{"ALL"}, Add: []string{"net_bind_service"}}}, true},
		{"drop unknown", nil, &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []string{"BOGUS"}}}, false},
		{"unconfined", nil, &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: "Unconfined"}}, false},
		{"unconfined pod", &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: "Unconfined"}}}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSecurity(&corev1.Pod{Spec: tc.pod}, &corev1.Container{SecurityContext: tc.sc})
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, errConfig) {
				t.Errorf("checkSecurity = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestBuildSpec(t *testing.T) {
	pod := &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: "web", Namespace: "demo", Uid: "u-1"},
		Spec:     &corev1.PodSpec{Volumes: []*corev1.Volume{{Name: "scratch", EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
	c := &corev1.Container{
		Name: "main", Image: "reg/web:1", Args: []string{"--port=80"}, Tty: true,
		VolumeMounts: []*corev1.VolumeMount{{Name: "scratch", MountPath: "/data", ReadOnly: true}},
	}
	img := Image{Digest: "sha256:abc", Config: ImageConfig{Entrypoint: []string{"/web"}, WorkingDir: "/srv", Env: []string{"PATH=/bin"}}}
	spec, err := buildSpec(specInput{Pod: pod, Container: c, Image: img, ID: "id-1", Attempt: 2, SandboxID: "sb", Rootfs: "/r",
		Volumes: map[string]string{"scratch": "/host/scratch"}, User: runtime.User{UID: 5, GID: 6}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.ID != "id-1" || spec.SandboxID != "sb" || spec.Name != "main" || spec.Attempt != 2 || spec.Rootfs != "/r" || !spec.TTY {
		t.Errorf("identity fields: %+v", spec)
	}
	if !slices.Equal(spec.Args, []string{"/web", "--port=80"}) || spec.Cwd != "/srv" || spec.User.UID != 5 {
		t.Errorf("process: args %q cwd %q user %+v", spec.Args, spec.Cwd, spec.User)
	}
	if len(spec.Mounts) != 1 || spec.Mounts[0] != (runtime.Mount{Source: "/host/scratch", Destination: "/data", ReadOnly: true}) {
		t.Errorf("mounts: %+v", spec.Mounts)
	}
	for k, v := range map[string]string{labelPodUID: "u-1", labelPodNamespace: "demo", labelPodName: "web", labelContainerName: "main", labelImageDigest: "sha256:abc", labelImageRef: "reg/web:1"} {
		if spec.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, spec.Labels[k], v)
		}
	}
	if spec.DropCapabilities != nil || spec.AddCapabilities != nil {
		t.Errorf("capabilities changed without a security context: drop %q add %q", spec.DropCapabilities, spec.AddCapabilities)
	}
	c.SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []string{"all"}, Add: []string{"CAP_CHOWN", "kill"}}}
	spec, err = buildSpec(specInput{Pod: pod, Container: c, Image: img, Volumes: map[string]string{"scratch": "/host/scratch"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(spec.DropCapabilities, []string{"ALL"}) || !slices.Equal(spec.AddCapabilities, []string{"CAP_CHOWN", "CAP_KILL"}) {
		t.Errorf("capabilities: drop %q add %q", spec.DropCapabilities, spec.AddCapabilities)
	}
	c.VolumeMounts[0].Name = "missing"
	if _, err := buildSpec(specInput{Pod: pod, Container: c, Image: img}); !errors.Is(err, errConfig) {
		t.Errorf("unknown volume: err = %v", err)
	}
}
