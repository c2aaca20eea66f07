// Package extract unpacks image layer tar streams safely into a directory,
// and copies unpacked layers into a plain directory tree (the fallback used
// when overlayfs is not available).
//
// Safety rules, enforced for every entry:
//
//   - Names are cleaned lexically. An absolute name, or one that climbs out
//     of the layer directory with "..", rejects the whole layer
//     ([ErrUnsafeLayer]); so does a hardlink whose target does.
//   - Symlinks are created as they are (their targets are never resolved by
//     the extractor) and are never followed: every directory on the way to
//     an entry is opened with O_NOFOLLOW relative to its parent's file
//     descriptor (openat-style resolution), and every file is created with
//     O_CREAT|O_EXCL|O_NOFOLLOW. A path that goes through a symlink rejects
//     the layer ([ErrUnsafeLayer]). Nothing can be written outside the
//     target directory, whatever the archive holds.
//   - Hardlink targets must be earlier entries of the same layer.
//   - Character and block devices are skipped (and logged); FIFOs are
//     created.
//   - Overlay-private xattrs (trusted.overlay.*, user.overlay.*) in the
//     archive are dropped so that a layer cannot forge overlayfs metadata;
//     trusted.* and security.* xattrs are applied only as root; all xattrs
//     are best effort.
//   - [Options.MaxBytes] and [Options.MaxFiles] bound what one layer may
//     write ([ErrTooLarge]) so that a decompression bomb stops early.
//
// Whiteouts (".wh.NAME") and opaque markers (".wh..wh..opq") are always
// returned in [Result]; with [Options.OverlayWhiteouts] (root only) they are
// also written in overlayfs form: a 0/0 character device for a whiteout and
// the trusted.overlay.opaque=y xattr on an opaque directory.
//
// Ownership is applied only with [Options.Chown] (root). Modes, mtimes and
// xattrs are applied after all entries are written (directories deepest
// first), so a read-only directory in the archive does not stop its own
// children from being written.
//
// The package is Linux-only: it relies on openat(2)-family system calls.
package extract
