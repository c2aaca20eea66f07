package kinds

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func validPod() *corev1.Pod {
	return &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: "web", Namespace: "demo"},
		Spec: &corev1.PodSpec{
			Containers: []*corev1.Container{{
				Name:           "main",
				Image:          "127.0.0.1:5000/busybox:1",
				Command:        []string{"sh", "-c", "sleep 3600"},
				Resources:      &corev1.ResourceRequirements{Requests: map[string]string{"cpu": "100m", "memory": "64Mi"}},
				ReadinessProbe: &corev1.Probe{Exec: &corev1.ExecAction{Command: []string{"true"}}},
			}},
		},
	}
}

func TestPodDefaults(t *testing.T) {
	pod := validPod()
	defaultPod(pod)
	s := pod.GetSpec()
	if s.GetRestartPolicy() != "Always" || s.GetIsolation() != "container" || s.GetTerminationGracePeriodSeconds() != 30 {
		t.Fatalf("spec defaults: %v", s)
	}
	c := s.GetContainers()[0]
	if c.GetImagePullPolicy() != "IfNotPresent" || c.GetReadinessProbe().GetPeriodSeconds() != 10 || c.GetReadinessProbe().GetFailureThreshold() != 3 {
		t.Fatalf("container defaults: %v", c)
	}
	latest := validPod()
	latest.Spec.Containers[0].Image = "busybox"
	defaultPod(latest)
	if latest.GetSpec().GetContainers()[0].GetImagePullPolicy() != "Always" {
		t.Fatal("untagged image must default to Always")
	}
	if errs := validatePodSpec(pod.GetSpec()); len(errs) != 0 {
		t.Fatalf("valid pod rejected: %v", errs)
	}
}

func TestPodValidationNamesEveryBadField(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.PodSpec)
		path   string
	}{
		{"no containers", func(s *corev1.PodSpec) { s.Containers = nil }, "spec.containers"},
		{"no image", func(s *corev1.PodSpec) { s.Containers[0].Image = "" }, "spec.containers[0].image"},
		{"bad container name", func(s *corev1.PodSpec) { s.Containers[0].Name = "Main_1" }, "spec.containers[0].name"},
		{"duplicate container", func(s *corev1.PodSpec) {
			s.Containers = append(s.Containers, proto.Clone(s.Containers[0]).(*corev1.Container))
		}, "spec.containers[1].name"},
		{"bad quantity", func(s *corev1.PodSpec) { s.Containers[0].Resources.Requests["cpu"] = "lots" }, `spec.containers[0].resources.requests["cpu"]`},
		{"unknown resource", func(s *corev1.PodSpec) { s.Containers[0].Resources.Requests["gpu"] = "1" }, `spec.containers[0].resources.requests["gpu"]`},
		{"request over limit", func(s *corev1.PodSpec) {
			s.Containers[0].Resources.Limits = map[string]string{"memory": "32Mi"}
		}, `spec.containers[0].resources.requests["memory"]`},
		{"probe with two actions", func(s *corev1.PodSpec) {
			s.Containers[0].ReadinessProbe.TcpSocket = &corev1.TCPSocketAction{Port: 80}
		}, "spec.containers[0].readinessProbe"},
		{"probe port", func(s *corev1.PodSpec) {
			s.Containers[0].LivenessProbe = &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Port: 70000}}
		}, "spec.containers[0].livenessProbe.httpGet.port"},
		{"restart policy", func(s *corev1.PodSpec) { s.RestartPolicy = "Sometimes" }, "spec.restartPolicy"},
		{"isolation", func(s *corev1.PodSpec) { s.Isolation = "hypervisor" }, "spec.isolation"},
		{"mount of unknown volume", func(s *corev1.PodSpec) {
			s.Containers[0].VolumeMounts = []*corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, "spec.containers[0].volumeMounts[0].name"},
		{"volume without source", func(s *corev1.PodSpec) { s.Volumes = []*corev1.Volume{{Name: "data"}} }, "spec.volumes[0]"},
		{"spread skew", func(s *corev1.PodSpec) {
			s.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{MaxSkew: 0, TopologyKey: "zone"}}
		}, "spec.topologySpreadConstraints[0].maxSkew"},
		{"selector operator", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAffinity{Required: []*corev1.PodAffinityTerm{{
				TopologyKey:   "pacific.dev/hostname",
				LabelSelector: &corev1.LabelSelector{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}},
			}}}}
		}, "spec.affinity.podAntiAffinity.required[0].labelSelector.matchExpressions[0].operator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := validPod()
			defaultPod(pod)
			c.mutate(pod.Spec)
			errs := validatePodSpec(pod.GetSpec())
			for _, e := range errs {
				if e.Path == c.path {
					return
				}
			}
			var paths []string
			for _, e := range errs {
				paths = append(paths, e.String())
			}
			t.Fatalf("no error at %s; got: %s", c.path, strings.Join(paths, "; "))
		})
	}
}

func TestPodSpecIsImmutableExceptBinding(t *testing.T) {
	old := validPod()
	defaultPod(old)
	bound := proto.Clone(old).(*corev1.Pod)
	bound.Spec.NodeName = "host-1"
	if errs := validatePodUpdate(old, bound); len(errs) != 0 {
		t.Fatalf("binding refused: %v", errs)
	}
	moved := proto.Clone(bound).(*corev1.Pod)
	moved.Spec.NodeName = "host-2"
	if errs := validatePodUpdate(bound, moved); len(errs) == 0 {
		t.Fatal("rebinding accepted")
	}
	changed := proto.Clone(bound).(*corev1.Pod)
	changed.Spec.Containers[0].Image = "other"
	if errs := validatePodUpdate(bound, changed); len(errs) == 0 {
		t.Fatal("image change accepted")
	}
}
