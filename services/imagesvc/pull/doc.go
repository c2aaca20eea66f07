// Package pull is the image service's registry client.
//
// It is built on go-containerregistry's transport (ping, token exchange,
// basic and bearer auth) but fetches manifests and blobs itself so that it
// can verify every digest, bound every read and classify every failure:
//
//   - [Client.Resolve] resolves a reference (tag or digest) to the manifest of
//     the wanted platform, walking an OCI index or a Docker manifest list.
//     Manifests fetched by digest are checked against that digest.
//   - [Session.Config] fetches and verifies the image config.
//   - [Session.Blob] opens a layer blob; the caller hashes the stream (the
//     image service streams it straight into the extractor).
//   - [KeychainFromDockerConfigs] turns per-namespace pull secrets (docker
//     config JSON, both the "auths" and the legacy .dockercfg layout) into a
//     keychain.
//
// Transport policy: plain HTTP is used only for loopback registries
// (127.0.0.0/8, ::1, localhost) and for registries listed in
// Options.InsecureRegistries. Every other request — including redirects to
// blob storage and token servers — must be HTTPS; a plain-HTTP request to
// any other host is refused by the transport itself, so no code path (for
// instance go-containerregistry's habit of trying HTTP for RFC 1918
// addresses) can downgrade.
//
// Errors are classified with the sentinels [ErrNotFound], [ErrUnauthorized],
// [ErrUnreachable] and [ErrDigestMismatch] (use errors.Is); the registry's
// own message is kept in the error text.
package pull
