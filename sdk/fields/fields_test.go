package fields

import "testing"

func TestParseAndMatch(t *testing.T) {
	sel, err := Parse("spec.nodeName=host-1, metadata.name!=skip,status.phase==Running")
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]string{"spec.nodeName": "host-1", "metadata.name": "web", "status.phase": "Running"}
	if !sel.Matches(func(p string) string { return obj[p] }) {
		t.Fatal("should match")
	}
	obj["metadata.name"] = "skip"
	if sel.Matches(func(p string) string { return obj[p] }) {
		t.Fatal("!= ignored")
	}
	if got := sel.String(); got != "spec.nodeName=host-1,metadata.name!=skip,status.phase=Running" {
		t.Fatalf("String = %q", got)
	}
	if empty, _ := Parse(""); !empty.Empty() || !empty.Matches(func(string) string { return "" }) {
		t.Fatal("empty selector must match everything")
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"nodeName", "=x", "spec..x=1", "a=b=c", "spec.node name=x", ".a=1"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}
