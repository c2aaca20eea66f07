package extract

import "errors"

var (
	// ErrUnsafeLayer: the layer tries to write outside its directory (an
	// absolute name, a ".." escape, a path through a symlink, a hardlink to
	// outside). The whole layer is rejected.
	ErrUnsafeLayer = errors.New("unsafe layer")
	// ErrInvalidLayer: the archive is malformed (bad tar, a file used as a
	// directory, a hardlink to a missing entry).
	ErrInvalidLayer = errors.New("invalid layer")
	// ErrTooLarge: the layer exceeds Options.MaxBytes or Options.MaxFiles.
	ErrTooLarge = errors.New("layer exceeds size limits")
)
