// Command imagepull measures how fast the image service pulls and unpacks
// a large image, against skopeo + GNU tar, in one run on this machine.
//
// It builds a deterministic ~200 MB (uncompressed) image inside the run —
// by default one layer (-layers 3: base, dependencies, app), ~8,000 files
// of mixed sizes: text, small binary data, library-like code and
// incompressible assets, with directories, symlinks and hardlinks; gzip
// about 71 MB — and pushes it to a loopback registry (internal/devregistry)
// in this process. Then, on the same filesystem, with a fresh target for
// each side and each round, after an unmeasured warm-up round, alternating
// which side goes first:
//
//   - OURS: imagesvc.New on an empty cache + Pull (resolve, fetch, verify
//     both digests, unpack every layer in the image service's own streaming
//     pipeline, commit).
//   - BARE: `skopeo copy docker://<registry>/<image> dir:<tmp>
//     --src-tls-verify=false`, then `tar xzf` (GNU tar) of each layer blob
//     into a fresh directory, one layer after another.
//
// It prints every round with the phases each side shows, the medians and
// reference figures (Go fetch + sha256 alone, gunzip alone), and ends with
//
//	RESULT imagepull_ratio=<bare_time/our_time>
//
// (medians; ≥ 1.0 means we are at least as fast). See README.md for what
// it needs.
package main
