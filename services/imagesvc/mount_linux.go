package imagesvc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/internal/mountinfo"
	"github.com/openpacific/pacific/services/imagesvc/cache"
	"github.com/openpacific/pacific/services/imagesvc/extract"
)

// maxMountData is the most mount(2) accepts as option data (one page,
// including the terminating NUL).
const maxMountData = 4095

var containerIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Rootfs describes a container's root filesystem.
type Rootfs struct {
	ContainerID string    `json:"containerID"`
	Image       string    `json:"image"`
	Mode        MountMode `json:"mode"`
	// LowerDirs are the image's layer directories, topmost first (the
	// order of overlayfs's lowerdir option). Empty in copy mode.
	LowerDirs []string `json:"lowerDirs,omitempty"`
	UpperDir  string   `json:"upperDir,omitempty"`
	WorkDir   string   `json:"workDir,omitempty"`
	// Target is where Mount assembled the rootfs ("" after Prepare only).
	Target string `json:"target,omitempty"`
}

// OverlayOptions is the option string for mount -t overlay (see
// OverlayMount for images with many layers).
func (r *Rootfs) OverlayOptions() string {
	return overlayOptions(r.LowerDirs, r.UpperDir, r.WorkDir)
}

func overlayOptions(lower []string, upper, work string) string {
	return "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
}

// OverlayMount mounts r (from Prepare) on target with overlayfs. The
// option string of mount(2) is limited to a page, which a few dozen layers
// under a long cache root exceed; then the layers are passed one by one
// with the new mount API ("lowerdir+", Linux 6.8 and later).
func OverlayMount(r *Rootfs, target string) error {
	if r.Mode != MountOverlay || len(r.LowerDirs) == 0 {
		return fmt.Errorf("%w: rootfs of %s is not an overlay (mode %q)", ErrMount, r.ContainerID, r.Mode)
	}
	opts := r.OverlayOptions()
	if len(opts) <= maxMountData {
		if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
			return fmt.Errorf("%w: overlay on %s: %w", ErrMount, target, err)
		}
		return nil
	}
	if err := mountOverlayFsconfig(r, target); err != nil {
		return fmt.Errorf("%w: overlay of %d layers on %s (options too long for mount(2), new mount API failed): %w", ErrMount, len(r.LowerDirs), target, err)
	}
	return nil
}

func mountOverlayFsconfig(r *Rootfs, target string) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fsfd)
	for _, l := range r.LowerDirs {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
			return fmt.Errorf("fsconfig lowerdir+ %s: %w", l, err)
		}
	}
	if err := unix.FsconfigSetString(fsfd, "upperdir", r.UpperDir); err != nil {
		return fmt.Errorf("fsconfig upperdir: %w", err)
	}
	if err := unix.FsconfigSetString(fsfd, "workdir", r.WorkDir); err != nil {
		return fmt.Errorf("fsconfig workdir: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("fsconfig create: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// container is the persisted state of one prepared rootfs.
type container struct {
	Rootfs
	// CreatedTarget: Mount made the target directory (Unmount removes it).
	CreatedTarget bool      `json:"createdTarget,omitempty"`
	Mounted       bool      `json:"mounted,omitempty"`
	Created       time.Time `json:"created"`

	release func()
}

func chooseMountMode(want MountMode, root bool) (MountMode, error) {
	switch want {
	case MountCopy:
		return MountCopy, nil
	case MountOverlay:
		if !root {
			return "", fmt.Errorf("imagesvc: %w: overlay mounts need root", ErrMount)
		}
		if !overlaySupported() {
			return "", fmt.Errorf("imagesvc: %w: the kernel has no overlay filesystem", ErrMount)
		}
		return MountOverlay, nil
	case MountAuto:
		if root && overlaySupported() {
			return MountOverlay, nil
		}
		return MountCopy, nil
	}
	return "", fmt.Errorf("imagesvc: unknown mount mode %q", want)
}

// overlaySupported reports whether the kernel lists overlayfs (the module
// may load on first mount; /proc/filesystems is the cheap check).
func overlaySupported() bool {
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 && fields[len(fields)-1] == "overlay" {
			return true
		}
	}
	return false
}

func (s *Service) statePath(id string) string { return filepath.Join(s.containerDir(id), "state.json") }

func (s *Service) saveContainer(c *container) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	p := s.statePath(c.ContainerID)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// restoreContainers reloads prepared rootfs state left by an earlier run
// and pins their images again.
func (s *Service) restoreContainers(ctx context.Context) error {
	dir := filepath.Join(s.store.Root(), "containers")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("imagesvc: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("imagesvc: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || !containerIDRE.MatchString(e.Name()) {
			continue
		}
		var c container
		b, err := os.ReadFile(s.statePath(e.Name()))
		if err == nil {
			err = json.Unmarshal(b, &c)
		}
		if err != nil || c.ContainerID != e.Name() {
			// Prepare or Mount died before saving the state: a Mount may
			// have mounted an overlay on the upper dir first.
			s.log.WarnContext(ctx, "removing container dir without state", "container", e.Name(), "err", err)
			orphan := &container{Rootfs: Rootfs{ContainerID: e.Name(), Mode: MountOverlay, UpperDir: filepath.Join(s.containerDir(e.Name()), "upper")}, release: func() {}}
			if err := s.unmountLocked(ctx, orphan); err != nil {
				s.log.WarnContext(ctx, "container dir without state still mounted; keeping it", "container", e.Name(), "err", err)
			}
			continue
		}
		if rel, err := s.store.Acquire(c.Image); err == nil {
			c.release = rel
		} else {
			s.log.WarnContext(ctx, "container's image is no longer cached", "container", c.ContainerID, "image", c.Image)
			c.release = func() {}
		}
		s.containers[c.ContainerID] = &c
	}
	return nil
}

// Prepare readies a rootfs for containerID from a cached image: it pins
// the image, converts its layers to overlayfs form if needed and makes the
// container's upper and work directories. The host agent can mount the
// result itself (OverlayOptions) or call Mount. Preparing again with the
// same image returns the existing state.
func (s *Service) Prepare(ctx context.Context, imageDigest, containerID string) (*Rootfs, error) {
	if !containerIDRE.MatchString(containerID) {
		return nil, fmt.Errorf("prepare: invalid container id %q", containerID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prepareLocked(ctx, imageDigest, containerID, true)
}

// prepareLocked readies containerID's directories; with save it records
// the state at once (Mount records it once, after mounting).
func (s *Service) prepareLocked(ctx context.Context, imageDigest, containerID string, save bool) (*Rootfs, error) {
	if c, ok := s.containers[containerID]; ok {
		if c.Image != imageDigest {
			return nil, fmt.Errorf("prepare %s: already prepared with image %s", containerID, c.Image)
		}
		r := c.Rootfs
		return &r, nil
	}
	rec, err := s.store.Image(imageDigest)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", containerID, err)
	}
	release, err := s.store.Acquire(imageDigest)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", containerID, err)
	}
	ok := false
	defer func() {
		if !ok {
			release()
		}
	}()
	c := &container{Rootfs: Rootfs{ContainerID: containerID, Image: imageDigest, Mode: s.mode}, Created: s.opts.Now(), release: release}
	dir := s.containerDir(containerID)
	if s.mode == MountOverlay {
		for i := len(rec.Layers) - 1; i >= 0; i-- {
			l := rec.Layers[i]
			if err := s.ensureOverlayForm(ctx, l.DiffID); err != nil {
				return nil, fmt.Errorf("prepare %s: layer %s: %w", containerID, l.DiffID, err)
			}
			d := s.store.LayerDir(l.DiffID)
			if n := len(c.LowerDirs); n > 0 && c.LowerDirs[n-1] == d {
				continue // the same layer twice in a row adds nothing
			}
			c.LowerDirs = append(c.LowerDirs, d)
		}
		if len(c.LowerDirs) == 0 {
			// An image without layers: overlayfs needs one lower dir.
			empty := filepath.Join(s.store.Root(), "empty")
			if err := os.MkdirAll(empty, 0o755); err != nil {
				return nil, fmt.Errorf("prepare %s: %w", containerID, err)
			}
			c.LowerDirs = []string{empty}
		}
		c.UpperDir, c.WorkDir = filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	}
	for _, d := range []string{dir, c.UpperDir, c.WorkDir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", containerID, err)
		}
	}
	if c.UpperDir != "" {
		// The upper dir's root becomes the rootfs root: world-readable.
		_ = os.Chmod(c.UpperDir, 0o755)
	}
	if save {
		if err := s.saveContainer(c); err != nil {
			_ = cache.RemoveTree(dir)
			return nil, fmt.Errorf("prepare %s: %w", containerID, err)
		}
	}
	s.containers[containerID] = c
	ok = true
	r := c.Rootfs
	return &r, nil
}

// ensureOverlayForm converts a layer unpacked without overlayfs whiteouts
// (by an unprivileged run) before it is used as a lowerdir.
func (s *Service) ensureOverlayForm(ctx context.Context, diffID string) error {
	s.formMu.Lock()
	defer s.formMu.Unlock()
	rec, ok := s.store.Layer(diffID)
	if !ok {
		return fmt.Errorf("%w: layer %s", ErrImageNotCached, diffID)
	}
	if rec.OverlayForm || (len(rec.Whiteouts) == 0 && len(rec.OpaqueDirs) == 0) {
		return nil
	}
	s.log.InfoContext(ctx, "converting layer whiteouts to overlayfs form", "layer", diffID)
	if err := extract.OverlayForm(s.store.LayerDir(diffID), rec.Whiteouts, rec.OpaqueDirs, s.log); err != nil {
		return err
	}
	rec.OverlayForm = true
	return s.store.UpdateLayer(rec)
}

// Mount assembles the rootfs of containerID from a cached image at target
// (made if missing): an overlayfs mount, or in copy mode a copy of the
// layers (target must then be empty). Mounting again at the same target is
// a no-op.
func (s *Service) Mount(ctx context.Context, imageDigest, containerID, target string) (*Rootfs, error) {
	if !containerIDRE.MatchString(containerID) {
		return nil, fmt.Errorf("mount: invalid container id %q", containerID)
	}
	if !filepath.IsAbs(target) {
		return nil, fmt.Errorf("mount %s: target %q is not absolute", containerID, target)
	}
	target = filepath.Clean(target)
	if target == "/" {
		return nil, fmt.Errorf("mount %s: refusing to mount on /", containerID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, existed := s.containers[containerID]
	r, err := s.prepareLocked(ctx, imageDigest, containerID, false)
	if err != nil {
		return nil, err
	}
	c := s.containers[containerID]
	if c.Mounted && c.Mode == MountOverlay {
		// After a reboot the state survives but the mount does not.
		if mounted, err := isMountPoint(c.Target); err == nil && !mounted {
			c.Mounted = false
		}
	}
	if c.Mounted {
		if c.Target == target {
			r.Target = target
			return r, nil
		}
		return nil, fmt.Errorf("mount %s: already mounted at %s", containerID, c.Target)
	}
	fail := func(err error) (*Rootfs, error) {
		if !existed {
			if cerr := s.unmountLocked(ctx, c); cerr != nil {
				s.log.WarnContext(ctx, "cleanup after failed mount", "container", containerID, "err", cerr)
			}
		}
		return nil, err
	}
	created := false
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fail(fmt.Errorf("mount %s: %w", containerID, err))
		}
		created = true
	} else if err != nil {
		return fail(fmt.Errorf("mount %s: %w", containerID, err))
	}
	c.Target, c.CreatedTarget = target, created
	switch c.Mode {
	case MountOverlay:
		if err := OverlayMount(&c.Rootfs, target); err != nil {
			return fail(fmt.Errorf("mount %s: %w", containerID, err))
		}
	case MountCopy:
		ents, err := os.ReadDir(target)
		if err != nil {
			return fail(fmt.Errorf("mount %s: %w", containerID, err))
		}
		if len(ents) > 0 {
			c.Target = "" // not ours: never remove it
			return fail(fmt.Errorf("mount %s: %w: copy mode needs an empty target, %s is not", containerID, ErrMount, target))
		}
		rec, err := s.store.Image(imageDigest)
		if err != nil {
			return fail(fmt.Errorf("mount %s: %w", containerID, err))
		}
		var layers []extract.Layer
		for _, l := range rec.Layers {
			lr, _ := s.store.Layer(l.DiffID)
			layers = append(layers, extract.Layer{Dir: s.store.LayerDir(l.DiffID), Whiteouts: lr.Whiteouts, OpaqueDirs: lr.OpaqueDirs})
		}
		c.Mounted = true // the target now holds our copy: Unmount must remove it
		if err := extract.CopyLayers(ctx, target, layers, extract.Options{Root: s.root, Logger: s.log}); err != nil {
			return fail(fmt.Errorf("mount %s: %w: copy layers: %w", containerID, ErrMount, err))
		}
	}
	c.Mounted = true
	if err := s.saveContainer(c); err != nil {
		return fail(fmt.Errorf("mount %s: %w", containerID, err))
	}
	out := c.Rootfs
	return &out, nil
}

// Unmount tears down containerID's rootfs: it unmounts the target and any
// other overlay mount using the container's upper directory (for instance
// one the host agent made from Prepare), removes a copied tree, the target
// if Mount made it, and the container's upper and work directories, and
// unpins the image. Unknown containers are not an error.
func (s *Service) Unmount(ctx context.Context, containerID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[containerID]
	if !ok {
		return nil
	}
	return s.unmountLocked(ctx, c)
}

func (s *Service) unmountLocked(ctx context.Context, c *container) error {
	var errs []error
	if c.Mode == MountOverlay {
		targets, err := overlayMountsUsing(c.UpperDir)
		if err != nil {
			errs = append(errs, err)
		}
		if c.Mounted && c.Target != "" && !slices.Contains(targets, c.Target) {
			if mounted, _ := isMountPoint(c.Target); mounted {
				targets = append(targets, c.Target)
			}
		}
		for _, t := range targets {
			if err := unmount(t); err != nil {
				errs = append(errs, err)
			}
		}
		if c.CreatedTarget && c.Target != "" {
			if err := os.Remove(c.Target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove target: %w", err))
			}
		}
	}
	if c.Mode == MountCopy && c.Mounted && c.Target != "" {
		if c.CreatedTarget {
			if err := cache.RemoveTree(c.Target); err != nil {
				errs = append(errs, fmt.Errorf("remove copied rootfs: %w", err))
			}
		} else if err := removeContents(c.Target); err != nil {
			errs = append(errs, fmt.Errorf("remove copied rootfs: %w", err))
		}
	}
	if len(errs) > 0 {
		// Keep the state: a later Unmount can finish the job.
		return fmt.Errorf("unmount %s: %w", c.ContainerID, errors.Join(errs...))
	}
	if err := cache.RemoveTree(s.containerDir(c.ContainerID)); err != nil {
		return fmt.Errorf("unmount %s: %w", c.ContainerID, err)
	}
	c.release()
	delete(s.containers, c.ContainerID)
	return nil
}

func removeContents(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := cache.RemoveTree(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func unmount(target string) error {
	for attempt := 0; attempt < 2; attempt++ {
		err := unix.Unmount(target, 0)
		switch err {
		case nil, unix.EINVAL, unix.ENOENT:
			return nil
		case unix.EINTR:
			continue
		case unix.EBUSY:
			// Something still holds it open: detach now, the kernel frees
			// it when the last user goes.
			if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
				return fmt.Errorf("unmount %s: %w", target, err)
			}
			return nil
		default:
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return nil
}

// MountInfo is one line of /proc/self/mountinfo.
type MountInfo = mountinfo.Mount

// Mounts parses /proc/self/mountinfo.
func Mounts() ([]MountInfo, error) { return mountinfo.Read() }

func isMountPoint(p string) (bool, error) {
	ms, err := Mounts()
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.MountPoint == p {
			return true, nil
		}
	}
	return false, nil
}

// overlayMountsUsing lists overlay mount points whose upperdir is upper,
// innermost (last mounted) first.
func overlayMountsUsing(upper string) ([]string, error) {
	if upper == "" {
		return nil, nil
	}
	ms, err := Mounts()
	if err != nil {
		return nil, err
	}
	var out []string
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		if m.FSType != "overlay" {
			continue
		}
		for _, o := range strings.Split(m.SuperOpts, ",") {
			if o == "upperdir="+upper {
				out = append(out, m.MountPoint)
				break
			}
		}
	}
	return out, nil
}
