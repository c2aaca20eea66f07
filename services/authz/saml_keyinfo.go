package authz

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// EmbeddedSigningCertificate returns the certificate an assertion's
// signature carries in its KeyInfo. It proves nothing: the exchange never
// trusts it. It exists so `pacific dev --sts` can pin the certificate of
// the STS simulator it started itself.
func EmbeddedSigningCertificate(raw []byte) (*x509.Certificate, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, fmt.Errorf("parse XML: %w", err)
	}
	if doc.Root() == nil {
		return nil, errors.New("empty document")
	}
	el := doc.Root().FindElement("./Signature/KeyInfo/X509Data/X509Certificate")
	if el == nil {
		return nil, errors.New("the assertion's signature carries no X509Certificate")
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
	if err != nil {
		return nil, fmt.Errorf("X509Certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("X509Certificate: %w", err)
	}
	return cert, nil
}
