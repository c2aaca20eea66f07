package extract

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
)

// Options bound and shape an extraction.
type Options struct {
	// MaxBytes bounds the total size of regular-file content (sparse files
	// count at their logical size). 0 means no limit.
	MaxBytes int64
	// MaxFiles bounds the number of archive entries. 0 means no limit.
	MaxFiles int64
	// Root: the caller runs as root. Ownership from the archive is applied
	// and trusted.*/security.* xattrs are kept.
	Root bool
	// OverlayWhiteouts writes whiteouts and opaque markers in overlayfs
	// form (needs Root). They are returned in Result either way.
	OverlayWhiteouts bool
	// Logger receives skipped entries and best-effort failures.
	Logger *slog.Logger
}

// Result describes an extracted layer.
type Result struct {
	Entries   int64 // archive entries read
	Files     int64 // regular files written
	Dirs      int64
	Symlinks  int64
	Hardlinks int64
	Skipped   int64 // device files and unknown entry types
	Bytes     int64 // regular-file content written
	// DiskUsage estimates the space the tree takes (4 KiB blocks).
	DiskUsage int64
	// Whiteouts are the paths this layer deletes from the layers below.
	Whiteouts []string
	// OpaqueDirs are the directories whose lower contents this layer
	// hides ("." for the root).
	OpaqueDirs []string
}

const blockSize = 4096

func blocks(n int64) int64 { return (n + blockSize - 1) / blockSize * blockSize }

// CleanName validates an archive path and returns it cleaned and relative
// ("" for the root). Absolute paths and paths that climb out with ".."
// fail with ErrUnsafeLayer.
func CleanName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty entry name", ErrInvalidLayer)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute path %q", ErrUnsafeLayer, name)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: NUL in path %q", ErrInvalidLayer, name)
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%w: path %q escapes the layer", ErrUnsafeLayer, name)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Extract unpacks the tar stream r into dir, which must exist and should be
// empty. It stops at the end-of-archive marker: the caller drains r if it
// needs the whole stream (to hash it). On error dir holds a partial tree:
// the caller removes it (it never holds anything outside dir).
func Extract(ctx context.Context, r io.Reader, dir string, opts Options) (*Result, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	w, err := newFSWriter(dir, opts.Root, opts.Root, log)
	if err != nil {
		return nil, err
	}
	defer w.close()
	x := &extractor{w: w, opts: opts, log: log, res: &Result{}}
	tr := tar.NewReader(r)
	last := ""
	for {
		if x.res.Entries%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			if errors.Is(err, tar.ErrHeader) || errors.Is(err, tar.ErrFieldTooLong) {
				return nil, fmt.Errorf("%w: read entry after %q: %w", ErrInvalidLayer, last, err)
			}
			return nil, fmt.Errorf("read layer entry after %q: %w", last, err)
		}
		x.res.Entries++
		if opts.MaxFiles > 0 && x.res.Entries > opts.MaxFiles {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTooLarge, opts.MaxFiles)
		}
		last = hdr.Name
		if err := x.entry(hdr, tr); err != nil {
			return nil, err
		}
	}
	w.finish()
	if x.skippedLogged < x.res.Skipped {
		log.Info("layer entries skipped", "count", x.res.Skipped, "logged", x.skippedLogged)
	}
	return x.res, nil
}

type extractor struct {
	w             *fsWriter
	opts          Options
	log           *slog.Logger
	res           *Result
	skippedLogged int64
}

func headerMeta(hdr *tar.Header) meta {
	m := meta{
		mode:  uint32(hdr.Mode) & 0o7777,
		uid:   hdr.Uid,
		gid:   hdr.Gid,
		mtime: hdr.ModTime,
		atime: hdr.AccessTime,
	}
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if m.xattrs == nil {
				m.xattrs = map[string]string{}
			}
			m.xattrs[name] = v
		}
	}
	return m
}

func (x *extractor) skip(name, why string) {
	x.res.Skipped++
	if x.skippedLogged < 20 {
		x.skippedLogged++
		x.log.Info("layer entry skipped", "path", name, "reason", why)
	}
}

func (x *extractor) entry(hdr *tar.Header, tr io.Reader) error {
	rel, err := CleanName(hdr.Name)
	if err != nil {
		return err
	}
	parent, base := split(rel)

	if strings.HasPrefix(base, whiteoutPrefix) {
		switch {
		case base == opaqueMarker:
			od := parent
			if od == "" {
				od = "."
			}
			x.res.OpaqueDirs = append(x.res.OpaqueDirs, od)
			if x.opts.OverlayWhiteouts {
				return x.w.opaque(parent)
			}
			return nil
		case strings.HasPrefix(base, whiteoutMeta):
			x.skip(rel, "aufs metadata")
			return nil
		}
		victim := strings.TrimPrefix(base, whiteoutPrefix)
		if victim == "" || victim == "." || victim == ".." {
			return fmt.Errorf("%w: bad whiteout %q", ErrInvalidLayer, hdr.Name)
		}
		target := path.Join(parent, victim)
		x.res.Whiteouts = append(x.res.Whiteouts, target)
		if x.opts.OverlayWhiteouts {
			return x.w.whiteout(target)
		}
		return nil
	}

	m := headerMeta(hdr)
	if rel == "" && hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("%w: entry %q of type %q names the layer root", ErrInvalidLayer, hdr.Name, hdr.Typeflag)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		x.res.Dirs++
		x.res.DiskUsage += blockSize
		return x.w.mkdir(rel, m)
	case tar.TypeReg, '\x00', tar.TypeGNUSparse:
		if hdr.Size < 0 {
			return fmt.Errorf("%w: %q has negative size", ErrInvalidLayer, hdr.Name)
		}
		if x.opts.MaxBytes > 0 && x.res.Bytes+hdr.Size > x.opts.MaxBytes {
			return fmt.Errorf("%w: more than %d bytes of file content (at %q)", ErrTooLarge, x.opts.MaxBytes, hdr.Name)
		}
		if err := x.w.writeFile(rel, tr, hdr.Size, m); err != nil {
			return err
		}
		x.res.Files++
		x.res.Bytes += hdr.Size
		x.res.DiskUsage += blocks(hdr.Size)
		return nil
	case tar.TypeSymlink:
		if hdr.Linkname == "" {
			return fmt.Errorf("%w: symlink %q has no target", ErrInvalidLayer, hdr.Name)
		}
		x.res.Symlinks++
		return x.w.symlink(rel, hdr.Linkname, m)
	case tar.TypeLink:
		target, err := CleanName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hardlink %q: %w", hdr.Name, err)
		}
		if target == "" || target == rel {
			return fmt.Errorf("%w: hardlink %q to %q", ErrInvalidLayer, hdr.Name, hdr.Linkname)
		}
		x.res.Hardlinks++
		return x.w.link(rel, target)
	case tar.TypeFifo:
		return x.w.fifo(rel, m)
	case tar.TypeChar, tar.TypeBlock:
		x.skip(rel, "device file")
		return nil
	case tar.TypeXGlobalHeader:
		return nil
	default:
		x.skip(rel, fmt.Sprintf("unsupported entry type %q", hdr.Typeflag))
		return nil
	}
}
