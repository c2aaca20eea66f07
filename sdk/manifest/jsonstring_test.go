package manifest

import (
	"bytes"
	"encoding/json"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"\n\r\t\x01\x7f", `"\n\r\t\u0001\u007f"`},
		{"\u0085\u2028\u2029\ufeff\uffff", `"\u0085\u2028\u2029\ufeff\uffff"`},
		{"é€😀<&>", `"é€😀<&>"`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		appendJSONString(&b, tt.in)
		if b.String() != tt.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, b.String(), tt.want)
		}
		var fromJSON, fromYAML string
		if err := json.Unmarshal(b.Bytes(), &fromJSON); err != nil || fromJSON != tt.in {
			t.Errorf("JSON reads %s as %q, %v", b.String(), fromJSON, err)
		}
		if err := yaml.Unmarshal(b.Bytes(), &fromYAML); err != nil || fromYAML != tt.in {
			t.Errorf("YAML reads %s as %q, %v", b.String(), fromYAML, err)
		}
	}
}
