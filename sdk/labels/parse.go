package labels

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// SyntaxError reports where a selector could not be parsed.
type SyntaxError struct {
	Selector string
	Pos      int    // byte offset of the offending token in Selector
	Token    string // the offending token; empty at the end of the selector
	Msg      string
}

func (e *SyntaxError) Error() string {
	if e.Token == "" && e.Pos >= len(e.Selector) {
		return fmt.Sprintf("label selector %q: at end: %s", e.Selector, e.Msg)
	}
	return fmt.Sprintf("label selector %q: column %d (%q): %s", e.Selector, e.Pos+1, e.Token, e.Msg)
}

// Parse parses a selector (see the package documentation). The empty or
// all-blank selector is Everything. Errors are *SyntaxError.
func Parse(selector string) (Selector, error) {
	p := parser{src: selector}
	p.next()
	var reqs []Requirement
	if p.tok.kind == tokEOF {
		return Everything(), nil
	}
	for {
		r, err := p.requirement()
		if err != nil {
			return Selector{}, err
		}
		reqs = append(reqs, r)
		switch p.tok.kind {
		case tokEOF:
			return newSelector(reqs), nil
		case tokComma:
			p.next()
		default:
			return Selector{}, p.errorf("expected ',' or the end of the selector")
		}
	}
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokComma
	tokOpenParen
	tokCloseParen
	tokEquals       // =
	tokDoubleEquals // ==
	tokNotEquals    // !=
	tokBang         // !
	tokGreater      // >
	tokLess         // <
)

type token struct {
	kind tokKind
	pos  int
	text string
}

type parser struct {
	src string
	pos int // next byte to lex
	tok token
}

func isSpecial(r rune) bool {
	switch r {
	case ',', '(', ')', '=', '!', '<', '>':
		return true
	}
	return unicode.IsSpace(r)
}

// next advances p.tok to the next token.
func (p *parser) next() {
	for p.pos < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if !unicode.IsSpace(r) {
			break
		}
		p.pos += n
	}
	start := p.pos
	if start >= len(p.src) {
		p.tok = token{kind: tokEOF, pos: start}
		return
	}
	two := p.src[start:min(start+2, len(p.src))]
	kind := tokIdent
	switch {
	case two == "==":
		kind = tokDoubleEquals
	case two == "!=":
		kind = tokNotEquals
	default:
		switch p.src[start] {
		case ',':
			kind = tokComma
		case '(':
			kind = tokOpenParen
		case ')':
			kind = tokCloseParen
		case '=':
			kind = tokEquals
		case '!':
			kind = tokBang
		case '>':
			kind = tokGreater
		case '<':
			kind = tokLess
		}
	}
	switch kind {
	case tokDoubleEquals, tokNotEquals:
		p.pos += 2
	case tokIdent:
		for p.pos < len(p.src) {
			r, n := utf8.DecodeRuneInString(p.src[p.pos:])
			if isSpecial(r) {
				break
			}
			p.pos += n
		}
	default:
		p.pos++
	}
	p.tok = token{kind: kind, pos: start, text: p.src[start:p.pos]}
}

func (p *parser) errorf(format string, args ...any) *SyntaxError {
	return &SyntaxError{Selector: p.src, Pos: p.tok.pos, Token: p.tok.text, Msg: fmt.Sprintf(format, args...)}
}

// requirement parses one requirement and leaves p.tok on the token after it.
func (p *parser) requirement() (Requirement, error) {
	if p.tok.kind == tokBang {
		p.next()
		key, at, err := p.key()
		if err != nil {
			return Requirement{}, err
		}
		return p.build(at, key, DoesNotExist, nil)
	}
	key, at, err := p.key()
	if err != nil {
		return Requirement{}, err
	}
	op := p.tok
	switch {
	case op.kind == tokEOF || op.kind == tokComma:
		return p.build(at, key, Exists, nil)
	case op.kind == tokEquals || op.kind == tokDoubleEquals:
		p.next()
		return p.single(at, key, Equals)
	case op.kind == tokNotEquals:
		p.next()
		return p.single(at, key, NotEquals)
	case op.kind == tokGreater:
		p.next()
		return p.single(at, key, GreaterThan)
	case op.kind == tokLess:
		p.next()
		return p.single(at, key, LessThan)
	case op.kind == tokIdent && op.text == string(In):
		p.next()
		return p.set(at, key, In)
	case op.kind == tokIdent && op.text == string(NotIn):
		p.next()
		return p.set(at, key, NotIn)
	}
	return Requirement{}, p.errorf("expected an operator (=, ==, !=, in, notin, >, <), ',' or the end of the selector")
}

// key parses a label key, returning it and the token it came from.
func (p *parser) key() (string, token, error) {
	t := p.tok
	if t.kind != tokIdent {
		return "", t, p.errorf("expected a label key")
	}
	if err := ValidateKey(t.text); err != nil {
		return "", t, p.errorf("invalid label key: %v", err)
	}
	p.next()
	return t.text, t, nil
}

// value parses an optional value for op: empty when the next token is not
// an identifier.
func (p *parser) value(op Operator) (string, error) {
	if p.tok.kind != tokIdent {
		if op == GreaterThan || op == LessThan {
			return "", p.errorf("expected an integer after %q", op)
		}
		return "", nil
	}
	v := p.tok.text
	if op == GreaterThan || op == LessThan {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return "", p.errorf("operator %q needs an integer value", op)
		}
	} else if err := ValidateValue(v); err != nil {
		return "", p.errorf("invalid label value: %v", err)
	}
	p.next()
	return v, nil
}

func (p *parser) single(at token, key string, op Operator) (Requirement, error) {
	v, err := p.value(op)
	if err != nil {
		return Requirement{}, err
	}
	return p.build(at, key, op, []string{v})
}

func (p *parser) set(at token, key string, op Operator) (Requirement, error) {
	if p.tok.kind != tokOpenParen {
		return Requirement{}, p.errorf("expected '(' after %q", op)
	}
	p.next()
	var vals []string
	for {
		v, err := p.value(op)
		if err != nil {
			return Requirement{}, err
		}
		vals = append(vals, v)
		switch p.tok.kind {
		case tokComma:
			p.next()
		case tokCloseParen:
			p.next()
			return p.build(at, key, op, vals)
		default:
			return Requirement{}, p.errorf("expected ',' or ')' in the value list")
		}
	}
}

// build validates the requirement; errors point at the key token at. Keys
// and values were checked while parsing, so this fails only on a bug.
func (p *parser) build(at token, key string, op Operator, vals []string) (Requirement, error) {
	r, err := NewRequirement(key, op, vals)
	if err != nil {
		return Requirement{}, &SyntaxError{Selector: p.src, Pos: at.pos, Token: at.text, Msg: err.Error()}
	}
	return r, nil
}
