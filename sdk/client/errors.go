package client

import (
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrRelist ends a Watcher whose resume revision is no longer retained by
// the server (gRPC OutOfRange): list again and watch from the list's
// resource version. Test with errors.Is(w.Err(), ErrRelist).
var ErrRelist = errors.New("watch revision is no longer retained; list again")

// Errors returned by this package wrap the server's gRPC status with
// context, so status.Code(err) and the helpers below see through them.

// Code returns the gRPC code of err: codes.OK for nil, codes.Unknown for an
// error that carries no status.
func Code(err error) codes.Code { return status.Code(err) }

// Status returns the server's status inside err, with the server's own
// message (status.FromError on a wrapped error returns the whole text).
// It returns nil when err carries no status.
func Status(err error) *status.Status {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus()
	}
	return nil
}

// Message returns the server's message for a status error, or err.Error().
func Message(err error) string {
	if st := Status(err); st != nil {
		return st.Message()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// IsNotFound reports whether the object (or its namespace) does not exist.
func IsNotFound(err error) bool { return Code(err) == codes.NotFound }

// IsAlreadyExists reports whether a Create found the object already there.
func IsAlreadyExists(err error) bool { return Code(err) == codes.AlreadyExists }

// IsConflict reports whether an Update or Delete carried a stale
// resource_version (Aborted): get the object again and retry.
func IsConflict(err error) bool { return Code(err) == codes.Aborted }

// IsInvalid reports whether the server rejected the request's content; see
// FieldViolations for the field paths.
func IsInvalid(err error) bool { return Code(err) == codes.InvalidArgument }

// IsTooLarge reports whether an object or request exceeded a size limit, or
// a watcher fell too far behind (ResourceExhausted).
func IsTooLarge(err error) bool { return Code(err) == codes.ResourceExhausted }

// IsRelist reports whether a watch or list continuation refers to a
// revision that is no longer retained (OutOfRange).
func IsRelist(err error) bool { return errors.Is(err, ErrRelist) || Code(err) == codes.OutOfRange }

// IsUnavailable reports whether the server could not be reached or had no
// leader, after the client's own retries.
func IsUnavailable(err error) bool { return Code(err) == codes.Unavailable }

// IsUnauthenticated reports whether the call had no valid credentials.
func IsUnauthenticated(err error) bool { return Code(err) == codes.Unauthenticated }

// IsForbidden reports whether the caller may not do this (PermissionDenied).
func IsForbidden(err error) bool { return Code(err) == codes.PermissionDenied }

// FieldViolation is one invalid field named by the server.
type FieldViolation struct {
	// Field is a path such as spec.containers[0].image.
	Field       string
	Description string
}

// FieldViolations returns the invalid fields an InvalidArgument error names
// (the google.rpc.BadRequest detail), or nil.
func FieldViolations(err error) []FieldViolation {
	st := Status(err)
	if st == nil {
		return nil
	}
	var out []FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return out
}
