package labels

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	errs := Validate(map[string]string{
		"ok":                    "fine",
		"x.io/also":             "",
		"bad key":               "v",
		"badvalue":              "no spaces",
		"-both":                 "-",
		"/noprefix":             "v",
		strings.Repeat("k", 64): "v",
	})
	var got []string
	for _, err := range errs {
		var le *Error
		if !errors.As(err, &le) {
			t.Fatalf("%T %v is not *Error", err, err)
		}
		part := "key"
		if le.IsValue {
			part = "value"
		}
		got = append(got, le.Key+"|"+part)
	}
	want := []string{"-both|key", "-both|value", "/noprefix|key", "bad key|key", "badvalue|value", strings.Repeat("k", 64) + "|key"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if Validate(map[string]string{"a": "b"}) != nil || Validate(nil) != nil {
		t.Fatal("valid set reported errors")
	}
	err := Validate(map[string]string{"a": "b c"})[0]
	if want := `label "a": value: a label value must`; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Error() = %q, want prefix %q", err, want)
	}
}

func TestErrorUnwrap(t *testing.T) {
	errs := Validate(map[string]string{"a b": "c"})
	if len(errs) != 1 || errors.Unwrap(errs[0]) == nil || !strings.Contains(errors.Unwrap(errs[0]).Error(), "name part must consist") {
		t.Fatalf("got %v", errs)
	}
}
