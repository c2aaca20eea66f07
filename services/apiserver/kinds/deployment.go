package kinds

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/labels"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

// Limits and defaults of Deployments and ReplicaSets.
const (
	maxReplicas                    = 10000
	defaultRevisionHistoryLimit    = 10
	defaultProgressDeadlineSeconds = 600
	maxWorkloadSeconds             = 7 * 24 * 3600
	// A Deployment's ReplicaSets are named NAME-HASH (up to 10 characters)
	// and their pods RS-XXXXX, and pod names are DNS labels (≤ 63).
	maxDeploymentNameLen = 63 - 1 - 10 - 1 - 5
	maxReplicaSetNameLen = 63 - 1 - 5
)

func deploymentKind() *registry.Kind {
	return &registry.Kind{
		GVK:        apis.GVK{APIVersion: apis.CoreV1, Kind: "Deployment"},
		Plural:     "deployments",
		ShortNames: []string{"deploy"},
		Namespaced: true,
		New:        func() apis.Object { return &corev1.Deployment{} },
		Default:    defaultDeployment,
		Validate: func(obj apis.Object) apierr.FieldErrors {
			d := obj.(*corev1.Deployment)
			fe := validateWorkloadName(d.GetMetadata().GetName(), maxDeploymentNameLen)
			s := d.GetSpec()
			if s == nil {
				fe.Required("spec")
				return fe
			}
			validateReplicas(&fe, s.Replicas)
			validateTemplate(&fe, s.GetSelector(), s.GetTemplate())
			validateNonNegative(&fe, "spec.minReadySeconds", s.GetMinReadySeconds())
			validateNonNegative(&fe, "spec.revisionHistoryLimit", s.GetRevisionHistoryLimit())
			if p := s.GetProgressDeadlineSeconds(); p <= s.GetMinReadySeconds() || p > maxWorkloadSeconds {
				fe.Add("spec.progressDeadlineSeconds", "%d: must be greater than minReadySeconds (%d) and at most %d", p, s.GetMinReadySeconds(), maxWorkloadSeconds)
			}
			validateStrategy(&fe, s.GetStrategy())
			return fe
		},
		ValidateUpdate: func(old, obj apis.Object) apierr.FieldErrors {
			var fe apierr.FieldErrors
			if !proto.Equal(old.(*corev1.Deployment).GetSpec().GetSelector(), obj.(*corev1.Deployment).GetSpec().GetSelector()) {
				fe.Add("spec.selector", "immutable; create a new Deployment to change it")
			}
			return fe
		},
		PrinterColumns: []*corev1.PrinterColumn{
			column("Ready", ".", "readyreplicas"),
			column("Up-to-date", ".status.updatedReplicas", "integer"),
			column("Available", ".status.availableReplicas", "integer"),
			ageColumn(),
			wideColumn("Containers", ".spec.template.spec.containers[*].name", "string"),
			wideColumn("Images", ".spec.template.spec.containers[*].image", "string"),
		},
	}
}

func replicaSetKind() *registry.Kind {
	return &registry.Kind{
		GVK:        apis.GVK{APIVersion: apis.CoreV1, Kind: "ReplicaSet"},
		Plural:     "replicasets",
		ShortNames: []string{"rs"},
		Namespaced: true,
		New:        func() apis.Object { return &corev1.ReplicaSet{} },
		Default: func(obj apis.Object) {
			rs := obj.(*corev1.ReplicaSet)
			if rs.Spec == nil {
				rs.Spec = &corev1.ReplicaSetSpec{}
			}
			if rs.Spec.Replicas == nil {
				rs.Spec.Replicas = proto.Int32(1)
			}
			defaultTemplate(rs.Spec.GetTemplate())
		},
		Validate: func(obj apis.Object) apierr.FieldErrors {
			rs := obj.(*corev1.ReplicaSet)
			fe := validateWorkloadName(rs.GetMetadata().GetName(), maxReplicaSetNameLen)
			s := rs.GetSpec()
			validateReplicas(&fe, s.Replicas)
			validateTemplate(&fe, s.GetSelector(), s.GetTemplate())
			validateNonNegative(&fe, "spec.minReadySeconds", s.GetMinReadySeconds())
			return fe
		},
		ValidateUpdate: func(old, obj apis.Object) apierr.FieldErrors {
			var fe apierr.FieldErrors
			if !proto.Equal(old.(*corev1.ReplicaSet).GetSpec().GetSelector(), obj.(*corev1.ReplicaSet).GetSpec().GetSelector()) {
				fe.Add("spec.selector", "immutable")
			}
			return fe
		},
		PrinterColumns: []*corev1.PrinterColumn{
			column("Desired", ".spec.replicas", "integer"),
			column("Current", ".status.replicas", "integer"),
			column("Ready", ".status.readyReplicas", "integer"),
			ageColumn(),
			wideColumn("Images", ".spec.template.spec.containers[*].image", "string"),
		},
	}
}

func defaultDeployment(obj apis.Object) {
	d := obj.(*corev1.Deployment)
	if d.Spec == nil {
		d.Spec = &corev1.DeploymentSpec{}
	}
	s := d.Spec
	if s.Replicas == nil {
		s.Replicas = proto.Int32(1)
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = proto.Int32(defaultRevisionHistoryLimit)
	}
	if s.ProgressDeadlineSeconds == nil {
		s.ProgressDeadlineSeconds = proto.Int32(defaultProgressDeadlineSeconds)
	}
	if s.Strategy == nil {
		s.Strategy = &corev1.DeploymentStrategy{}
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = apis.RollingUpdateStrategy
	}
	if s.Strategy.Type == apis.RollingUpdateStrategy {
		if s.Strategy.RollingUpdate == nil {
			s.Strategy.RollingUpdate = &corev1.RollingUpdateDeployment{}
		}
		ru := s.Strategy.RollingUpdate
		if ru.MaxSurge == nil {
			ru.MaxSurge = structpb.NewStringValue(apis.DefaultMaxSurge)
		}
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = structpb.NewStringValue(apis.DefaultMaxUnavailable)
		}
	}
	defaultTemplate(s.GetTemplate())
}

// defaultTemplate applies the Pod defaults to a template, so the stored
// template equals the pods made from it.
func defaultTemplate(t *corev1.PodTemplateSpec) {
	if t == nil {
		return
	}
	pod := &corev1.Pod{Spec: t.Spec}
	defaultPod(pod)
	t.Spec = pod.Spec
}

func validateWorkloadName(name string, maxLen int) apierr.FieldErrors {
	var fe apierr.FieldErrors
	if len(name) > maxLen {
		fe.Add("metadata.name", "%q: at most %d characters (the names of its pods add a suffix and must stay DNS labels)", name, maxLen)
	}
	return fe
}

func validateReplicas(fe *apierr.FieldErrors, r *int32) {
	if r != nil && (*r < 0 || *r > maxReplicas) {
		fe.Add("spec.replicas", "%d: must be between 0 and %d", *r, maxReplicas)
	}
}

func validateNonNegative(fe *apierr.FieldErrors, path string, v int32) {
	if v < 0 || v > maxWorkloadSeconds {
		fe.Add(path, "%d: must be between 0 and %d", v, maxWorkloadSeconds)
	}
}

// validateTemplate checks the selector, that it selects the template's
// labels, and the template's pod spec (paths under spec.template).
func validateTemplate(fe *apierr.FieldErrors, sel *corev1.LabelSelector, t *corev1.PodTemplateSpec) {
	if len(sel.GetMatchLabels()) == 0 && len(sel.GetMatchExpressions()) == 0 {
		fe.Add("spec.selector", "required: a non-empty selector (matchLabels or matchExpressions) that matches spec.template.metadata.labels")
	} else {
		before := len(*fe)
		validateLabelSelector(fe, "spec.selector", sel)
		if len(*fe) == before {
			s, err := labels.FromProto(sel)
			switch {
			case err != nil:
				fe.Add("spec.selector", "%v", err)
			case !s.Matches(t.GetMetadata().GetLabels()):
				fe.Add("spec.template.metadata.labels", "%v: do not match spec.selector %q", t.GetMetadata().GetLabels(), s.String())
			}
		}
	}
	if t == nil {
		fe.Required("spec.template")
		return
	}
	for k, v := range t.GetMetadata().GetLabels() {
		validateLabel(fe, fmt.Sprintf("spec.template.metadata.labels[%q]", k), k, v)
	}
	if md := t.GetMetadata(); md.GetName() != "" || md.GetNamespace() != "" || len(md.GetOwnerReferences()) > 0 || len(md.GetFinalizers()) > 0 {
		fe.Add("spec.template.metadata", "only labels and annotations may be set (the controller names the pods)")
	}
	for _, e := range validatePodSpec(t.GetSpec()) {
		fe.Add("spec.template."+e.Path, "%s", e.Msg)
	}
}

func validateStrategy(fe *apierr.FieldErrors, s *corev1.DeploymentStrategy) {
	oneOf(fe, "spec.strategy.type", s.GetType(), apis.RollingUpdateStrategy, apis.RecreateStrategy)
	ru := s.GetRollingUpdate()
	if s.GetType() == apis.RecreateStrategy {
		if ru != nil {
			fe.Add("spec.strategy.rollingUpdate", "must not be set when type is Recreate")
		}
		return
	}
	surge, errS := checkIntOrPercent(fe, "spec.strategy.rollingUpdate.maxSurge", ru.GetMaxSurge())
	unavail, errU := checkIntOrPercent(fe, "spec.strategy.rollingUpdate.maxUnavailable", ru.GetMaxUnavailable())
	if !errS && !errU && surge && unavail {
		fe.Add("spec.strategy.rollingUpdate", "maxSurge and maxUnavailable must not both be 0")
	}
}

// checkIntOrPercent validates a count or percentage and says whether it is
// zero (as a count or "0%") and whether it was invalid.
func checkIntOrPercent(fe *apierr.FieldErrors, path string, v *structpb.Value) (zero, invalid bool) {
	if v == nil {
		return false, false
	}
	// 100 replicas shows whether a percentage is 0% (it rounds to 0 at any size).
	n, err := apis.ScaledValue(v, 100, true)
	if err != nil {
		fe.Add(path, "%s", strings.TrimPrefix(err.Error(), "required: "))
		return false, true
	}
	return n == 0, false
}
