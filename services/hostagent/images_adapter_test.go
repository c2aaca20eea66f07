package hostagent

import (
	"context"
	"errors"
	"fmt"

	"github.com/openpacific/pacific/services/imagesvc"
)

// imageService adapts the real image service (services/imagesvc, in
// process) to Images. cmd/pacific needs the same few lines where it wires
// the agent to the image service; the agent itself never imports another
// service.
type imageService struct{ s *imagesvc.Service }

var (
	_ Images         = imageService{}
	_ BudgetReporter = imageService{}
)

func (i imageService) Pull(ctx context.Context, req PullRequest) (Image, error) {
	var progress func(imagesvc.Progress)
	if req.Progress != nil {
		progress = func(p imagesvc.Progress) {
			req.Progress(PullProgress{Layer: p.Layer, LayerCount: p.LayerCount, Done: p.Done, Total: p.Total, Cached: p.Cached, Finished: p.Phase == imagesvc.PhaseDone})
		}
	}
	img, err := i.s.Pull(ctx, imagesvc.PullRequest{Ref: req.Ref, Namespace: req.Namespace, PullSecrets: req.PullSecrets, Progress: progress})
	if err != nil {
		return Image{}, err
	}
	return convertImage(img), nil
}

func (i imageService) Lookup(_ context.Context, ref string) (Image, error) {
	img, err := i.s.Lookup(ref)
	if errors.Is(err, imagesvc.ErrImageNotCached) {
		return Image{}, fmt.Errorf("%w: %w", ErrImageNotPresent, err)
	}
	if err != nil {
		return Image{}, err
	}
	return convertImage(img), nil
}

func (i imageService) Mount(ctx context.Context, digest, containerID, target string) error {
	_, err := i.s.Mount(ctx, digest, containerID, target)
	return err
}

func (i imageService) Unmount(ctx context.Context, containerID string) error {
	return i.s.Unmount(ctx, containerID)
}

func (i imageService) BudgetExceeded() (bool, string) {
	b := i.s.Budget()
	return b.Exceeded, b.Message
}

func convertImage(img *imagesvc.Image) Image {
	out := Image{Digest: img.Digest}
	for _, l := range img.Layers {
		out.Size += l.Size
	}
	if img.Config != nil {
		c := img.Config.Config
		out.Config = ImageConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User}
	}
	return out
}
