package labels

import (
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func TestFromExpressions(t *testing.T) {
	sel, err := FromExpressions([]*corev1.LabelSelectorRequirement{{Key: "cores", Operator: "Gt", Values: []string{"2"}}, {Key: "gpu", Operator: "DoesNotExist"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		set  map[string]string
		want bool
	}{
		{map[string]string{"cores": "4"}, true},
		{map[string]string{"cores": "2"}, false},
		{map[string]string{"cores": "many"}, false},
		{map[string]string{"cores": "8", "gpu": "a"}, false},
	} {
		if got := sel.Matches(tc.set); got != tc.want {
			t.Errorf("%v: got %v", tc.set, got)
		}
	}
	if _, err := FromExpressions([]*corev1.LabelSelectorRequirement{{Key: "n", Operator: "Near"}}); err == nil {
		t.Error("unknown operator accepted")
	}
	if _, err := FromExpressions([]*corev1.LabelSelectorRequirement{{Key: "n", Operator: "Lt", Values: []string{"x"}}}); err == nil {
		t.Error("Lt with a non-integer accepted")
	}
}
