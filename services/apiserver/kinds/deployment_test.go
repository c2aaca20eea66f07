package kinds

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/manifest"
)

func validDeployment() *corev1.Deployment {
	return &corev1.Deployment{
		Metadata: &corev1.ObjectMeta{Name: "web", Namespace: "demo"},
		Spec: &corev1.DeploymentSpec{
			Replicas: proto.Int32(3),
			Selector: &corev1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &corev1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:     validPod().GetSpec(),
			},
		},
	}
}

func TestDeploymentDefaults(t *testing.T) {
	d := validDeployment()
	d.Spec.Replicas = nil
	defaultDeployment(d)
	s := d.GetSpec()
	if s.GetReplicas() != 1 || s.GetRevisionHistoryLimit() != 10 || s.GetProgressDeadlineSeconds() != 600 {
		t.Fatalf("defaults: %v", s)
	}
	ru := s.GetStrategy().GetRollingUpdate()
	if s.GetStrategy().GetType() != apis.RollingUpdateStrategy || ru.GetMaxSurge().GetStringValue() != "25%" || ru.GetMaxUnavailable().GetStringValue() != "25%" {
		t.Fatalf("strategy defaults: %v", s.GetStrategy())
	}
	if s.GetTemplate().GetSpec().GetRestartPolicy() != "Always" {
		t.Fatal("the template's pod spec was not defaulted")
	}
	if errs := deploymentKind().Validate(d); len(errs) != 0 {
		t.Fatalf("valid deployment rejected: %v", errs)
	}
}

func TestDeploymentValidationNamesEveryBadField(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Deployment)
		path   string
	}{
		{"negative replicas", func(d *corev1.Deployment) { d.Spec.Replicas = proto.Int32(-1) }, "spec.replicas"},
		{"no selector", func(d *corev1.Deployment) { d.Spec.Selector = nil }, "spec.selector"},
		{"selector does not match", func(d *corev1.Deployment) { d.Spec.Selector.MatchLabels["app"] = "db" }, "spec.template.metadata.labels"},
		{"bad selector operator", func(d *corev1.Deployment) {
			d.Spec.Selector.MatchExpressions = []*corev1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}
		}, "spec.selector.matchExpressions[0].operator"},
		{"template without image", func(d *corev1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }, "spec.template.spec.containers[0].image"},
		{"template named", func(d *corev1.Deployment) { d.Spec.Template.Metadata.Name = "x" }, "spec.template.metadata"},
		{"bad strategy", func(d *corev1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, "spec.strategy.type"},
		{"bad surge", func(d *corev1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = structpb.NewStringValue("lots")
		}, "spec.strategy.rollingUpdate.maxSurge"},
		{"fractional unavailable", func(d *corev1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = structpb.NewNumberValue(1.5)
		}, "spec.strategy.rollingUpdate.maxUnavailable"},
		{"both zero", func(d *corev1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &corev1.RollingUpdateDeployment{MaxSurge: structpb.NewNumberValue(0), MaxUnavailable: structpb.NewStringValue("0%")}
		}, "spec.strategy.rollingUpdate"},
		{"recreate with rollingUpdate", func(d *corev1.Deployment) { d.Spec.Strategy.Type = apis.RecreateStrategy }, "spec.strategy.rollingUpdate"},
		{"deadline below minReady", func(d *corev1.Deployment) { d.Spec.MinReadySeconds = 700 }, "spec.progressDeadlineSeconds"},
		{"name too long", func(d *corev1.Deployment) { d.Metadata.Name = strings.Repeat("a", 47) }, "metadata.name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := validDeployment()
			defaultDeployment(d)
			tc.mutate(d)
			errs := deploymentKind().Validate(d)
			for _, e := range errs {
				if e.Path == tc.path {
					return
				}
			}
			t.Fatalf("want an error at %s, got %v", tc.path, errs)
		})
	}
}

func TestDeploymentSelectorIsImmutable(t *testing.T) {
	old := validDeployment()
	next := proto.Clone(old).(*corev1.Deployment)
	next.Spec.Selector.MatchLabels["tier"] = "front"
	errs := deploymentKind().ValidateUpdate(old, next)
	if len(errs) != 1 || errs[0].Path != "spec.selector" {
		t.Fatalf("errors = %v", errs)
	}
	next = proto.Clone(old).(*corev1.Deployment)
	next.Spec.Replicas = proto.Int32(5)
	if errs := deploymentKind().ValidateUpdate(old, next); len(errs) != 0 {
		t.Fatalf("scaling refused: %v", errs)
	}
}

func TestRollingBounds(t *testing.T) {
	cases := []struct {
		replicas                   int32
		surge, unavail             *structpb.Value
		wantSurge, wantUnavailable int32
	}{
		{3, nil, nil, 1, 1 - 1}, // 25% of 3: surge rounds up to 1, unavailable down to 0
		{4, nil, nil, 1, 1},
		{10, structpb.NewStringValue("30%"), structpb.NewStringValue("30%"), 3, 3},
		{3, structpb.NewNumberValue(0), structpb.NewNumberValue(0), 0, 1},
		{3, structpb.NewNumberValue(2), structpb.NewStringValue("1"), 2, 1},
		{2, structpb.NewNumberValue(1), structpb.NewNumberValue(5), 1, 2},
	}
	for _, tc := range cases {
		d := validDeployment()
		d.Spec.Replicas = proto.Int32(tc.replicas)
		d.Spec.Strategy = &corev1.DeploymentStrategy{RollingUpdate: &corev1.RollingUpdateDeployment{MaxSurge: tc.surge, MaxUnavailable: tc.unavail}}
		s, u, err := apis.RollingBounds(d)
		if err != nil || s != tc.wantSurge || u != tc.wantUnavailable {
			t.Errorf("replicas %d surge %v unavailable %v: got %d, %d, %v; want %d, %d", tc.replicas, tc.surge, tc.unavail, s, u, err, tc.wantSurge, tc.wantUnavailable)
		}
	}
}

// The acceptance manifest must apply as is.
func TestDeploymentExampleIsValid(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Decoder{}.Decode("deployment.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := objs[0].(*corev1.Deployment)
	if len(objs) != 1 || !ok {
		t.Fatalf("got %v, want one Deployment", objs)
	}
	defaultDeployment(d)
	if errs := deploymentKind().Validate(d); len(errs) != 0 {
		t.Fatal(errs)
	}
	if d.GetSpec().GetReplicas() != 3 {
		t.Fatalf("replicas = %d", d.GetSpec().GetReplicas())
	}
}

func TestRollingUpdateTakesCountsAndPercentagesFromYAML(t *testing.T) {
	doc := `apiVersion: core.pacific.dev/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: "50%"}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: busybox:1}]}
`
	objs, err := manifest.Decoder{}.Decode("d.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	d := objs[0].(*corev1.Deployment)
	d.Spec.Replicas = proto.Int32(4)
	defaultDeployment(d)
	s, u, err := apis.RollingBounds(d)
	if err != nil || s != 1 || u != 2 {
		t.Fatalf("bounds = %d, %d, %v; want 1, 2", s, u, err)
	}
}
