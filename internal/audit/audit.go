package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subjects on NATS.
const (
	StreamName = "PACIFIC_AUDIT"
	// SubjectPrefix + verb is where each event goes, e.g. pacific.v1.audit.create.
	SubjectPrefix = "pacific.v1.audit."
)

// Event is one audit record. Only names and codes: no bodies.
type Event struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"requestID"`
	User      string    `json:"user"`
	Groups    []string  `json:"groups,omitempty"`
	// AuthMethod is how the caller proved its identity (jwt, x509).
	AuthMethod string `json:"authMethod,omitempty"`
	// Verb is create, update, updatestatus, delete, exec, ... or the gRPC
	// method name for non-resource calls.
	Verb      string `json:"verb"`
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// Method is the full gRPC method.
	Method string `json:"method"`
	// Code is the gRPC result code, e.g. OK or PermissionDenied.
	Code string `json:"code"`
	// Peer is the caller's address.
	Peer string `json:"peer,omitempty"`
}

// Config configures a Logger. At least one sink should be set.
type Config struct {
	// File is the audit log path ("" disables the file sink).
	File string
	// MaxFileBytes rotates the file when it would grow beyond this
	// (default 100 MiB); MaxBackups old files are kept (default 5).
	MaxFileBytes int64
	MaxBackups   int
	// NATS publishes to the PACIFIC_AUDIT stream (nil disables).
	NATS *nats.Conn
	// StreamMaxBytes bounds the stream (default 1 GiB, oldest dropped).
	StreamMaxBytes int64
	// Logger receives sink failures (never event contents beyond names).
	Logger *slog.Logger
}

// Logger writes events to its sinks. The file is written synchronously
// (the record of truth); NATS publishing is asynchronous and bounded: when
// the queue is full events are dropped from NATS (never from the file) and
// counted.
type Logger struct {
	file   *rotatingFile
	js     jetstream.JetStream
	logger *slog.Logger

	queue   chan []byte
	done    chan struct{}
	mu      sync.Mutex
	dropped int64
	closed  bool
}

const natsQueue = 4096

// New opens the sinks. ctx bounds creating the stream.
func New(ctx context.Context, cfg Config) (*Logger, error) {
	l := &Logger{logger: cfg.Logger, done: make(chan struct{})}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	if cfg.File != "" {
		f, err := openRotating(cfg.File, cfg.MaxFileBytes, cfg.MaxBackups)
		if err != nil {
			return nil, err
		}
		l.file = f
	}
	if cfg.NATS != nil {
		js, err := jetstream.New(cfg.NATS)
		if err != nil {
			l.closeFile()
			return nil, fmt.Errorf("audit: jetstream: %w", err)
		}
		maxBytes := cfg.StreamMaxBytes
		if maxBytes == 0 {
			maxBytes = 1 << 30
		}
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:     StreamName,
			Subjects: []string{SubjectPrefix + ">"},
			Storage:  jetstream.FileStorage,
			MaxBytes: maxBytes,
			Discard:  jetstream.DiscardOld,
		}); err != nil {
			l.closeFile()
			return nil, fmt.Errorf("audit: stream %s: %w", StreamName, err)
		}
		l.js = js
		l.queue = make(chan []byte, natsQueue)
		go l.publishLoop()
	} else {
		close(l.done)
	}
	return l, nil
}

// Record writes one event. It never fails the request: sink errors are
// logged.
func (l *Logger) Record(ctx context.Context, ev Event) {
	if l == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	line, err := json.Marshal(ev)
	if err != nil {
		l.logger.ErrorContext(ctx, "audit: encode event", "err", err)
		return
	}
	line = append(line, '\n')
	if l.file != nil {
		if err := l.file.write(line); err != nil {
			l.logger.ErrorContext(ctx, "audit: write file", "err", err)
		}
	}
	if l.queue == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	select {
	case l.queue <- line:
	default:
		l.dropped++
		if l.dropped == 1 || l.dropped%1000 == 0 {
			l.logger.WarnContext(ctx, "audit: NATS queue full; events dropped from the stream (the file has them)", "dropped", l.dropped)
		}
	}
}

func (l *Logger) publishLoop() {
	defer close(l.done)
	for line := range l.queue {
		var ev struct {
			Verb string `json:"verb"`
		}
		_ = json.Unmarshal(line, &ev)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := l.js.Publish(ctx, SubjectPrefix+subjectToken(ev.Verb), line[:len(line)-1])
		cancel()
		if err != nil {
			l.logger.Warn("audit: publish to NATS", "err", err)
		}
	}
}

// subjectToken keeps a verb usable as one NATS subject token.
func subjectToken(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '.' || c == '*' || c == '>' || c <= ' ' || c >= 0x7f {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// Close flushes queued NATS events (bounded by ctx) and closes the file.
func (l *Logger) Close(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if !l.closed && l.queue != nil {
		close(l.queue)
	}
	l.closed = true
	l.mu.Unlock()
	var err error
	select {
	case <-l.done:
	case <-ctx.Done():
		err = fmt.Errorf("audit: flush to NATS: %w", ctx.Err())
	}
	return errors.Join(err, l.closeFile())
}

func (l *Logger) closeFile() error {
	if l.file == nil {
		return nil
	}
	return l.file.close()
}
