// Package grpcapi serves the image service's internal gRPC API
// (pacific.internal.image.v1.ImageService) to the host agent, and maps its
// errors to gRPC codes carrying a machine-readable reason (ErrorInfo) such as
// ImageNotFound, so the agent can set ErrImagePull/ImagePullBackOff with the
// registry's message.
package grpcapi
