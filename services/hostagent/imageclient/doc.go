// Package imageclient connects the host agent to the image service: New
// implements hostagent.Images over the internal gRPC API
// (pacific.internal.image.v1.ImageService), so the agent and the image
// service can run (and be upgraded) as separate processes; NewLocal calls
// an image service in the agent's own process directly (decision 0037).
package imageclient
