package quantity

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in    string
		milli int64
	}{
		{"500m", 500}, {"2", 2000}, {"1.5", 1500}, {"0.1", 100}, {"100n", 1},
		{"64Mi", 64 << 20 * 1000}, {"1Ki", 1024000}, {"1G", 1e12}, {"1k", 1e6},
		{"1e3", 1e6}, {"-1", -1000}, {"0", 0},
	}
	for _, c := range cases {
		q, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if q.Milli() != c.milli {
			t.Errorf("Parse(%q) = %d milli, want %d", c.in, q.Milli(), c.milli)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "abc", "1.2.3", "Mi", "1Xi", "5 m", "1e", "9999999999999999Pi", "--1"} {
		_, err := Parse(in)
		if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange) {
			t.Errorf("Parse(%q) = %v, want a syntax or range error", in, err)
		}
	}
}

func TestStringRoundTrips(t *testing.T) {
	for _, in := range []string{"500m", "2", "64Mi", "3Gi", "1000"} {
		q := MustParse(in)
		if got := q.String(); got != in {
			t.Errorf("String(%q) = %q", in, got)
		}
		if back := MustParse(q.String()); back != q {
			t.Errorf("round trip of %q changed value", in)
		}
	}
}

func TestArithmetic(t *testing.T) {
	a, b := MustParse("1"), MustParse("250m")
	if got := a.Sub(b); got.Milli() != 750 {
		t.Fatalf("1 - 250m = %v", got)
	}
	if a.Cmp(b) != 1 || b.Cmp(a) != -1 || a.Cmp(a) != 0 {
		t.Fatal("Cmp wrong")
	}
	if MustParse("1500m").Value() != 2 {
		t.Fatal("Value must round up")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"500m", "2Gi", "1e3", "0.001", "-5k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			return
		}
		back, err := Parse(q.String())
		if err != nil || back != q {
			t.Fatalf("%q → %v → %v (%v)", s, q, back, err)
		}
	})
}
