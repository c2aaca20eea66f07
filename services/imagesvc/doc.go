// Package imagesvc is the per-host image service: it pulls images from OCI
// and Docker v2 registries, verifies every digest, unpacks layers safely
// into a content-addressed cache shared by all pods on the host, assembles
// container root filesystems with overlayfs, reports progress and keeps the
// cache inside a disk budget.
//
// Pull pipeline (per layer, several layers in parallel): the blob is
// streamed from the registry through a sha256 hasher, a decompressor (gzip
// or zstd, sniffed) and a second hasher (the diffID) on one goroutine, and
// through a bounded read-ahead (a few chunks) into the safe extractor
// ([extract]) on another, so that decompression overlaps file creation,
// into a temporary directory under the cache. Only when the
// stream ends and both digests and the size match is the directory renamed
// into place; otherwise it is removed and the download retried (bounded
// attempts, exponential backoff). Layers are extracted while they download,
// so the "downloading" phase includes unpacking; "verifying" and
// "extracting" (finishing and committing the tree) follow it.
//
// Concurrent pulls of one image, and of one layer across images, share a
// single download; each caller still resolves the reference with its own
// credentials, so a cached private image is only handed to callers the
// registry lets read its manifest.
//
// Root filesystems: [Service.Mount] mounts overlayfs (layers as lowerdirs,
// a per-container upper and work directory under the cache) when running
// as root with overlayfs available. Otherwise — and only then — it falls
// back to copying the layers into the target (slow, and a full copy per
// container; meant for unprivileged development). [Service.Prepare]
// returns the lowerdir list so the host agent can mount it itself (with
// [OverlayMount], which switches to the new mount API when the layers do
// not fit in mount(2)'s one-page option string);
// [Service.Unmount] unmounts whatever is mounted on the container's upper
// directory and removes all of the container's state.
//
// Errors are classified by sentinels (errors.Is): [ErrNotFound],
// [ErrUnauthorized], [ErrUnreachable], [ErrDigestMismatch],
// [ErrBudgetExceeded], [ErrUnsafeLayer] and others; [Reason] maps an error
// to a short CamelCase reason for Pod events.
//
// Subpackages: [pull] (registry client, auth, transport policy), [extract]
// (safe layer extraction), [cache] (content-addressed store, LRU GC).
// Linux only.
package imagesvc
