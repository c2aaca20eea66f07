package authz

import (
	"crypto/x509"
	"time"
)

// SAMLConfig says which SAML assertions ExchangeSAML accepts.
type SAMLConfig struct {
	// Certificates sign assertions (the SSO domain's signing certificates).
	Certificates []*x509.Certificate
	// Audience must be one of the assertion's AudienceRestriction values.
	Audience string
	// Groups are added to every SSO user (e.g. to bind SSO users as a group).
	Groups []string
	// Leeway tolerates clock skew (default 1m).
	Leeway time.Duration
}
