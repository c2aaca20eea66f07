// Package authz is the token service: it turns a local user's password or
// a vSphere SSO SAML assertion into a short-lived JWT (EdDSA, kid header,
// iss/aud/exp/nbf/iat/jti) plus a one-time refresh token, publishes the
// verification keys as a JWKS, rotates signing keys, revokes tokens on
// logout, and authenticates bearer tokens for the gRPC servers
// (Authenticator).
//
// It keeps its state (keys, users with argon2id hashes, refresh tokens,
// revocations, seen SAML assertion IDs) in Records, which the API server
// backs with private keys of its replicated store: never served by the
// resource API, never published on the change feed.
package authz
