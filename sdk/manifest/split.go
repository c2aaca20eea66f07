package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// document is one parsed YAML document.
type document struct {
	line   int        // line of the document's first line in the source
	offset int        // add to node lines to get source lines
	root   *yaml.Node // never nil; empty documents are dropped
}

// chunk is the text between "---" separator lines. A separator line starts
// its chunk, so a document may begin on it ("--- {a: 1}").
type chunk struct {
	line int // 1-based line of the first line
	data []byte
}

// parseErrorRE matches the line yaml.v3 puts in its syntax errors.
var parseErrorRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

const bom = "\ufeff"

// splitChunks cuts data at lines that start a document ("---" alone or
// followed by a blank). YAML forbids such lines inside scalars, so cutting
// there never splits a value, and it lets every document be size-checked
// before it is parsed. Chunks holding only directives, comments and blank
// lines are joined to the next chunk so a "%YAML" directive stays with its
// document.
func splitChunks(data []byte) []chunk {
	data = bytes.TrimPrefix(data, []byte(bom))
	var chunks []chunk
	cur := chunk{line: 1}
	start, lineNo := 0, 1
	onlyDirectives := false // cur so far holds a directive and no content
	for pos := 0; pos < len(data); lineNo++ {
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos + 1
		}
		line := data[pos:end]
		trimmed := bytes.TrimSpace(line)
		switch {
		case isSeparator(line):
			if pos > start && !onlyDirectives {
				cur.data = data[start:pos]
				chunks = append(chunks, cur)
				cur, start = chunk{line: lineNo}, pos
			}
			onlyDirectives = false
		case len(trimmed) > 0 && line[0] == '%':
			onlyDirectives = true
		case len(trimmed) > 0 && trimmed[0] != '#':
			onlyDirectives = false
		}
		pos = end
		lineNo += loneCRs(line) // YAML also breaks lines at a lone CR
	}
	if start < len(data) || len(chunks) == 0 {
		cur.data = data[start:]
		chunks = append(chunks, cur)
	}
	return chunks
}

// loneCRs counts the CRs in line not followed by LF.
func loneCRs(line []byte) int {
	n := 0
	for i, c := range line {
		if c == '\r' && (i+1 == len(line) || line[i+1] != '\n') {
			n++
		}
	}
	return n
}

func isSeparator(line []byte) bool {
	line = bytes.TrimRight(line, "\r\n")
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	return len(line) == 3 || line[3] == ' ' || line[3] == '\t'
}

// parse splits data into documents, dropping empty ones (nothing,
// comments, or a lone null). Input that is a stream of JSON values is read
// as JSON (YAML readers reject some JSON, such as keys over 1024
// characters or the escape \/); anything else as YAML.
func (d Decoder) parse(source string, data []byte) ([]document, ErrorList) {
	limit := d.MaxDocumentBytes
	if limit <= 0 {
		limit = DefaultMaxDocumentBytes
	}
	if len(data) <= limit {
		if docs, ok := parseJSON(data); ok {
			return docs, nil
		}
	}
	var docs []document
	var errs ErrorList
	for _, c := range splitChunks(data) {
		if len(c.data) > limit {
			errs = append(errs, &Error{Source: source, Line: c.line, Err: ErrTooLarge,
				Msg: fmt.Sprintf("document is %d bytes, over the limit of %d", len(c.data), limit)})
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(c.data))
		for {
			var n yaml.Node
			err := decodeNode(dec, &n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				errs = append(errs, syntaxError(source, c.line, err))
				break
			}
			if len(n.Content) == 0 {
				continue
			}
			root := n.Content[0]
			if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
				continue
			}
			docs = append(docs, document{line: c.line + n.Line - 1, offset: c.line - 1, root: root})
		}
	}
	return docs, errs
}

// decodeNode runs the YAML parser, turning a panic in it into an error.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: parser failed: %v", r)
		}
	}()
	return dec.Decode(n)
}

func syntaxError(source string, chunkLine int, err error) *Error {
	e := &Error{Source: source, Line: chunkLine, Err: err}
	msg := err.Error()
	if m := parseErrorRE.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			e.Line = chunkLine + n - 1
			msg = m[2]
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	e.Msg = "invalid YAML: " + msg
	return e
}
