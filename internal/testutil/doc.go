// Package testutil holds helpers shared by tests that need the real host:
// root, a current runc and a static busybox. Such tests skip on a laptop
// without them but fail when CI=true, because CI must exercise them. It also holds the test binary's in-memory
// CA (CA, Bundle, ClientTLS, DialTLS) for TLS between test components.
package testutil
