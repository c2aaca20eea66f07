package hostagent

import (
	"context"
	"errors"
)

// Images is what the agent needs from the host's image service: pull an
// image, find a cached one, and assemble and tear down a container's root
// filesystem. Implementations must be safe for concurrent use; concurrent
// pulls of one image should share one download.
type Images interface {
	// Pull resolves req.Ref with the registry (even when the image is
	// cached) and fetches whatever is missing. Errors carry the registry's
	// message; it is shown to users as is.
	Pull(ctx context.Context, req PullRequest) (Image, error)
	// Lookup returns a cached image without contacting the registry, or an
	// error wrapping ErrImageNotPresent.
	Lookup(ctx context.Context, ref string) (Image, error)
	// Mount assembles the root filesystem of containerID from the cached
	// image digest at target (made if missing). Mounting again at the same
	// target is a no-op.
	Mount(ctx context.Context, imageDigest, containerID, target string) error
	// Unmount removes the root filesystem of containerID and everything
	// Mount made for it. Unknown containers are not an error.
	Unmount(ctx context.Context, containerID string) error
}

// BudgetReporter is optionally implemented by Images: when the image cache
// cannot stay inside its disk budget, the Host gets condition
// ImageBudgetExceeded with the message.
type BudgetReporter interface {
	BudgetExceeded() (exceeded bool, message string)
}

// ErrImageNotPresent is wrapped by Images.Lookup when the image is not
// cached (and by the agent for imagePullPolicy Never).
var ErrImageNotPresent = errors.New("image not present on this host")

// PullRequest asks for one image.
type PullRequest struct {
	// Ref is the image reference as written in the pod spec.
	Ref string
	// Namespace is the pod's namespace (for logs and pull secrets).
	Namespace string
	// PullSecrets are docker config JSON documents, tried in order.
	PullSecrets [][]byte
	// Progress, if set, receives progress; it is never called concurrently
	// nor after Pull returns, and must not block.
	Progress func(PullProgress)
}

// PullProgress reports one layer's progress (Layer == "" for image-level
// events).
type PullProgress struct {
	Layer      string
	LayerCount int
	// Done and Total are compressed bytes of the layer.
	Done, Total int64
	Cached      bool
	// Finished: the layer is verified and unpacked.
	Finished bool
}

// Image is a cached image.
type Image struct {
	// Digest identifies the image (the platform manifest digest).
	Digest string
	// Size is the compressed size of its layers (for events).
	Size   int64
	Config ImageConfig
}

// ImageConfig is the part of the OCI image config a container starts with.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	// Env is KEY=VALUE.
	Env        []string
	WorkingDir string
	// User is "uid[:gid]" or "name[:group]" as in the image config.
	User string
}
