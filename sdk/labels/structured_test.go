package labels

import (
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func TestFromLabelSelector(t *testing.T) {
	sel, none, err := FromLabelSelector(&corev1.LabelSelector{
		MatchLabels:      map[string]string{"app": "web"},
		MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "tier", Operator: "NotIn", Values: []string{"db"}}},
	})
	if err != nil || none {
		t.Fatal(err, none)
	}
	for set, want := range map[*map[string]string]bool{
		{"app": "web"}:               true,
		{"app": "web", "tier": "db"}: false,
		{"app": "api"}:               false,
	} {
		if got := sel.Matches(*set); got != want {
			t.Errorf("%v: got %v", *set, got)
		}
	}
	if _, none, _ := FromLabelSelector(nil); !none {
		t.Error("a nil selector must match nothing")
	}
	if sel, _, _ := FromLabelSelector(&corev1.LabelSelector{}); !sel.Matches(map[string]string{"x": "y"}) {
		t.Error("an empty selector must match everything")
	}
	if _, _, err := FromLabelSelector(&corev1.LabelSelector{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "n", Operator: "Gt", Values: []string{"1"}}}}); err == nil {
		t.Error("Gt accepted in a label selector")
	}
	if _, _, err := FromLabelSelector(&corev1.LabelSelector{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "n", Operator: "Near"}}}); err == nil {
		t.Error("unknown operator accepted")
	}
	hostSel, err := FromExpressions([]*corev1.LabelSelectorRequirement{{Key: "cores", Operator: "Gt", Values: []string{"2"}}, {Key: "gpu", Operator: "DoesNotExist"}})
	if err != nil {
		t.Fatal(err)
	}
	if !hostSel.Matches(map[string]string{"cores": "4"}) || hostSel.Matches(map[string]string{"cores": "2"}) || hostSel.Matches(map[string]string{"cores": "8", "gpu": "a"}) {
		t.Error("host selector matched wrongly")
	}
}
