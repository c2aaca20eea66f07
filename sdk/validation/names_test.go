package validation

import (
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	long := func(n int, c string) string { return strings.Repeat(c, n) }
	tests := []struct {
		name    string
		fn      func(string) error
		in      string
		wantErr string // substring; "" means valid
	}{
		{"label ok", DNS1123Label, "demo", ""},
		{"label digits", DNS1123Label, "123-abc", ""},
		{"label one char", DNS1123Label, "a", ""},
		{"label 63", DNS1123Label, long(63, "a"), ""},
		{"label 64", DNS1123Label, long(64, "a"), "no more than 63"},
		{"label empty", DNS1123Label, "", "must not be empty"},
		{"label upper", DNS1123Label, "Demo", "DNS-1123 label"},
		{"label dot", DNS1123Label, "a.b", "DNS-1123 label"},
		{"label leading dash", DNS1123Label, "-a", "DNS-1123 label"},
		{"label trailing dash", DNS1123Label, "a-", "DNS-1123 label"},
		{"label underscore", DNS1123Label, "a_b", "DNS-1123 label"},
		{"label unicode", DNS1123Label, "café", "DNS-1123 label"},

		{"subdomain ok", DNS1123Subdomain, "a.b-c.example", ""},
		{"subdomain single", DNS1123Subdomain, "demo", ""},
		{"subdomain 253", DNS1123Subdomain, strings.Repeat(long(62, "a")+".", 4)[:252] + "b", ""},
		{"subdomain 254", DNS1123Subdomain, long(254, "a"), "no more than 253"},
		{"subdomain empty", DNS1123Subdomain, "", "must not be empty"},
		{"subdomain empty part", DNS1123Subdomain, "a..b", "DNS-1123 subdomain"},
		{"subdomain trailing dot", DNS1123Subdomain, "a.", "DNS-1123 subdomain"},
		{"subdomain leading dot", DNS1123Subdomain, ".a", "DNS-1123 subdomain"},
		{"subdomain part 64", DNS1123Subdomain, long(64, "a") + ".b", "DNS-1123 subdomain"},
		{"subdomain upper", DNS1123Subdomain, "A.b", "DNS-1123 subdomain"},
		{"subdomain dash at part edge", DNS1123Subdomain, "a-.b", "DNS-1123 subdomain"},

		{"qualified plain", QualifiedName, "app", ""},
		{"qualified mixed", QualifiedName, "My_App.v-1", ""},
		{"qualified prefix", QualifiedName, "pacific.dev/team", ""},
		{"qualified 63", QualifiedName, "x.io/" + long(63, "n"), ""},
		{"qualified 64", QualifiedName, long(64, "n"), "name part must be no more than 63"},
		{"qualified empty", QualifiedName, "", "name part must not be empty"},
		{"qualified empty name", QualifiedName, "x.io/", "name part must not be empty"},
		{"qualified empty prefix", QualifiedName, "/a", "prefix part must not be empty"},
		{"qualified bad prefix", QualifiedName, "X_Y/a", "prefix part: a DNS-1123 subdomain"},
		{"qualified long prefix", QualifiedName, long(254, "p") + "/a", "prefix part: must be no more than 253"},
		{"qualified two slashes", QualifiedName, "a/b/c", "at most one '/'"},
		{"qualified leading dot", QualifiedName, ".a", "name part must consist"},
		{"qualified trailing underscore", QualifiedName, "a_", "name part must consist"},
		{"qualified space", QualifiedName, "a b", "name part must consist"},

		{"value empty", LabelValue, "", ""},
		{"value ok", LabelValue, "My_value.1-2", ""},
		{"value 63", LabelValue, long(63, "v"), ""},
		{"value 64", LabelValue, long(64, "v"), "no more than 63"},
		{"value slash", LabelValue, "a/b", "label value must"},
		{"value leading dash", LabelValue, "-a", "label value must"},
		{"value space", LabelValue, "a b", "label value must"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn(tt.in)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("(%q) = %v, want nil", tt.in, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("(%q) = nil, want error containing %q", tt.in, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("(%q) = %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestConfigMapKey(t *testing.T) {
	for _, ok := range []string{".dockerconfigjson", "a-b_c.d", "KEY"} {
		if err := ConfigMapKey(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a b", string(make([]byte, 254))} {
		if ConfigMapKey(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
