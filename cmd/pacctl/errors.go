package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/sdk/client"
	"github.com/openpacific/pacific/sdk/manifest"
)

// usageError is a mistake in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// unknownKindError: the server has no kind by that name.
type unknownKindError struct{ name string }

func (e unknownKindError) Error() string {
	return fmt.Sprintf("the server doesn't have a resource type %q", e.name)
}

// printError prints err kubectl-style: "error: ..." for problems found
// before or without the server, "Error: ..." for the server's answers.
func (a *app) printError(err error) {
	fmt.Fprintln(a.stderr, a.formatError(err))
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(a.stderr, "Run 'pacctl --help' for usage.")
	}
}

// report prints err and remembers that the command failed, for commands
// that go on after an error.
func (a *app) report(err error) {
	a.printError(err)
	a.failed = true
}

func (a *app) formatError(err error) string {
	var ml manifest.ErrorList
	if errors.As(err, &ml) {
		lines := make([]string, len(ml))
		for i, e := range ml {
			lines[i] = "error: " + e.Error()
		}
		return strings.Join(lines, "\n")
	}
	var me *manifest.Error
	if errors.As(err, &me) {
		return "error: " + me.Error()
	}
	st := client.Status(err)
	if st == nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return a.timeoutMessage()
		}
		return "error: " + err.Error()
	}
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		if reason, ok := unreachable(msg); ok {
			return fmt.Sprintf("Error: cannot reach the Pacific API at %s: %s", a.target, reason)
		}
		return fmt.Sprintf("Error: the Pacific API at %s is unavailable: %s", a.target, msg)
	case codes.Unimplemented, codes.Internal, codes.Unknown:
		if strings.Contains(msg, "unexpected HTTP status code") || strings.Contains(msg, "malformed header") {
			return fmt.Sprintf("Error: cannot reach the Pacific API at %s: the server there does not speak gRPC: %s", a.target, msg)
		}
	case codes.DeadlineExceeded:
		return a.timeoutMessage()
	case codes.Unauthenticated:
		return fmt.Sprintf("Error: Unauthenticated: %s", msg)
	case codes.PermissionDenied:
		return "Error: PermissionDenied: " + msg
	case codes.Canceled:
		return "error: interrupted"
	}
	return "Error: " + msg
}

func (a *app) timeoutMessage() string {
	if a.flags.requestTimeout > 0 {
		return fmt.Sprintf("Error: the Pacific API at %s did not answer within %s (--request-timeout)", a.target, a.flags.requestTimeout)
	}
	return fmt.Sprintf("Error: the Pacific API at %s did not answer in time", a.target)
}

// unreachable recognises gRPC's connection failures and returns the
// reason, e.g. "dial tcp 127.0.0.1:7443: connect: connection refused".
func unreachable(msg string) (string, bool) {
	const conn = "connection error: desc = "
	if !strings.HasPrefix(msg, conn) {
		if strings.Contains(msg, "no children to pick from") || strings.Contains(msg, "last connection error") {
			return msg, true
		}
		return "", false
	}
	reason := strings.Trim(strings.TrimPrefix(msg, conn), `"`)
	reason = strings.TrimPrefix(reason, "transport: ")
	reason = strings.TrimPrefix(reason, "Error while dialing: ")
	reason = strings.TrimPrefix(reason, "error while dialing: ")
	return reason, true
}
