package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// ReadOptions select entries for Read.
type ReadOptions struct {
	// Tail returns only the last N entries (N ≥ 0); negative returns all.
	Tail int
	// Since skips entries older than this.
	Since time.Time
	// Follow keeps reading new entries after the existing ones until ctx is
	// cancelled or Done reports true (then the file is drained and Read
	// returns nil).
	Follow bool
	Done   func() bool
	// PollInterval is how often Follow looks for new data (default 100 ms).
	PollInterval time.Duration
}

// maxRotated bounds the rotated files Read looks for.
const maxRotated = 64

// Read calls fn for the selected entries of the log at path and its rotated
// files (PATH.N, ..., PATH.1, PATH), oldest first. Malformed lines are
// skipped. A missing log reads as empty (and is waited for with Follow).
func Read(ctx context.Context, path string, opts ReadOptions, fn func(Entry) error) error {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	files, err := openSet(path)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	// files[0] is the current file (nil if missing), then PATH.1, ...
	cur := files[0]
	var curOff int64
	emit := func(line []byte) error {
		e, err := ParseEntry(line)
		if err != nil {
			return nil
		}
		if !opts.Since.IsZero() && e.Time.Before(opts.Since) {
			return nil
		}
		return fn(e)
	}
	if opts.Tail >= 0 {
		curOff, err = readTail(files, opts, emit)
	} else {
		curOff, err = readAll(files, emit)
	}
	if err != nil || !opts.Follow {
		return err
	}
	files[0] = nil // follow owns cur now
	return follow(ctx, path, cur, curOff, opts, emit)
}

// openSet opens PATH, PATH.1, ... (newest first), skipping files already
// opened under another name (a rotation while opening).
func openSet(path string) ([]*os.File, error) {
	var files []*os.File
	var seen []os.FileInfo
	for i := 0; i < maxRotated; i++ {
		f, err := os.Open(RotatedPath(path, i))
		if errors.Is(err, os.ErrNotExist) {
			if i == 0 {
				files = append(files, nil)
				continue
			}
			break
		}
		if err != nil {
			for _, f := range files {
				if f != nil {
					f.Close()
				}
			}
			return nil, fmt.Errorf("open log: %w", err)
		}
		st, err := f.Stat()
		if err != nil || slices.ContainsFunc(seen, func(s os.FileInfo) bool { return os.SameFile(s, st) }) {
			f.Close()
			continue
		}
		seen = append(seen, st)
		files = append(files, f)
	}
	return files, nil
}

// readAll reads every file oldest first; it returns the offset reached in
// the current file (after its last complete line).
func readAll(files []*os.File, emit func([]byte) error) (int64, error) {
	var off int64
	for i := len(files) - 1; i >= 0; i-- {
		if files[i] == nil {
			continue
		}
		lr := &lineReader{f: files[i]}
		for {
			line, ok, err := lr.next()
			if err != nil {
				return 0, err
			}
			if !ok {
				break
			}
			if err := emit(line); err != nil {
				return 0, err
			}
		}
		if i == 0 {
			off = lr.off
		}
	}
	return off, nil
}

// readTail scans backwards from the newest file for the last opts.Tail lines
// (stopping early at lines older than opts.Since) and emits them in order.
func readTail(files []*os.File, opts ReadOptions, emit func([]byte) error) (int64, error) {
	var lines [][]byte // newest first
	var curEnd int64
	done := opts.Tail == 0
	for i, f := range files {
		if f == nil {
			continue
		}
		st, err := f.Stat()
		if err != nil {
			return 0, fmt.Errorf("stat log: %w", err)
		}
		end, err := lastNewline(f, st.Size())
		if err != nil {
			return 0, err
		}
		if i == 0 {
			curEnd = end
		}
		if done {
			continue
		}
		err = scanBackward(f, end, func(line []byte) bool {
			if !opts.Since.IsZero() {
				if e, err := ParseEntry(line); err == nil && e.Time.Before(opts.Since) {
					done = true
					return true
				}
			}
			lines = append(lines, line)
			if len(lines) >= opts.Tail {
				done = true
			}
			return done
		})
		if err != nil {
			return 0, err
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if err := emit(lines[i]); err != nil {
			return 0, err
		}
	}
	return curEnd, nil
}

// lastNewline returns the offset just after the last '\n' before size.
func lastNewline(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 4096)
	for end := size; end > 0; {
		n := int64(len(buf))
		if n > end {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read log: %w", err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// scanBackward calls fn for each line of f[0:end) (end just after a '\n'),
// newest first, until fn returns true. Lines passed to fn are not reused.
func scanBackward(f *os.File, end int64, fn func(line []byte) bool) error {
	const chunk = 64 << 10
	var carry []byte // a line suffix (ending in '\n') whose start is earlier
	pos := end
	for pos > 0 || len(carry) > 0 {
		var b []byte
		if pos > 0 {
			n := int64(chunk)
			if n > pos {
				n = pos
			}
			pos -= n
			b = make([]byte, n+int64(len(carry)))
			if _, err := f.ReadAt(b[:n], pos); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read log: %w", err)
			}
			copy(b[n:], carry)
		} else {
			b = carry
		}
		carry = nil
		i := len(b) - 1 // index of a '\n' ending a line
		for i >= 0 {
			j := bytes.LastIndexByte(b[:i], '\n')
			if j < 0 && pos > 0 {
				carry = b[:i+1]
				break
			}
			if fn(b[j+1 : i]) {
				return nil
			}
			i = j
		}
		if pos == 0 && carry == nil {
			return nil
		}
	}
	return nil
}

// lineReader returns complete lines of f from offset off on, keeping an
// incomplete last line until it is completed.
type lineReader struct {
	f          *os.File
	off        int64 // file offset of buf[start]: after the last line returned
	buf        []byte
	start, end int
	eof        bool
}

// next returns the next complete line (without '\n'); ok is false at the end
// of the data written so far. The line is valid until the next call.
func (r *lineReader) next() (line []byte, ok bool, err error) {
	for {
		if i := bytes.IndexByte(r.buf[r.start:r.end], '\n'); i >= 0 {
			line = r.buf[r.start : r.start+i]
			r.start += i + 1
			r.off += int64(i) + 1
			return line, true, nil
		}
		if r.eof {
			r.eof = false
			return nil, false, nil
		}
		if r.buf == nil {
			r.buf = make([]byte, 64<<10)
		}
		if r.start > 0 {
			copy(r.buf, r.buf[r.start:r.end])
			r.end -= r.start
			r.start = 0
		}
		if r.end == len(r.buf) {
			nb := make([]byte, 2*len(r.buf))
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
		n, err := r.f.ReadAt(r.buf[r.end:], r.off+int64(r.end))
		r.end += n
		switch {
		case errors.Is(err, io.EOF) || (err == nil && n == 0):
			r.eof = true
		case err != nil:
			return nil, false, fmt.Errorf("read log: %w", err)
		}
	}
}

// follow emits lines appended to cur (which it owns and closes) and to the
// files that replace it at path on rotation, until ctx is done or opts.Done
// reports true.
func follow(ctx context.Context, path string, cur *os.File, off int64, opts ReadOptions, emit func([]byte) error) error {
	lr := &lineReader{f: cur, off: off}
	defer func() {
		if lr.f != nil {
			lr.f.Close()
		}
	}()
	drain := func() error {
		if lr.f == nil {
			return nil
		}
		for {
			line, ok, err := lr.next()
			if err != nil || !ok {
				return err
			}
			if err := emit(line); err != nil {
				return err
			}
		}
	}
	// switchIfRotated moves to the file at path once the current one has
	// been renamed away (or when path appears for the first time).
	switchIfRotated := func() (bool, error) {
		st, err := os.Stat(path)
		if err != nil {
			return false, nil
		}
		if lr.f != nil {
			if cst, err := lr.f.Stat(); err == nil && os.SameFile(st, cst) {
				return false, nil
			}
			if err := drain(); err != nil {
				return false, err
			}
			lr.f.Close()
			lr.f = nil
		}
		f, err := os.Open(path)
		if err != nil {
			return false, nil
		}
		lr = &lineReader{f: f}
		return true, nil
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if err := drain(); err != nil {
			return err
		}
		if switched, err := switchIfRotated(); err != nil {
			return err
		} else if switched {
			continue
		}
		if opts.Done != nil && opts.Done() {
			if _, err := switchIfRotated(); err != nil {
				return err
			}
			return drain()
		}
		timer.Reset(opts.PollInterval)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}
