// Package imageclient is the host agent's side of the image service's
// internal gRPC API: it implements hostagent.Images over
// pacific.internal.image.v1.ImageService, so the agent and the image service
// can run (and be upgraded) as separate processes.
package imageclient
