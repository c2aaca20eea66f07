package quantity

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// Quantity is an amount in milli-units.
type Quantity struct {
	milli int64
}

// ErrSyntax and ErrRange classify parse failures.
var (
	ErrSyntax = errors.New("quantity syntax")
	ErrRange  = errors.New("quantity out of range")
)

var suffixes = []struct {
	suffix string
	num    int64 // multiplier numerator, in milli-units
	den    int64
}{
	{"Ki", 1 << 10 * 1000, 1}, {"Mi", 1 << 20 * 1000, 1}, {"Gi", 1 << 30 * 1000, 1},
	{"Ti", 1 << 40 * 1000, 1}, {"Pi", 1 << 50 * 1000, 1},
	{"n", 1, 1000000}, {"u", 1, 1000}, {"m", 1, 1},
	{"k", 1e6, 1}, {"M", 1e9, 1}, {"G", 1e12, 1}, {"T", 1e15, 1}, {"P", 1e18, 1},
}

// Parse reads s, e.g. "500m", "2", "1.5", "64Mi", "1G". Negative quantities
// and fractions finer than a milli-unit (rounded up) are handled; values that
// do not fit are ErrRange.
func Parse(s string) (Quantity, error) {
	if s == "" {
		return Quantity{}, fmt.Errorf("%w: empty", ErrSyntax)
	}
	num, mul, den := s, int64(1000), int64(1)
	suffixed := false
	for _, sf := range suffixes {
		if strings.HasSuffix(s, sf.suffix) {
			num, mul, den, suffixed = strings.TrimSuffix(s, sf.suffix), sf.num, sf.den, true
			break
		}
	}
	if !validNumber(num, !suffixed) {
		return Quantity{}, fmt.Errorf("%w: %q: want a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, ...)", ErrSyntax, s)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return Quantity{}, fmt.Errorf("%w: %q is not a number", ErrSyntax, s)
	}
	r.Mul(r, new(big.Rat).SetFrac64(mul, den))
	// Round up to a whole milli-unit, like Kubernetes.
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if rem.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return Quantity{}, fmt.Errorf("%w: %q", ErrRange, s)
	}
	return Quantity{milli: q.Int64()}, nil
}

// MustParse is Parse for constants in code and tests; it panics on error.
func MustParse(s string) Quantity {
	q, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return q
}

// FromMilli returns a quantity of m milli-units.
func FromMilli(m int64) Quantity { return Quantity{milli: m} }

// FromInt returns a quantity of n whole units (bytes, cores, pods).
func FromInt(n int64) Quantity {
	if n > math.MaxInt64/1000 {
		return Quantity{milli: math.MaxInt64}
	}
	return Quantity{milli: n * 1000}
}

// Milli is the value in milli-units (CPU millicores).
func (q Quantity) Milli() int64 { return q.milli }

// Value is the value in whole units, rounded up (bytes).
func (q Quantity) Value() int64 {
	v := q.milli / 1000
	if q.milli%1000 > 0 {
		v++
	}
	return v
}

// Cmp returns -1, 0 or 1.
func (q Quantity) Cmp(o Quantity) int {
	switch {
	case q.milli < o.milli:
		return -1
	case q.milli > o.milli:
		return 1
	}
	return 0
}

// Add returns q+o (saturating).
func (q Quantity) Add(o Quantity) Quantity {
	s := q.milli + o.milli
	if (o.milli > 0 && s < q.milli) || (o.milli < 0 && s > q.milli) {
		if o.milli > 0 {
			return Quantity{milli: math.MaxInt64}
		}
		return Quantity{milli: math.MinInt64}
	}
	return Quantity{milli: s}
}

// Sub returns q-o (saturating).
func (q Quantity) Sub(o Quantity) Quantity { return q.Add(Quantity{milli: -o.milli}) }

// IsZero reports q == 0.
func (q Quantity) IsZero() bool { return q.milli == 0 }

// String formats q canonically: milli-units as "500m", whole values with the
// largest binary suffix that divides them evenly when ≥ 1Ki.
func (q Quantity) String() string {
	if q.milli%1000 != 0 {
		return fmt.Sprintf("%dm", q.milli)
	}
	v := q.milli / 1000
	for _, sf := range []struct {
		s string
		n int64
	}{{"Pi", 1 << 50}, {"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if v != 0 && v%sf.n == 0 {
			return fmt.Sprintf("%d%s", v/sf.n, sf.s)
		}
	}
	return fmt.Sprintf("%d", v)
}

// validNumber accepts an optionally signed decimal, and an exponent ("1e3")
// only when no suffix was given.
func validNumber(num string, exponentOK bool) bool {
	if num == "" {
		return false
	}
	for i, c := range num {
		switch {
		case c >= '0' && c <= '9', c == '.':
		case (c == 'e' || c == 'E') && exponentOK:
		case (c == '-' || c == '+') && (i == 0 || num[i-1] == 'e' || num[i-1] == 'E'):
		default:
			return false
		}
	}
	return true
}
