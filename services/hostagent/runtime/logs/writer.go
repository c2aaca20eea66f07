package logs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Defaults of WriterOptions.
const (
	DefaultMaxBytes = 10 << 20
	DefaultMaxFiles = 3
	// MaxLineSize is the longest content of one entry; longer lines are
	// split into partial entries.
	MaxLineSize = 16 << 10
)

// WriterOptions configure a Writer. Zero values take the defaults.
type WriterOptions struct {
	MaxBytes int64 // size of one file before rotation
	MaxFiles int   // files kept, the current one included
	// Now stamps entries (default time.Now).
	Now func() time.Time
	// StripCR removes a trailing '\r' from lines (terminal output).
	StripCR bool
}

// Writer appends entries to a log file with size-bounded rotation. It is safe
// for concurrent use.
type Writer struct {
	path string
	opts WriterOptions

	mu   sync.Mutex
	f    *os.File
	size int64
	buf  []byte
}

// OpenWriter opens (appends to) the log file at path, creating its directory.
func OpenWriter(path string, opts WriterOptions) (*Writer, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	w := &Writer{path: path, opts: opts}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// WriteEntry appends one entry, rotating first if it would not fit.
func (w *Writer) WriteEntry(e Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	w.buf = AppendEntry(w.buf[:0], e)
	if w.size > 0 && w.size+int64(len(w.buf)) > w.opts.MaxBytes {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

// rotate shifts PATH.i to PATH.i+1, PATH to PATH.1 and reopens PATH.
func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close log: %w", err)
	}
	w.f = nil
	if w.opts.MaxFiles == 1 {
		if err := os.Remove(w.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate log: %w", err)
		}
		return w.open()
	}
	last := RotatedPath(w.path, w.opts.MaxFiles-1)
	if err := os.Remove(last); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate log: %w", err)
	}
	for i := w.opts.MaxFiles - 2; i >= 0; i-- {
		err := os.Rename(RotatedPath(w.path, i), RotatedPath(w.path, i+1))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	return w.open()
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// CopyStream reads r until EOF and writes one entry per line (partial
// entries for lines longer than MaxLineSize). It returns nil at EOF.
func (w *Writer) CopyStream(stream Stream, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLineSize)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			e := Entry{Time: w.opts.Now(), Stream: stream}
			switch {
			case line[len(line)-1] == '\n':
				line = line[:len(line)-1]
				if w.opts.StripCR {
					line = bytes.TrimSuffix(line, []byte{'\r'})
				}
			case errors.Is(err, bufio.ErrBufferFull):
				e.Partial = true
			}
			e.Content = line
			if werr := w.WriteEntry(e); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF), errors.Is(err, os.ErrClosed):
			return nil
		default:
			return fmt.Errorf("read %s: %w", stream, err)
		}
	}
}

// RotatedPath is the path of the i-th rotated file (0: the current one).
func RotatedPath(path string, i int) string {
	if i == 0 {
		return path
	}
	return path + "." + strconv.Itoa(i)
}
