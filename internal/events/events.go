package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Names of the stream, subjects and headers.
const (
	StreamName    = "PACIFIC_EVENTS"
	SubjectPrefix = "pacific.v1.events"
	// ClusterScoped is the namespace token of cluster-scoped objects.
	ClusterScoped = "_"
	// ResyncSubject carries resync markers (see the package doc).
	ResyncSubject = SubjectPrefix + "._resync._"

	HeaderMsgID    = jetstream.MsgIDHeader // "Nats-Msg-Id"
	HeaderRevision = "Pacific-Revision"
	HeaderKind     = "Pacific-Kind"
	HeaderType     = "Pacific-Type"

	TypeAdded    = "ADDED"
	TypeModified = "MODIFIED"
	TypeDeleted  = "DELETED"
	TypeResync   = "RESYNC"

	// resyncIDPrefix prefixes the Nats-Msg-Id of resync markers so they can
	// never collide with a change's revision.
	resyncIDPrefix = "resync-"
)

// Stream defaults.
const (
	DuplicateWindow = 2 * time.Minute
	DefaultMaxAge   = 72 * time.Hour
	DefaultMaxBytes = 1 << 30
	// MaxMsgSize bounds one message: an object of up to 1.5 MiB plus envelope.
	MaxMsgSize = 4 << 20
)

// ErrResync is returned by Decode for a resync marker: the consumer must
// relist from the API, because changes up to the returned revision may be
// missing from the stream.
var ErrResync = errors.New("events: resync marker: relist required")

// ErrInvalidToken is wrapped by errors for kinds or namespaces that cannot be
// a subject token.
var ErrInvalidToken = errors.New("invalid subject token")

// Subject returns the subject of a change to an object of groupKind
// ("core.pacific.dev/Namespace", or just "Namespace") in namespace (empty
// for cluster-scoped objects).
func Subject(groupKind, namespace string) (string, error) {
	kind, err := kindToken(groupKind)
	if err != nil {
		return "", err
	}
	ns := ClusterScoped
	if namespace != "" {
		if err := checkToken("namespace", namespace); err != nil {
			return "", err
		}
		if namespace == ClusterScoped {
			return "", fmt.Errorf("namespace %q: %w: reserved for cluster-scoped objects", namespace, ErrInvalidToken)
		}
		ns = namespace
	}
	return SubjectPrefix + "." + kind + "." + ns, nil
}

// SubjectFilter returns a subject filter for changes of kind (group-kind or
// kind; empty for every kind) in namespace (empty for every namespace,
// ClusterScoped for cluster-scoped objects only). With both empty the filter
// also matches resync markers.
func SubjectFilter(kind, namespace string) (string, error) {
	k := "*"
	if kind != "" {
		var err error
		if k, err = kindToken(kind); err != nil {
			return "", err
		}
	}
	ns := "*"
	if namespace != "" {
		if err := checkToken("namespace", namespace); err != nil {
			return "", err
		}
		ns = namespace
	}
	return SubjectPrefix + "." + k + "." + ns, nil
}

// ConsumerFilters returns the filter subjects a consumer of kind/namespace
// needs: SubjectFilter's, plus ResyncSubject unless the filter already
// matches it. Use them as jetstream.ConsumerConfig.FilterSubjects.
func ConsumerFilters(kind, namespace string) ([]string, error) {
	f, err := SubjectFilter(kind, namespace)
	if err != nil {
		return nil, err
	}
	if kind == "" && namespace == "" {
		return []string{f}, nil
	}
	return []string{f, ResyncSubject}, nil
}

// kindToken lowercases the kind part of a group-kind.
func kindToken(groupKind string) (string, error) {
	kind := groupKind
	if i := strings.LastIndexByte(groupKind, '/'); i >= 0 {
		kind = groupKind[i+1:]
	}
	kind = strings.ToLower(kind)
	if err := checkToken("kind", kind); err != nil {
		return "", fmt.Errorf("group-kind %q: %w", groupKind, err)
	}
	return kind, nil
}

// checkToken rejects what cannot be one subject token, and tokens starting
// with '_', which are reserved for the feed's own subjects.
func checkToken(what, tok string) error {
	if tok == "" {
		return fmt.Errorf("%s: %w: empty", what, ErrInvalidToken)
	}
	if tok[0] == '_' && !(what == "namespace" && tok == ClusterScoped) {
		return fmt.Errorf("%s %q: %w: leading '_' is reserved", what, tok, ErrInvalidToken)
	}
	for _, r := range tok {
		if r == '.' || r == '*' || r == '>' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%s %q: %w: contains %q", what, tok, ErrInvalidToken, r)
		}
	}
	return nil
}

// StreamOption adjusts the stream configuration.
type StreamOption func(*jetstream.StreamConfig)

// WithMaxAge bounds how long changes are kept (default DefaultMaxAge).
func WithMaxAge(d time.Duration) StreamOption {
	return func(c *jetstream.StreamConfig) { c.MaxAge = d }
}

// WithMaxBytes bounds the stream's size (default DefaultMaxBytes).
func WithMaxBytes(n int64) StreamOption {
	return func(c *jetstream.StreamConfig) { c.MaxBytes = n }
}

// WithReplicas sets the stream's replica count on a NATS cluster (default 1).
func WithReplicas(n int) StreamOption {
	return func(c *jetstream.StreamConfig) { c.Replicas = n }
}

// StreamConfig returns the stream's configuration.
func StreamConfig(opts ...StreamOption) jetstream.StreamConfig {
	c := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Pacific change feed: every committed change, in revision order",
		Subjects:    []string{SubjectPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      DefaultMaxAge,
		MaxBytes:    DefaultMaxBytes,
		MaxMsgSize:  MaxMsgSize,
		Duplicates:  DuplicateWindow,
		Replicas:    1,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.Duplicates < DuplicateWindow {
		c.Duplicates = DuplicateWindow
	}
	return c
}

// EnsureStream creates the stream, or updates an existing one to the
// configuration. It is idempotent; every publisher and consumer may call it.
func EnsureStream(ctx context.Context, js jetstream.JetStream, opts ...StreamOption) error {
	cfg := StreamConfig(opts...)
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("events: ensure stream %s: %w", StreamName, err)
	}
	return nil
}

// typeNames maps API event types to Pacific-Type values.
var typeNames = map[corev1.EventType]string{
	corev1.EventType_EVENT_TYPE_ADDED:    TypeAdded,
	corev1.EventType_EVENT_TYPE_MODIFIED: TypeModified,
	corev1.EventType_EVENT_TYPE_DELETED:  TypeDeleted,
}

// NewMsg builds the message for one change of an object of groupKind in
// namespace. The revision is resp.ResourceVersion, which must be positive;
// resp.Type must be ADDED, MODIFIED or DELETED.
func NewMsg(resp *corev1.WatchResponse, groupKind, namespace string) (*nats.Msg, error) {
	typ, ok := typeNames[resp.GetType()]
	if !ok {
		return nil, fmt.Errorf("events: cannot publish event type %v", resp.GetType())
	}
	rev := resp.GetResourceVersion()
	if rev <= 0 {
		return nil, fmt.Errorf("events: revision %d: must be positive", rev)
	}
	subj, err := Subject(groupKind, namespace)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	data, err := proto.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("events: marshal revision %d: %w", rev, err)
	}
	revStr := strconv.FormatInt(rev, 10)
	m := nats.NewMsg(subj)
	m.Data = data
	m.Header.Set(HeaderMsgID, revStr)
	m.Header.Set(HeaderRevision, revStr)
	m.Header.Set(HeaderKind, groupKind)
	m.Header.Set(HeaderType, typ)
	return m, nil
}

// NewResyncMsg builds a resync marker: changes up to revision may be
// missing; the feed continues with the changes after it.
func NewResyncMsg(revision int64) *nats.Msg {
	revStr := strconv.FormatInt(revision, 10)
	m := nats.NewMsg(ResyncSubject)
	m.Header.Set(HeaderMsgID, resyncIDPrefix+revStr)
	m.Header.Set(HeaderRevision, revStr)
	m.Header.Set(HeaderType, TypeResync)
	return m
}

// Message is what Decode reads; jetstream.Msg satisfies it.
type Message interface {
	Headers() nats.Header
	Data() []byte
}

// Decode reads one feed message. It returns the change and its revision; for
// a resync marker it returns a nil response, the marker's revision and
// ErrResync.
func Decode(msg Message) (*corev1.WatchResponse, int64, error) {
	return DecodeParts(msg.Headers(), msg.Data())
}

// DecodeParts is Decode for a message's headers and payload, e.g. from a
// *nats.Msg or a jetstream.RawStreamMsg.
func DecodeParts(h nats.Header, data []byte) (*corev1.WatchResponse, int64, error) {
	rev, err := Revision(h)
	if err != nil {
		return nil, 0, err
	}
	typ := h.Get(HeaderType)
	if typ == TypeResync {
		return nil, rev, fmt.Errorf("revision %d: %w", rev, ErrResync)
	}
	resp := &corev1.WatchResponse{}
	if err := proto.Unmarshal(data, resp); err != nil {
		return nil, rev, fmt.Errorf("events: revision %d: decode payload: %w", rev, err)
	}
	if resp.GetResourceVersion() != rev {
		return nil, rev, fmt.Errorf("events: header revision %d, payload resource_version %d", rev, resp.GetResourceVersion())
	}
	if want, ok := typeNames[resp.GetType()]; !ok || want != typ {
		return nil, rev, fmt.Errorf("events: revision %d: header type %q, payload type %v", rev, typ, resp.GetType())
	}
	return resp, rev, nil
}

// Revision returns a message's Pacific-Revision header.
func Revision(h nats.Header) (int64, error) {
	v := h.Get(HeaderRevision)
	if v == "" {
		return 0, fmt.Errorf("events: message has no %s header", HeaderRevision)
	}
	rev, err := strconv.ParseInt(v, 10, 64)
	if err != nil || rev < 0 {
		return 0, fmt.Errorf("events: %s header %q: not a revision", HeaderRevision, v)
	}
	return rev, nil
}
