package labels

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMatches(t *testing.T) {
	set := map[string]string{"app": "web", "tier": "front", "env": "prod", "n": "10", "empty": ""}
	tests := []struct {
		sel       string
		canonical string
		match     bool
	}{
		{"", "", true},
		{"   ", "", true},
		{"app=web", "app=web", true},
		{"app==web", "app=web", true},
		{" app = web ", "app=web", true},
		{"app=db", "app=db", false},
		{"missing=x", "missing=x", false},
		{"app!=db", "app!=db", true},
		{"app!=web", "app!=web", false},
		{"missing!=x", "missing!=x", true},
		{"env in (prod,staging)", "env in (prod,staging)", true},
		{"env in(staging, prod ,prod)", "env in (prod,staging)", true},
		{"env in (dev)", "env in (dev)", false},
		{"missing in (x)", "missing in (x)", false},
		{"env notin (dev)", "env notin (dev)", true},
		{"env notin (prod)", "env notin (prod)", false},
		{"missing notin (x)", "missing notin (x)", true},
		{"app", "app", true},
		{"missing", "missing", false},
		{"!missing", "!missing", true},
		{"! app", "!app", false},
		{"empty=", "empty=", true},
		{"empty in ()", "empty in ()", true},
		{"empty in (,x)", "empty in (,x)", true},
		{"app!=", "app!=", true},
		{"n>5", "n>5", true},
		{"n>10", "n>10", false},
		{"n<11", "n<11", true},
		{"n < +11", "n<11", true},
		{"n>-1", "n>-1", true},
		{"app>1", "app>1", false}, // not an integer label: no match
		{"missing<1", "missing<1", false},
		{"tier=front,app=web", "app=web,tier=front", true},
		{"tier=front,app=db", "app=db,tier=front", false},
		{"app=web,app!=web", "app=web,app!=web", false},
		{"x.io/team=a", "x.io/team=a", false},
		{"in=a", "in=a", false},                      // "in" is a key where a key is expected
		{"notin notin (a)", "notin notin (a)", true}, // a key named notin
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			s, err := Parse(tt.sel)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := s.String(); got != tt.canonical {
				t.Errorf("String() = %q, want %q", got, tt.canonical)
			}
			if got := s.Matches(set); got != tt.match {
				t.Errorf("Matches = %v, want %v", got, tt.match)
			}
			if s.Empty() != (tt.canonical == "") {
				t.Errorf("Empty() = %v", s.Empty())
			}
			again, err := Parse(s.String())
			if err != nil || again.String() != s.String() {
				t.Errorf("reparse of %q: %v, %q", s.String(), err, again.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		sel   string
		pos   int
		token string
		msg   string
	}{
		{",", 0, ",", "expected a label key"},
		{"a,", 2, "", "expected a label key"},
		{"a,,b", 2, ",", "expected a label key"},
		{"a=b c", 4, "c", "expected ',' or the end"},
		{"a in b", 5, "b", "expected '(' after \"in\""},
		{"a in (b", 7, "", "expected ',' or ')'"},
		{"a in (b c)", 8, "c", "expected ',' or ')'"},
		{"a notin", 7, "", "expected '('"},
		{"a=b=c", 3, "=", "expected ',' or the end"},
		{"a (b)", 2, "(", "expected an operator"},
		{"a b", 2, "b", "expected an operator"},
		{"-a=b", 0, "-a", "invalid label key"},
		{"a/b/c", 0, "a/b/c", "at most one '/'"},
		{strings.Repeat("k", 64), 0, strings.Repeat("k", 64), "no more than 63"},
		{"a=-b", 2, "-b", "invalid label value"},
		{"a in (x,y_)", 8, "y_", "invalid label value"},
		{"a>b", 2, "b", "needs an integer"},
		{"a>", 2, "", "expected an integer"},
		{"a>99999999999999999999", 2, "99999999999999999999", "needs an integer"},
		{"!", 1, "", "expected a label key"},
		{"!a=b", 2, "=", "expected ',' or the end"},
		{"a==", -1, "", ""}, // valid: empty value
		{"(a)", 0, "(", "expected a label key"},
		{"a=é", 2, "é", "invalid label value"},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			_, err := Parse(tt.sel)
			if tt.pos < 0 {
				if err != nil {
					t.Fatalf("Parse(%q) = %v, want ok", tt.sel, err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want *SyntaxError", tt.sel, err)
			}
			if se.Pos != tt.pos || se.Token != tt.token || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("Parse(%q) = pos %d token %q msg %q; want pos %d token %q msg ~%q", tt.sel, se.Pos, se.Token, se.Msg, tt.pos, tt.token, tt.msg)
			}
			if !strings.Contains(err.Error(), tt.sel) {
				t.Errorf("error %q does not quote the selector", err)
			}
		})
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := Parse("a in b")
	if want := `label selector "a in b": column 6 ("b"): expected '(' after "in"`; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	_, err = Parse("a,")
	if want := `label selector "a,": at end: expected a label key`; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestEverything(t *testing.T) {
	for _, s := range []Selector{Everything(), {}} {
		if !s.Empty() || !s.Matches(nil) || !s.Matches(map[string]string{"a": "b"}) || s.String() != "" {
			t.Fatalf("%#v is not everything", s)
		}
	}
}

func TestSelectorFromSet(t *testing.T) {
	s, err := SelectorFromSet(map[string]string{"b": "2", "a": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "a=1,b=2" {
		t.Fatalf("String() = %q", got)
	}
	if !s.Matches(map[string]string{"a": "1", "b": "2", "c": "3"}) || s.Matches(map[string]string{"a": "1"}) {
		t.Fatal("wrong matches")
	}
	if _, err := SelectorFromSet(map[string]string{"a": "-"}); err == nil {
		t.Fatal("invalid value accepted")
	}
	if _, err := SelectorFromSet(map[string]string{"": "a"}); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestNewRequirement(t *testing.T) {
	tests := []struct {
		key     string
		op      Operator
		vals    []string
		wantErr string
	}{
		{"a", Equals, []string{"x"}, ""},
		{"a", Equals, nil, "exactly one value"},
		{"a", Equals, []string{"x", "y"}, "exactly one value"},
		{"a", In, nil, "at least one value"},
		{"a", In, []string{"y", "x", "y"}, ""},
		{"a", Exists, []string{"x"}, "no values"},
		{"a", GreaterThan, []string{"x"}, "integer"},
		{"a", Operator("~"), nil, "unknown operator"},
		{"a b", Exists, nil, "invalid label key"},
		{"a", NotIn, []string{"-"}, "invalid label value"},
	}
	for _, tt := range tests {
		r, err := NewRequirement(tt.key, tt.op, tt.vals)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("NewRequirement(%q, %q, %q) = %v", tt.key, tt.op, tt.vals, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("NewRequirement(%q, %q, %q) = %v, want error ~%q", tt.key, tt.op, tt.vals, err, tt.wantErr)
		case tt.op == In && err == nil && r.String() != "a in (x,y)":
			t.Errorf("String() = %q", r.String())
		}
	}
}

func TestRequirementsCopy(t *testing.T) {
	s, err := Parse("a in (x,y)")
	if err != nil {
		t.Fatal(err)
	}
	rs := s.Requirements()
	rs[0].Values[0] = "z"
	if s.String() != "a in (x,y)" {
		t.Fatalf("selector changed through Requirements(): %s", s)
	}
	if got := NewSelector(rs...).String(); got != "a in (z,y)" {
		t.Fatalf("NewSelector: %q", got)
	}
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"", "a=b", "a==b,c!=d", "a in (x,y)", "a notin (x)", "!a,b", "x.io/k>5", "a<-3", "a in ()", "a=,b", "in in (in)"} {
		f.Add(s, "a", "x")
	}
	f.Fuzz(func(t *testing.T, sel, key, val string) {
		s, err := Parse(sel)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v, want *SyntaxError", sel, err, err)
			}
			if se.Pos < 0 || se.Pos > len(sel) || !strings.HasPrefix(sel[se.Pos:], se.Token) {
				t.Fatalf("Parse(%q): bad position %d / token %q", sel, se.Pos, se.Token)
			}
			return
		}
		canon := s.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) -> %q does not reparse: %v", sel, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("canonical form not stable: %q -> %q -> %q", sel, canon, again.String())
		}
		for _, set := range []map[string]string{nil, {key: val}, {key: ""}} {
			if s.Matches(set) != again.Matches(set) {
				t.Fatalf("%q and %q disagree on %v", sel, canon, set)
			}
		}
		for _, r := range s.Requirements() {
			if _, err := NewRequirement(r.Key, r.Operator, r.Values); err != nil {
				t.Fatalf("requirement %v from %q is invalid: %v", r, sel, err)
			}
		}
	})
}
