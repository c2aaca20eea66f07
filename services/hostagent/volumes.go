package hostagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/internal/mountinfo"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/quantity"
)

// ensureVolumes prepares the pod's volumes on the host and maps their names
// to host paths: emptyDir is a directory under the pod's dir (a tmpfs for
// medium Memory, bounded by sizeLimit), hostPath is used as is.
func (a *Agent) ensureVolumes(_ context.Context, pod *corev1.Pod) (map[string]string, error) {
	uid := pod.GetMetadata().GetUid()
	out := map[string]string{}
	for _, v := range pod.GetSpec().GetVolumes() {
		switch {
		case v.GetEmptyDir() != nil:
			dir := a.volumeDir(uid, v.GetName())
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.GetName(), err)
			}
			// Like Kubernetes: world-writable so any container user can use it.
			if err := os.Chmod(dir, 0o777); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.GetName(), err)
			}
			if v.GetEmptyDir().GetMedium() == "Memory" {
				if err := mountTmpfs(dir, v.GetEmptyDir().GetSizeLimit()); err != nil {
					return nil, fmt.Errorf("volume %q: %w", v.GetName(), err)
				}
			}
			out[v.GetName()] = dir
		case v.GetHostPath() != nil:
			p := filepath.Clean(v.GetHostPath().GetPath())
			if !filepath.IsAbs(p) {
				return nil, fmt.Errorf("volume %q: hostPath %q is not absolute", v.GetName(), v.GetHostPath().GetPath())
			}
			out[v.GetName()] = p
		}
	}
	return out, nil
}

// mountTmpfs mounts a tmpfs on dir unless one is there already.
func mountTmpfs(dir, sizeLimit string) error {
	mps, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for _, m := range mps {
		if m == dir {
			return nil
		}
	}
	opts := "mode=0777"
	if sizeLimit != "" {
		q, err := quantity.Parse(sizeLimit)
		if err != nil {
			return fmt.Errorf("sizeLimit %q: %w", sizeLimit, err)
		}
		opts += fmt.Sprintf(",size=%d", q.Value())
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// removeVolumes unmounts whatever is mounted under the pod's volumes and
// removes them.
func (a *Agent) removeVolumes(uid string) error {
	dir := filepath.Join(a.podDir(uid), "volumes")
	mps, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	// Deepest first.
	for i := len(mps) - 1; i >= 0; i-- {
		if err := unix.Unmount(mps[i], unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", mps[i], err)
		}
	}
	return removeUnmounted(dir)
}

// mountsUnder lists the mount points at or below dir, in mount order.
func mountsUnder(dir string) ([]string, error) {
	// Nothing is mounted below a dir that is not there: skip reading the
	// host's mount table (a pod's clean-up asks for its volumes dir and
	// its state-dir dir, which most pods don't have).
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	return mountinfo.Under(mounts, filepath.Clean(dir)), nil
}
