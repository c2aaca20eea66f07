package store

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

// errInvalidEntry is returned for a log entry that cannot be decoded.
var errInvalidEntry = errors.New("invalid log entry")

// encodeEntry builds a log entry: the command type byte, then the Command.
func encodeEntry(t storev1.CommandType, cmd *storev1.Command) ([]byte, error) {
	if t <= storev1.CommandType_COMMAND_TYPE_UNSPECIFIED || t > 255 {
		return nil, fmt.Errorf("%w: command type %d", errInvalidEntry, t)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	out := make([]byte, 0, 1+len(b))
	out = append(out, byte(t))
	return append(out, b...), nil
}

// decodeEntry splits a log entry into its type and Command.
func decodeEntry(data []byte) (storev1.CommandType, *storev1.Command, error) {
	if len(data) == 0 {
		return 0, nil, fmt.Errorf("%w: empty", errInvalidEntry)
	}
	t := storev1.CommandType(data[0])
	cmd := &storev1.Command{}
	if err := proto.Unmarshal(data[1:], cmd); err != nil {
		return t, nil, fmt.Errorf("%w: %s: %w", errInvalidEntry, t, err)
	}
	return t, cmd, nil
}

func keyCommand(k Key) *storev1.Command {
	return &storev1.Command{Kind: k.Kind, Namespace: k.Namespace, Name: k.Name}
}

func validKey(k Key) error {
	if k.Kind == "" || k.Name == "" {
		return fmt.Errorf("store: key %+v needs a kind and a name", k)
	}
	return nil
}

// resultError turns a non-OK state machine result into an error.
func resultError(k Key, r *storev1.Result) error {
	switch r.GetCode() {
	case storev1.ResultCode_RESULT_CODE_OK:
		return nil
	case storev1.ResultCode_RESULT_CODE_NOT_FOUND:
		return fmt.Errorf("%s %s/%s: %w", k.Kind, k.Namespace, k.Name, ErrNotFound)
	case storev1.ResultCode_RESULT_CODE_ALREADY_EXISTS:
		return fmt.Errorf("%s %s/%s: %w", k.Kind, k.Namespace, k.Name, ErrExists)
	case storev1.ResultCode_RESULT_CODE_CONFLICT:
		return fmt.Errorf("%s %s/%s: %w: %s", k.Kind, k.Namespace, k.Name, ErrConflict, r.GetMessage())
	default:
		return fmt.Errorf("%s %s/%s: %w: %s", k.Kind, k.Namespace, k.Name, errInvalidEntry, r.GetMessage())
	}
}
