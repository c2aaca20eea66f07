// Package pki is Pacific's internal certificate authority: an ECDSA P-256
// CA kept in a directory (ca.crt, ca.key 0600), certificates for service
// and host identities (CN = user, O = groups, e.g. CN=system:host:h1,
// O=system:hosts), and the TLS configurations every internal connection
// uses (TLS 1.3, peers verified against the CA; plaintext is never
// accepted). See docs/decisions/0024-internal-pki-and-mtls.md.
package pki
