package imageclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/internal/apierr"
	imagev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/image/v1"
	"github.com/openpacific/pacific/services/hostagent"
)

// errorDomain is the image service's ErrorInfo domain.
const errorDomain = "image.pacific.dev"

// Client adapts the gRPC API to hostagent.Images.
type Client struct {
	api imagev1.ImageServiceClient
}

var _ hostagent.Images = (*Client)(nil)

// New wraps a connected ImageService client.
func New(api imagev1.ImageServiceClient) *Client { return &Client{api: api} }

// PullError is a failed pull with the image service's reason (e.g.
// ImageNotFound) and message (the registry's words).
type PullError struct {
	Reason string
	Err    error
}

func (e *PullError) Error() string { return status.Convert(e.Err).Message() }
func (e *PullError) Unwrap() error { return e.Err }

// Pull implements hostagent.Images.
func (c *Client) Pull(ctx context.Context, req hostagent.PullRequest) (hostagent.Image, error) {
	stream, err := c.api.Pull(ctx, &imagev1.PullRequest{Ref: req.Ref, Namespace: req.Namespace, PullSecrets: req.PullSecrets})
	if err != nil {
		return hostagent.Image{}, pullErr(err)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return hostagent.Image{}, fmt.Errorf("pull %s: the image service ended the stream without an image", req.Ref)
		}
		if err != nil {
			return hostagent.Image{}, pullErr(err)
		}
		if p := msg.GetProgress(); p != nil && req.Progress != nil {
			req.Progress(hostagent.PullProgress{
				Layer: p.GetLayer(), LayerCount: int(p.GetLayerCount()), Done: p.GetDone(), Total: p.GetTotal(),
				Cached: p.GetCached(), Finished: p.GetPhase() == "done" && p.GetLayer() != "",
			})
		}
		if img := msg.GetImage(); img != nil {
			return toImage(img), nil
		}
	}
}

// Lookup implements hostagent.Images.
func (c *Client) Lookup(ctx context.Context, ref string) (hostagent.Image, error) {
	resp, err := c.api.LookupImage(ctx, &imagev1.LookupImageRequest{Ref: ref})
	if status.Code(err) == codes.NotFound {
		return hostagent.Image{}, fmt.Errorf("%s: %w", ref, hostagent.ErrImageNotPresent)
	}
	if err != nil {
		return hostagent.Image{}, fmt.Errorf("look up %s: %w", ref, err)
	}
	return toImage(resp.GetImage()), nil
}

// Mount implements hostagent.Images.
func (c *Client) Mount(ctx context.Context, imageDigest, containerID, target string) error {
	_, err := c.api.Mount(ctx, &imagev1.MountRequest{ImageDigest: imageDigest, ContainerId: containerID, Target: target})
	if err != nil {
		return fmt.Errorf("mount rootfs of %s: %w", containerID, err)
	}
	return nil
}

// Unmount implements hostagent.Images.
func (c *Client) Unmount(ctx context.Context, containerID string) error {
	if _, err := c.api.Unmount(ctx, &imagev1.UnmountRequest{ContainerId: containerID}); err != nil {
		return fmt.Errorf("unmount rootfs of %s: %w", containerID, err)
	}
	return nil
}

// BudgetExceeded implements hostagent.BudgetReporter.
func (c *Client) BudgetExceeded() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.api.GetStatus(ctx, &imagev1.GetStatusRequest{})
	if err != nil {
		return false, ""
	}
	return resp.GetExceeded(), resp.GetMessage()
}

func pullErr(err error) error {
	return &PullError{Reason: apierr.ReasonOf(err, errorDomain), Err: err}
}

func toImage(img *imagev1.Image) hostagent.Image {
	return hostagent.Image{
		Digest: img.GetDigest(),
		Size:   img.GetSize(),
		Config: hostagent.ImageConfig{
			Entrypoint: img.GetEntrypoint(), Cmd: img.GetCmd(), Env: img.GetEnv(),
			WorkingDir: img.GetWorkingDir(), User: img.GetUser(),
		},
	}
}
