package labels

import (
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func TestFromProto(t *testing.T) {
	s, err := FromProto(&corev1.LabelSelector{
		MatchLabels:      map[string]string{"app": "web"},
		MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "tier", Operator: "In", Values: []string{"a", "b"}}, {Key: "legacy", Operator: "DoesNotExist"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "app=web,!legacy,tier in (a,b)" {
		t.Fatalf("String() = %q", got)
	}
	if !s.Matches(map[string]string{"app": "web", "tier": "a"}) || s.Matches(map[string]string{"app": "web", "tier": "c"}) || s.Matches(map[string]string{"app": "web", "tier": "a", "legacy": "1"}) {
		t.Fatal("Matches disagrees with the selector")
	}
	if _, err := FromProto(&corev1.LabelSelector{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "x", Operator: "Gt", Values: []string{"1"}}}}); err == nil {
		t.Fatal("Gt accepted in a label selector")
	}
	if s, err := FromProto(nil); err != nil || !s.Empty() {
		t.Fatalf("nil selector: %v %v", s, err)
	}
}
