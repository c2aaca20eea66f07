package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// parseJSON reads data as a stream of JSON values, one document each, into
// the same node trees the YAML parser makes, with line numbers. It reports
// false if data is not entirely JSON (the caller then parses it as YAML,
// which also reports the syntax errors).
func parseJSON(data []byte) ([]document, bool) {
	data = bytes.TrimPrefix(data, []byte(bom))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return nil, false
	}
	if !utf8.Valid(data) {
		return nil, false
	}
	p := newJSONParser(data)
	var docs []document
	for {
		root, err := p.value()
		if errors.Is(err, io.EOF) {
			return docs, true
		}
		if err != nil {
			return nil, false
		}
		if isNull(root) {
			continue
		}
		docs = append(docs, document{line: root.Line, root: root})
	}
}

// jsonParser turns JSON into yaml.Node trees, keeping key order and lines.
type jsonParser struct {
	data  []byte
	dec   *json.Decoder
	lines []int // byte offset of the start of each line
}

func newJSONParser(data []byte) *jsonParser {
	p := &jsonParser{data: data, dec: json.NewDecoder(bytes.NewReader(data)), lines: lineStarts(data)}
	p.dec.UseNumber()
	return p
}

// lineStarts returns the offsets where lines start (after LF, CRLF or a
// lone CR, as YAML counts them).
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' || (c == '\r' && (i+1 == len(data) || data[i+1] != '\n')) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// token reads the next token and returns the line it starts on.
func (p *jsonParser) token() (json.Token, int, error) {
	pos := int(p.dec.InputOffset())
	for pos < len(p.data) && strings.IndexByte(" \t\r\n,:", p.data[pos]) >= 0 {
		pos++
	}
	tok, err := p.dec.Token()
	line := sort.Search(len(p.lines), func(i int) bool { return p.lines[i] > pos })
	return tok, line, err
}

func (p *jsonParser) value() (*yaml.Node, error) {
	tok, line, err := p.token()
	if err != nil {
		return nil, err
	}
	scalar := func(tag, v string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v, Line: line}
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
		} else if t != '[' {
			return nil, errors.New("unexpected delimiter")
		}
		for p.dec.More() {
			if t == '{' {
				k, kline, err := p.token()
				if err != nil {
					return nil, err
				}
				ks, ok := k.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ks, Line: kline})
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, _, err := p.token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return scalar("!!str", t), nil
	case json.Number:
		// As YAML does: an integer if it fits 64 bits, else a float.
		if _, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return scalar("!!int", string(t)), nil
		}
		if _, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return scalar("!!int", string(t)), nil
		}
		return scalar("!!float", string(t)), nil
	case bool:
		if t {
			return scalar("!!bool", "true"), nil
		}
		return scalar("!!bool", "false"), nil
	case nil:
		return scalar("!!null", "null"), nil
	}
	return nil, errors.New("unexpected JSON token")
}
