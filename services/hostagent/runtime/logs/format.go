package logs

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names the output stream of an entry.
type Stream string

// Streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Entry is one log entry.
type Entry struct {
	Time   time.Time
	Stream Stream
	// Partial is true when Content is the beginning of a longer line that
	// continues in the next entry of the same stream.
	Partial bool
	Content []byte
}

var errMalformed = errors.New("malformed log line")

// AppendEntry appends e in the CRI log format (with a trailing newline).
func AppendEntry(buf []byte, e Entry) []byte {
	buf = e.Time.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, ' ')
	buf = append(buf, e.Stream...)
	if e.Partial {
		buf = append(buf, " P "...)
	} else {
		buf = append(buf, " F "...)
	}
	buf = append(buf, e.Content...)
	return append(buf, '\n')
}

// ParseEntry parses one line (without its newline). Content aliases line.
func ParseEntry(line []byte) (Entry, error) {
	var e Entry
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return e, errMalformed
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return e, fmt.Errorf("%w: %w", errMalformed, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return e, errMalformed
	}
	tag, content, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		// "ts stream F" with empty content and no trailing space.
		tag, content = rest, nil
	}
	switch string(tag) {
	case "F":
	case "P":
		e.Partial = true
	default:
		return e, fmt.Errorf("%w: tag %q", errMalformed, tag)
	}
	e.Time = t
	e.Stream = Stream(stream)
	e.Content = content
	return e, nil
}
