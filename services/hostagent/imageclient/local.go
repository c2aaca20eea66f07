package imageclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/openpacific/pacific/services/hostagent"
	"github.com/openpacific/pacific/services/imagesvc"
)

// Local adapts an image service running in the agent's own process to
// hostagent.Images: the same calls as over gRPC, without the loopback
// TLS connection, protobuf and a server goroutine per call (decision 0037).
type Local struct {
	svc *imagesvc.Service
}

var (
	_ hostagent.Images         = Local{}
	_ hostagent.BudgetReporter = Local{}
)

// NewLocal wraps an image service of this process.
func NewLocal(svc *imagesvc.Service) Local { return Local{svc: svc} }

// Pull implements hostagent.Images.
func (l Local) Pull(ctx context.Context, req hostagent.PullRequest) (hostagent.Image, error) {
	var progress func(imagesvc.Progress)
	if req.Progress != nil {
		progress = func(p imagesvc.Progress) {
			req.Progress(hostagent.PullProgress{
				Layer: p.Layer, LayerCount: p.LayerCount, Done: p.Done, Total: p.Total,
				Cached: p.Cached, Finished: p.Phase == imagesvc.PhaseDone && p.Layer != "",
			})
		}
	}
	img, err := l.svc.Pull(ctx, imagesvc.PullRequest{Ref: req.Ref, Namespace: req.Namespace, PullSecrets: req.PullSecrets, Progress: progress})
	if err != nil {
		return hostagent.Image{}, err
	}
	return localImage(img), nil
}

// Lookup implements hostagent.Images.
func (l Local) Lookup(_ context.Context, ref string) (hostagent.Image, error) {
	img, err := l.svc.Lookup(ref)
	if errors.Is(err, imagesvc.ErrImageNotCached) {
		return hostagent.Image{}, fmt.Errorf("%w: %w", hostagent.ErrImageNotPresent, err)
	}
	if err != nil {
		return hostagent.Image{}, fmt.Errorf("look up %s: %w", ref, err)
	}
	return localImage(img), nil
}

// Mount implements hostagent.Images.
func (l Local) Mount(ctx context.Context, imageDigest, containerID, target string) error {
	if _, err := l.svc.Mount(ctx, imageDigest, containerID, target); err != nil {
		return fmt.Errorf("mount rootfs of %s: %w", containerID, err)
	}
	return nil
}

// Unmount implements hostagent.Images.
func (l Local) Unmount(ctx context.Context, containerID string) error {
	if err := l.svc.Unmount(ctx, containerID); err != nil {
		return fmt.Errorf("unmount rootfs of %s: %w", containerID, err)
	}
	return nil
}

// BudgetExceeded implements hostagent.BudgetReporter.
func (l Local) BudgetExceeded() (bool, string) {
	b := l.svc.Budget()
	return b.Exceeded, b.Message
}

func localImage(img *imagesvc.Image) hostagent.Image {
	out := hostagent.Image{Digest: img.Digest}
	for _, layer := range img.Layers {
		out.Size += layer.Size
	}
	if img.Config != nil {
		c := img.Config.Config
		out.Config = hostagent.ImageConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User}
	}
	return out
}
