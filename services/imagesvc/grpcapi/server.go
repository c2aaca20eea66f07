package grpcapi

import (
	"context"
	"errors"
	"path/filepath"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	imagev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/image/v1"
	"github.com/openpacific/pacific/services/imagesvc"
)

// ErrorDomain marks ErrorInfo details from this service.
const ErrorDomain = "image.pacific.dev"

// Server implements imagev1.ImageServiceServer.
type Server struct {
	imagev1.UnimplementedImageServiceServer
	svc *imagesvc.Service
}

// New serves svc.
func New(svc *imagesvc.Service) *Server { return &Server{svc: svc} }

// Pull implements ImageService.
func (s *Server) Pull(req *imagev1.PullRequest, stream imagev1.ImageService_PullServer) error {
	if req.GetRef() == "" {
		return status.Error(codes.InvalidArgument, "ref: required")
	}
	progress := make(chan imagesvc.Progress, 64)
	done := make(chan struct{})
	var sendErr error
	go func() {
		defer close(done)
		for p := range progress {
			if sendErr != nil {
				continue
			}
			sendErr = stream.Send(&imagev1.PullResponse{Msg: &imagev1.PullResponse_Progress{Progress: &imagev1.Progress{
				Ref: p.Ref, Image: p.Image, Phase: string(p.Phase), Layer: p.Layer,
				LayerIndex: int32(p.LayerIndex), LayerCount: int32(p.LayerCount),
				Done: p.Done, Total: p.Total, Cached: p.Cached, Attempt: int32(p.Attempt),
			}}})
		}
	}()
	img, err := s.svc.Pull(stream.Context(), imagesvc.PullRequest{
		Ref: req.GetRef(), Namespace: req.GetNamespace(), PullSecrets: req.GetPullSecrets(),
		Progress: func(p imagesvc.Progress) {
			// Never block the pull on a slow client: drop intermediate
			// progress when the buffer is full.
			select {
			case progress <- p:
			default:
			}
		},
	})
	close(progress)
	<-done
	if err != nil {
		return toStatus(err)
	}
	if sendErr != nil {
		return sendErr
	}
	return stream.Send(&imagev1.PullResponse{Msg: &imagev1.PullResponse_Image{Image: toProto(img)}})
}

// Mount implements ImageService.
func (s *Server) Mount(ctx context.Context, req *imagev1.MountRequest) (*imagev1.MountResponse, error) {
	switch {
	case req.GetImageDigest() == "":
		return nil, status.Error(codes.InvalidArgument, "imageDigest: required")
	case req.GetContainerId() == "":
		return nil, status.Error(codes.InvalidArgument, "containerId: required")
	case !filepath.IsAbs(req.GetTarget()) || filepath.Clean(req.GetTarget()) != req.GetTarget():
		return nil, status.Errorf(codes.InvalidArgument, "target %q: must be a clean absolute path", req.GetTarget())
	}
	if _, err := s.svc.Mount(ctx, req.GetImageDigest(), req.GetContainerId(), req.GetTarget()); err != nil {
		return nil, toStatus(err)
	}
	return &imagev1.MountResponse{}, nil
}

// Unmount implements ImageService.
func (s *Server) Unmount(ctx context.Context, req *imagev1.UnmountRequest) (*imagev1.UnmountResponse, error) {
	if req.GetContainerId() == "" {
		return nil, status.Error(codes.InvalidArgument, "containerId: required")
	}
	if err := s.svc.Unmount(ctx, req.GetContainerId()); err != nil && !errors.Is(err, imagesvc.ErrContainerNotFound) {
		return nil, toStatus(err)
	}
	return &imagev1.UnmountResponse{}, nil
}

// LookupImage implements ImageService.
func (s *Server) LookupImage(ctx context.Context, req *imagev1.LookupImageRequest) (*imagev1.LookupImageResponse, error) {
	if req.GetRef() == "" {
		return nil, status.Error(codes.InvalidArgument, "ref: required")
	}
	img, err := s.svc.Lookup(req.GetRef())
	if err != nil {
		return nil, toStatus(err)
	}
	return &imagev1.LookupImageResponse{Image: toProto(img)}, nil
}

// ListImages implements ImageService.
func (s *Server) ListImages(ctx context.Context, _ *imagev1.ListImagesRequest) (*imagev1.ListImagesResponse, error) {
	imgs, err := s.svc.List()
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &imagev1.ListImagesResponse{}
	for _, img := range imgs {
		resp.Images = append(resp.Images, toProto(img))
	}
	return resp, nil
}

// RemoveImage implements ImageService.
func (s *Server) RemoveImage(ctx context.Context, req *imagev1.RemoveImageRequest) (*imagev1.RemoveImageResponse, error) {
	if req.GetDigest() == "" {
		return nil, status.Error(codes.InvalidArgument, "digest: required")
	}
	if err := s.svc.Remove(ctx, req.GetDigest()); err != nil {
		return nil, toStatus(err)
	}
	return &imagev1.RemoveImageResponse{}, nil
}

// GetStatus implements ImageService.
func (s *Server) GetStatus(ctx context.Context, _ *imagev1.GetStatusRequest) (*imagev1.GetStatusResponse, error) {
	b := s.svc.Budget()
	return &imagev1.GetStatusResponse{BudgetBytes: b.Budget, UsedBytes: b.Used, Exceeded: b.Exceeded, Message: b.Message}, nil
}

func toProto(img *imagesvc.Image) *imagev1.Image {
	out := &imagev1.Image{Digest: img.Digest, Refs: img.Refs, DiskUsage: img.DiskUsage}
	for _, l := range img.Layers {
		out.Size += l.Size
	}
	if !img.LastUsed.IsZero() {
		out.LastUsed = timestamppb.New(img.LastUsed)
	}
	if img.Config != nil {
		c := img.Config.Config
		out.Entrypoint, out.Cmd, out.Env, out.WorkingDir, out.User = c.Entrypoint, c.Cmd, c.Env, c.WorkingDir, c.User
	}
	return out
}

// codeFor is the error table of this service.
func codeFor(err error) codes.Code {
	switch {
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, imagesvc.ErrNotFound), errors.Is(err, imagesvc.ErrImageNotCached), errors.Is(err, imagesvc.ErrContainerNotFound):
		return codes.NotFound
	case errors.Is(err, imagesvc.ErrUnauthorized):
		return codes.PermissionDenied
	case errors.Is(err, imagesvc.ErrUnreachable):
		return codes.Unavailable
	case errors.Is(err, imagesvc.ErrBudgetExceeded):
		return codes.ResourceExhausted
	case errors.Is(err, imagesvc.ErrInvalidReference), errors.Is(err, imagesvc.ErrInvalidPullSecret):
		return codes.InvalidArgument
	case errors.Is(err, imagesvc.ErrInUse):
		return codes.FailedPrecondition
	case errors.Is(err, imagesvc.ErrDigestMismatch), errors.Is(err, imagesvc.ErrUnsafeLayer), errors.Is(err, imagesvc.ErrInvalidLayer),
		errors.Is(err, imagesvc.ErrLayerTooLarge), errors.Is(err, imagesvc.ErrUnsupported):
		return codes.FailedPrecondition
	}
	return codes.Internal
}

// toStatus keeps the error text (it carries the registry's message, which the
// pod's events must show) and adds the reason as ErrorInfo.
func toStatus(err error) error {
	st := status.New(codeFor(err), err.Error())
	if withInfo, e := st.WithDetails(&errdetails.ErrorInfo{Reason: imagesvc.Reason(err), Domain: ErrorDomain}); e == nil {
		st = withInfo
	}
	return st.Err()
}
