package manifest

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinels that an *Error may wrap, for callers that map errors to exit
// codes or gRPC statuses.
var (
	// ErrTooLarge: a document or file is over its size limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnknownKind: apiVersion or kind does not name a known kind.
	ErrUnknownKind = errors.New("unknown kind")
)

// Error is one problem in a manifest.
type Error struct {
	Source string // file name, "-" for stdin
	Line   int    // 1-based; 0 if unknown
	Path   string // field path, e.g. spec.containers[0].image; may be empty
	Msg    string
	Err    error // optional sentinel or cause
}

// Error returns e.g. "demo.yaml:7: spec.bogus: unknown field".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found, in input order. Decode functions return
// it (never an empty one) as their error.
type ErrorList []*Error

// Error returns one problem per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at every problem.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}
