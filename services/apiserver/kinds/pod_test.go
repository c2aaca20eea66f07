package kinds

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
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
			s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
				TopologyKey:   "pacific.dev/hostname",
				LabelSelector: &corev1.LabelSelector{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}},
			}}}}
		}, "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].operator"},
		{"anti-affinity without topology key", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
				LabelSelector: &corev1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			}}}}
		}, "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"},
		{"preferred pod affinity weight", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.WeightedPodAffinityTerm{{
				Weight: 101, PodAffinityTerm: &corev1.PodAffinityTerm{TopologyKey: "zone"},
			}}}}
		}, "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"},
		{"preferred pod affinity without term", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.WeightedPodAffinityTerm{{Weight: 1}}}}
		}, "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm"},
		{"node affinity without terms", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"},
		{"node affinity Gt needs an integer", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "cores", Operator: "Gt", Values: []string{"many"}}}}},
			}}}
		}, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]"},
		{"node affinity In without values", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.PreferredSchedulingTerm{{
				Weight: 10, Preference: &corev1.NodeSelectorTerm{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "zone", Operator: "In"}}},
			}}}}
		}, "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values"},
		{"Gt outside node affinity", func(s *corev1.PodSpec) {
			s.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", LabelSelector: &corev1.LabelSelector{
				MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "rank", Operator: "Gt", Values: []string{"1"}}},
			}}}
		}, "spec.topologySpreadConstraints[0].labelSelector.matchExpressions[0].operator"},
		{"spread without selector", func(s *corev1.PodSpec) {
			s.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone"}}
		}, "spec.topologySpreadConstraints[0].labelSelector"},
		{"spread topology key", func(s *corev1.PodSpec) {
			s.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "bad key!", LabelSelector: &corev1.LabelSelector{}}}
		}, "spec.topologySpreadConstraints[0].topologyKey"},
		{"spread whenUnsatisfiable", func(s *corev1.PodSpec) {
			s.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: "Maybe", LabelSelector: &corev1.LabelSelector{}}}
		}, "spec.topologySpreadConstraints[0].whenUnsatisfiable"},
		{"spread label value", func(s *corev1.PodSpec) {
			s.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", LabelSelector: &corev1.LabelSelector{
				MatchLabels: map[string]string{"app": "not a value"},
			}}}
		}, `spec.topologySpreadConstraints[0].labelSelector.matchLabels["app"]`},
		{"node selector key", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"-bad": "x"} }, `spec.nodeSelector["-bad"]`},
		{"toleration without key", func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Operator: "Equal", Value: "x"}}
		}, "spec.tolerations[0].key"},
		{"toleration operator", func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Key: "k", Operator: "Like"}}
		}, "spec.tolerations[0].operator"},
		{"toleration seconds without NoExecute", func(s *corev1.PodSpec) {
			secs := int64(10)
			s.Tolerations = []*corev1.Toleration{{Key: "k", Operator: "Exists", Effect: "NoSchedule", TolerationSeconds: &secs}}
		}, "spec.tolerations[0].tolerationSeconds"},
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

func TestSchedulingFieldsValidAndDefaulted(t *testing.T) {
	pod := validPod()
	pod.Spec.NodeSelector = map[string]string{"topology.pacific.dev/zone": "z1"}
	pod.Spec.Tolerations = []*corev1.Toleration{{Key: "dedicated", Value: "db", Effect: "NoSchedule"}, {Operator: "Exists"}}
	pod.Spec.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: "topology.pacific.dev/zone", LabelSelector: &corev1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
	}}
	pod.Spec.Affinity = &corev1.Affinity{
		NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "cores", Operator: "Gt", Values: []string{"2"}}}}},
		}},
		PodAntiAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
			TopologyKey: "pacific.dev/hostname", LabelSelector: &corev1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		}}},
	}
	defaultPod(pod)
	if got := pod.Spec.TopologySpreadConstraints[0].GetWhenUnsatisfiable(); got != "DoNotSchedule" {
		t.Errorf("whenUnsatisfiable defaulted to %q", got)
	}
	if got := pod.Spec.Tolerations[0].GetOperator(); got != "Equal" {
		t.Errorf("toleration operator defaulted to %q", got)
	}
	if errs := validatePodSpec(pod.GetSpec()); len(errs) != 0 {
		t.Fatalf("valid scheduling fields rejected: %v", errs)
	}
}

func TestBindingMarksPodScheduled(t *testing.T) {
	old := validPod()
	defaultPod(old)
	old.Status = &corev1.PodStatus{Phase: "Pending", Conditions: []*corev1.Condition{{Type: "PodScheduled", Status: "False", Reason: "Unschedulable"}}}
	bound := proto.Clone(old).(*corev1.Pod)
	bound.Spec.NodeName = "host-1"
	if err := markScheduledOnBind(t.Context(), registry.AdmissionRequest{Op: registry.OpUpdate, Old: old, Obj: bound}); err != nil {
		t.Fatal(err)
	}
	conds := bound.GetStatus().GetConditions()
	if len(conds) != 1 || conds[0].GetStatus() != "True" || conds[0].GetReason() != "Scheduled" || !strings.Contains(conds[0].GetMessage(), "host-1") {
		t.Fatalf("conditions after bind: %v", conds)
	}
	again := proto.Clone(bound).(*corev1.Pod)
	again.Status.Conditions[0].Status = "False"
	if err := markScheduledOnBind(t.Context(), registry.AdmissionRequest{Op: registry.OpUpdate, Old: bound, Obj: again}); err != nil {
		t.Fatal(err)
	}
	if again.Status.Conditions[0].GetStatus() != "False" {
		t.Fatal("an update of a bound pod must not touch PodScheduled")
	}
}

func TestHostValidation(t *testing.T) {
	cases := []struct {
		name  string
		taint []*corev1.Taint
		path  string
	}{
		{"taint without key", []*corev1.Taint{{Effect: "NoSchedule"}}, "spec.taints[0].key"},
		{"taint effect", []*corev1.Taint{{Key: "k", Effect: "Sometimes"}}, "spec.taints[0].effect"},
		{"taint value", []*corev1.Taint{{Key: "k", Value: "a b", Effect: "NoSchedule"}}, "spec.taints[0].value"},
		{"duplicate taint", []*corev1.Taint{{Key: "k", Effect: "NoSchedule"}, {Key: "k", Value: "v", Effect: "NoSchedule"}}, "spec.taints[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &corev1.Host{Spec: &corev1.HostSpec{Taints: c.taint}}
			for _, e := range validateHost(h) {
				if e.Path == c.path {
					return
				}
			}
			t.Fatalf("no error at %s; got %v", c.path, validateHost(h))
		})
	}
	ok := &corev1.Host{Spec: &corev1.HostSpec{Maintenance: true, Unschedulable: true, Taints: []*corev1.Taint{{Key: "dedicated", Value: "db", Effect: "NoSchedule"}, {Key: "dedicated", Effect: "NoExecute"}}}}
	if errs := validateHost(ok); len(errs) != 0 {
		t.Fatalf("valid host rejected: %v", errs)
	}
}

func TestBoundPodsGetHostAgentFinalizer(t *testing.T) {
	has := func(p *corev1.Pod) bool {
		return slices.Contains(p.GetMetadata().GetFinalizers(), apis.HostAgentFinalizer)
	}
	admit := func(op registry.Operation, old, obj *corev1.Pod) {
		t.Helper()
		req := registry.AdmissionRequest{Op: op, Obj: obj}
		if old != nil {
			req.Old = old
		}
		if err := addHostAgentFinalizer(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	unbound := validPod()
	admit(registry.OpCreate, nil, unbound)
	if has(unbound) {
		t.Fatal("an unbound pod got the host agent's finalizer")
	}
	created := validPod()
	created.Spec.NodeName = "host-1"
	admit(registry.OpCreate, nil, created)
	if !has(created) {
		t.Fatal("a pod created with spec.nodeName has no host agent finalizer")
	}
	bound := proto.Clone(unbound).(*corev1.Pod)
	bound.Spec.NodeName = "host-1"
	admit(registry.OpUpdate, unbound, bound)
	if !has(bound) || len(bound.GetMetadata().GetFinalizers()) != 1 {
		t.Fatalf("binding: finalizers %v", bound.GetMetadata().GetFinalizers())
	}
	// Once bound, removing it (a user giving up on a dead host) sticks.
	released := proto.Clone(bound).(*corev1.Pod)
	released.Metadata.Finalizers = nil
	admit(registry.OpUpdate, bound, released)
	if has(released) {
		t.Fatal("the finalizer came back on an update of a bound pod")
	}
}
