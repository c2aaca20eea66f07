package apierr

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is an error meant for the API caller.
type Error struct {
	Code    codes.Code
	Message string
	Fields  FieldErrors
	// Cause is kept for logs; it is never sent to the caller.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// GRPCStatus lets status.FromError and grpc-go turn the error into a status
// carrying the field violations as a google.rpc.BadRequest detail.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code, e.Message)
	if len(e.Fields) == 0 {
		return st
	}
	br := &errdetails.BadRequest{}
	for _, f := range e.Fields {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Path, Description: f.Msg})
	}
	if withDetails, err := st.WithDetails(br); err == nil {
		return withDetails
	}
	return st
}

// FieldError is one problem at a field path such as spec.containers[0].image.
type FieldError struct {
	Path string
	Msg  string
}

func (f FieldError) String() string { return f.Path + ": " + f.Msg }

// FieldErrors collects problems so a caller sees all of them at once.
type FieldErrors []FieldError

// Add appends a problem at path.
func (fe *FieldErrors) Add(path, format string, args ...any) {
	*fe = append(*fe, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Required records a missing field.
func (fe *FieldErrors) Required(path string) { fe.Add(path, "required") }

// Err returns nil when empty, else an InvalidArgument Error listing every problem.
func (fe FieldErrors) Err(what string) error {
	if len(fe) == 0 {
		return nil
	}
	parts := make([]string, len(fe))
	for i, f := range fe {
		parts[i] = f.String()
	}
	return &Error{Code: codes.InvalidArgument, Message: what + " is invalid: " + strings.Join(parts, "; "), Fields: fe}
}

// New returns an Error with a formatted message.
func New(code codes.Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is InvalidArgument for one field.
func Invalid(path, format string, args ...any) *Error {
	fe := FieldErrors{}
	fe.Add(path, format, args...)
	var e *Error
	errors.As(fe.Err("request"), &e)
	return e
}

// NotFound says an object does not exist, kubectl style: namespaces "demo" not found.
func NotFound(plural, name string) *Error {
	return New(codes.NotFound, "%s %q not found", plural, name)
}

// AlreadyExists says an object exists.
func AlreadyExists(plural, name string) *Error {
	return New(codes.AlreadyExists, "%s %q already exists", plural, name)
}

// Conflict says the caller's resource_version is stale.
func Conflict(plural, name string) *Error {
	return New(codes.Aborted, "operation cannot be fulfilled on %s %q: the object has been modified; read it again and retry", plural, name)
}

// Unavailable wraps a transient failure (no leader, shutting down).
func Unavailable(cause error, format string, args ...any) *Error {
	e := New(codes.Unavailable, format, args...)
	e.Cause = cause
	return e
}

// CodeOf returns the gRPC code an error would be sent with.
func CodeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	return codes.Unknown
}

// ReasonOf returns the ErrorInfo reason a status error carries for domain
// ("" if none). Services put machine-readable causes there, e.g. the image
// service's ImageNotFound.
func ReasonOf(err error, domain string) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == domain {
			return info.GetReason()
		}
	}
	return ""
}
