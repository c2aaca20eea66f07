package extract

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Layer is an unpacked layer directory and the changes it makes to the
// layers below it.
type Layer struct {
	Dir        string
	Whiteouts  []string
	OpaqueDirs []string
}

// CopyLayers materialises the union of layers (bottom layer first) into
// target, as overlayfs would present it: for each layer its opaque
// directories are emptied, its whiteouts removed, then its tree copied
// over. It is the fallback for hosts without overlayfs; it costs a full
// copy per container. Writes into target never follow symlinks (a symlink
// from a lower layer is replaced when an upper layer has a directory at
// that path, as overlayfs does). Xattrs are not copied.
//
// Layer directories are trusted (they are the cache's own); overlayfs
// whiteout devices (0/0 character devices) found in them are skipped.
func CopyLayers(ctx context.Context, target string, layers []Layer, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	w, err := newFSWriter(target, opts.Root, opts.Root, log)
	if err != nil {
		return err
	}
	defer w.close()
	for i, l := range layers {
		for _, od := range l.OpaqueDirs {
			rel, err := CleanName(od)
			if err != nil {
				return fmt.Errorf("layer %d: opaque dir: %w", i, err)
			}
			if err := w.clearDir(rel); err != nil {
				return fmt.Errorf("layer %d: opaque dir %q: %w", i, od, err)
			}
		}
		for _, wo := range l.Whiteouts {
			rel, err := CleanName(wo)
			if err != nil {
				return fmt.Errorf("layer %d: whiteout: %w", i, err)
			}
			if err := w.remove(rel); err != nil {
				return fmt.Errorf("layer %d: whiteout %q: %w", i, wo, err)
			}
		}
		if err := copyTree(ctx, w, l.Dir, log); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l.Dir, err)
		}
	}
	w.finish()
	return nil
}

func statMeta(st *syscall.Stat_t) meta {
	return meta{
		mode:  st.Mode & 0o7777,
		uid:   int(st.Uid),
		gid:   int(st.Gid),
		mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		atime: time.Unix(st.Atim.Sec, st.Atim.Nsec),
	}
}

func copyTree(ctx context.Context, w *fsWriter, src string, log *slog.Logger) error {
	type inode struct{ dev, ino uint64 }
	links := map[inode]string{}
	n := 0
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel == "." {
			rel = ""
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("stat %s: no unix stat", p)
		}
		m := statMeta(st)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			return w.mkdir(rel, m)
		case unix.S_IFREG:
			if st.Nlink > 1 {
				key := inode{uint64(st.Dev), st.Ino}
				if first, ok := links[key]; ok {
					return w.link(rel, first)
				}
				links[key] = rel
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return w.writeFile(rel, f, st.Size, m)
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return w.symlink(rel, target, m)
		case unix.S_IFIFO:
			return w.fifo(rel, m)
		case unix.S_IFCHR:
			if st.Rdev == 0 {
				return nil // overlayfs whiteout; applied from the layer's records
			}
		}
		log.Info("entry skipped while copying layer", "path", rel)
		return nil
	})
}

// OverlayForm writes the whiteouts and opaque markers of an unpacked layer
// into its directory in overlayfs form (needs root). It converts a layer
// extracted without OverlayWhiteouts so that it can be an overlay lowerdir.
func OverlayForm(dir string, whiteouts, opaqueDirs []string, log *slog.Logger) error {
	w, err := newFSWriter(dir, true, true, log)
	if err != nil {
		return err
	}
	defer w.close()
	for _, od := range opaqueDirs {
		rel, err := CleanName(od)
		if err != nil {
			return err
		}
		if err := w.opaque(rel); err != nil {
			return err
		}
	}
	for _, wo := range whiteouts {
		rel, err := CleanName(wo)
		if err != nil {
			return err
		}
		if rel == "" {
			return fmt.Errorf("%w: whiteout of the layer root", ErrInvalidLayer)
		}
		if err := w.whiteout(rel); err != nil {
			return err
		}
	}
	return nil
}
