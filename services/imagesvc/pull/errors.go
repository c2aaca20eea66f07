package pull

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Sentinel errors. Errors returned by this package wrap at most one of them;
// test with errors.Is.
var (
	// ErrNotFound: the registry does not know the repository, the tag, the
	// manifest or a blob (MANIFEST_UNKNOWN, NAME_UNKNOWN, BLOB_UNKNOWN, 404).
	ErrNotFound = errors.New("image not found")
	// ErrUnauthorized: the registry refused the credentials, or demanded
	// some (UNAUTHORIZED, DENIED, 401, 403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnreachable: the registry could not be reached or answered with a
	// temporary failure (connection refused, DNS, TLS, 5xx, 429, a stream
	// cut short). Worth retrying later.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrDigestMismatch: content did not match its digest or its declared
	// size. Worth retrying: the next download may be intact.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrInvalidReference: the image reference does not parse.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrUnsupported: the image uses a format this client does not handle
	// (schema 1 manifests, non-sha256 digests, no manifest for the host's
	// platform in an index, oversized manifests).
	ErrUnsupported = errors.New("unsupported image")
	// ErrInvalidPullSecret: a pull secret is not valid docker config JSON.
	ErrInvalidPullSecret = errors.New("invalid pull secret")
)

// Classify returns the sentinel that err falls under, or nil when it is none
// of them (context cancellation, local failures).
func Classify(err error) error {
	for _, s := range []error{ErrNotFound, ErrUnauthorized, ErrUnreachable, ErrDigestMismatch, ErrInvalidReference, ErrUnsupported, ErrInvalidPullSecret} {
		if errors.Is(err, s) {
			return s
		}
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return classifyTransport(terr)
	}
	var (
		opErr   *net.OpError
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &opErr), errors.As(err, &dnsErr), errors.As(err, &certErr),
		errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &recErr),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errPlainHTTP):
		return ErrUnreachable
	case errors.As(err, &netErr) && netErr.Timeout():
		return ErrUnreachable
	}
	return nil
}

func classifyTransport(terr *transport.Error) error {
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return ErrNotFound
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return ErrUnauthorized
		case transport.TooManyRequestsErrorCode, transport.UnavailableErrorCode:
			return ErrUnreachable
		}
	}
	switch {
	case terr.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case terr.StatusCode == http.StatusUnauthorized, terr.StatusCode == http.StatusForbidden:
		return ErrUnauthorized
	case terr.StatusCode == http.StatusTooManyRequests, terr.StatusCode >= 500:
		return ErrUnreachable
	}
	return nil
}

// wrap annotates err with what was being done and, when it can be
// classified, with the sentinel. The original error text (which carries the
// registry's message) is kept.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	kind := Classify(err)
	if kind == nil || errors.Is(err, kind) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %w", what, kind, err)
}
