package imagesvc

import (
	"errors"

	"github.com/openpacific/pacific/services/imagesvc/cache"
	"github.com/openpacific/pacific/services/imagesvc/extract"
	"github.com/openpacific/pacific/services/imagesvc/pull"
)

// Sentinel errors (aliases of the subpackages' ones). Test with errors.Is.
var (
	ErrNotFound          = pull.ErrNotFound
	ErrUnauthorized      = pull.ErrUnauthorized
	ErrUnreachable       = pull.ErrUnreachable
	ErrDigestMismatch    = pull.ErrDigestMismatch
	ErrInvalidReference  = pull.ErrInvalidReference
	ErrUnsupported       = pull.ErrUnsupported
	ErrInvalidPullSecret = pull.ErrInvalidPullSecret
	ErrBudgetExceeded    = cache.ErrBudgetExceeded
	ErrImageNotCached    = cache.ErrImageNotFound
	ErrInUse             = cache.ErrInUse
	ErrUnsafeLayer       = extract.ErrUnsafeLayer
	ErrInvalidLayer      = extract.ErrInvalidLayer
	ErrLayerTooLarge     = extract.ErrTooLarge
	// ErrContainerNotFound: no rootfs is prepared for that container.
	ErrContainerNotFound = errors.New("container rootfs not found")
	// ErrMount: overlayfs (or the copy fallback) could not assemble a rootfs.
	ErrMount = errors.New("rootfs mount failed")
)

// Reason maps an error to a short reason for Pod events and host
// conditions ("" for nil).
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range []struct {
		err    error
		reason string
	}{
		{ErrNotFound, "ImageNotFound"},
		{ErrUnauthorized, "Unauthorized"},
		{ErrUnreachable, "RegistryUnavailable"},
		{ErrDigestMismatch, "DigestMismatch"},
		{ErrInvalidReference, "InvalidImageName"},
		{ErrUnsupported, "UnsupportedImage"},
		{ErrInvalidPullSecret, "InvalidPullSecret"},
		{ErrBudgetExceeded, "DiskBudgetExceeded"},
		{ErrUnsafeLayer, "UnsafeLayer"},
		{ErrInvalidLayer, "InvalidLayer"},
		{ErrLayerTooLarge, "LayerTooLarge"},
		{ErrImageNotCached, "ImageNotCached"},
		{ErrInUse, "ImageInUse"},
		{ErrContainerNotFound, "ContainerNotFound"},
		{ErrMount, "MountFailed"},
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "ImagePullFailed"
}
