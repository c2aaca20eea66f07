package store

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// hclogAdapter passes hclog messages (from raft and raft-wal) on to slog,
// dropping those below a minimum level.
type hclogAdapter struct {
	l       *slog.Logger
	name    string
	min     hclog.Level
	implied []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHCLogAdapter(l *slog.Logger, min slog.Leveler) *hclogAdapter {
	lvl := slog.LevelWarn
	if min != nil {
		lvl = min.Level()
	}
	var h hclog.Level
	switch {
	case lvl <= slog.LevelDebug:
		h = hclog.Debug
	case lvl <= slog.LevelInfo:
		h = hclog.Info
	case lvl <= slog.LevelWarn:
		h = hclog.Warn
	default:
		h = hclog.Error
	}
	return &hclogAdapter{l: l, min: h}
}

func toSlogLevel(level hclog.Level) slog.Level {
	switch {
	case level <= hclog.Debug:
		return slog.LevelDebug
	case level == hclog.Info:
		return slog.LevelInfo
	case level == hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level < a.min {
		return
	}
	attrs := make([]any, 0, len(a.implied)+len(args)+2)
	if a.name != "" {
		attrs = append(attrs, "component", a.name)
	}
	attrs = append(attrs, a.implied...)
	attrs = append(attrs, args...)
	a.l.Log(context.Background(), toSlogLevel(level), msg, attrs...)
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *hclogAdapter) IsTrace() bool { return a.min <= hclog.Trace }
func (a *hclogAdapter) IsDebug() bool { return a.min <= hclog.Debug }
func (a *hclogAdapter) IsInfo() bool  { return a.min <= hclog.Info }
func (a *hclogAdapter) IsWarn() bool  { return a.min <= hclog.Warn }
func (a *hclogAdapter) IsError() bool { return a.min <= hclog.Error }

func (a *hclogAdapter) ImpliedArgs() []any { return a.implied }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.implied = append(append([]any(nil), a.implied...), args...)
	return &c
}

func (a *hclogAdapter) Name() string { return a.name }

func (a *hclogAdapter) Named(name string) hclog.Logger {
	c := *a
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *a
	c.name = name
	return &c
}

func (a *hclogAdapter) SetLevel(level hclog.Level) { a.min = level }
func (a *hclogAdapter) GetLevel() hclog.Level      { return a.min }

func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		msg := string(bytes.TrimSpace(p))
		level := hclog.Info
		switch {
		case strings.HasPrefix(msg, "[ERR"):
			level = hclog.Error
		case strings.HasPrefix(msg, "[WARN"):
			level = hclog.Warn
		case strings.HasPrefix(msg, "[DEBUG"), strings.HasPrefix(msg, "[TRACE"):
			level = hclog.Debug
		}
		a.Log(level, msg)
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
