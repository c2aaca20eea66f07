package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/internal/mountinfo"
)

// tmpfsOptions: small files only, a few KiB per container.
const tmpfsOptions = "mode=0700,size=256m"

// Mount creates dir (0700) and mounts a tmpfs on it, unless dir already is
// on a tmpfs (a previous run's, kept while containers live, or a tmpfs
// /run).
func Mount(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("run dir: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("run dir: statfs %s: %w", dir, err)
	}
	if st.Type == unix.TMPFS_MAGIC {
		return nil
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpfsOptions); err != nil {
		return fmt.Errorf("run dir: mount a tmpfs on %s: %w", dir, err)
	}
	return nil
}

// Release unmounts the tmpfs mounted at dir when it holds nothing but empty
// directories: no file and no mount below it. It reports whether it did;
// a tmpfs still in use, or none mounted exactly at dir (dir inside a tmpfs
// /run), stays.
func Release(dir string) (bool, error) {
	real, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("run dir: %w", err)
	}
	mounts, err := mountinfo.Read()
	if err != nil {
		return false, err
	}
	ours := false
	for _, m := range mounts {
		switch {
		case m.MountPoint == real:
			ours = m.FSType == "tmpfs"
		case strings.HasPrefix(m.MountPoint, real+"/"):
			return false, nil // a mount below: in use
		}
	}
	if !ours {
		return false, nil
	}
	used := false
	err = filepath.WalkDir(real, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			used = true
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil || used {
		return false, err
	}
	if err := unix.Unmount(real, 0); err != nil {
		return false, fmt.Errorf("run dir: unmount %s: %w", real, err)
	}
	return true, nil
}
