package authz

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
)

// SAMLConfig says which SAML assertions ExchangeSAML accepts.
type SAMLConfig struct {
	// Certificates sign assertions (the SSO domain's signing certificates).
	Certificates []*x509.Certificate
	// Audience must be one of the assertion's AudienceRestriction values
	// (empty: any audience, for SSO servers that set none).
	Audience string
	// Groups are added to every SSO user (to bind SSO users as a group).
	Groups []string
	// Leeway tolerates clock skew (default 1m).
	Leeway time.Duration
}

// ParseCertificatesPEM reads PEM certificates (an SSO signing chain).
func ParseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return out, nil
}

const (
	samlNS = "urn:oasis:names:tc:SAML:2.0:assertion"
	// vSphere SSO puts group memberships in this attribute.
	vsphereGroupAttr = "http://rsa.com/schemas/attr-names/2009/01/GroupIdentity"
	bearerMethod     = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	// maxAssertionBytes bounds what is parsed.
	maxAssertionBytes = 256 << 10
)

// samlIdentity is what a verified assertion says.
type samlIdentity struct {
	id       string
	user     string
	groups   []string
	notAfter time.Time
}

// errSAML is every refusal; the reason is only logged.
var errSAML = status.Error(codes.Unauthenticated, "invalid SAML token")

// verifySAML checks an assertion's signature against the configured
// certificates and reads subject and conditions only from the element the
// signature covers, so a wrapped (signature-wrapping) document cannot
// smuggle another subject in.
func verifySAML(cfg *SAMLConfig, raw []byte, now time.Time) (samlIdentity, error) {
	var none samlIdentity
	if len(raw) > maxAssertionBytes {
		return none, errors.New("assertion too large")
	}
	if strings.Contains(string(raw), "<!DOCTYPE") || strings.Contains(string(raw), "<!ENTITY") {
		return none, errors.New("DTDs are not allowed")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return none, fmt.Errorf("parse XML: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "Assertion" || root.NamespaceURI() != samlNS {
		return none, errors.New("the document is not a SAML 2.0 Assertion")
	}
	// Exactly one assertion: a second one nested anywhere is the classic
	// wrapping attack.
	if n := len(doc.FindElements("//Assertion")); n != 1 {
		return none, fmt.Errorf("%d Assertion elements, want 1", n)
	}
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: cfg.Certificates})
	vctx.Clock = dsig.NewFakeClockAt(now)
	signed, err := vctx.Validate(root)
	if err != nil {
		return none, fmt.Errorf("signature: %w", err)
	}
	// Validate returns the element its reference covered; it must be the
	// whole assertion (same ID as the root we parsed).
	if signed.Tag != "Assertion" || signed.SelectAttrValue("ID", "") == "" || signed.SelectAttrValue("ID", "") != root.SelectAttrValue("ID", "-") {
		return none, errors.New("the signature does not cover the assertion")
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = time.Minute
	}
	cond := child(signed, "Conditions")
	if cond == nil {
		return none, errors.New("no Conditions")
	}
	notBefore, err1 := time.Parse(time.RFC3339, cond.SelectAttrValue("NotBefore", ""))
	notAfter, err2 := time.Parse(time.RFC3339, cond.SelectAttrValue("NotOnOrAfter", ""))
	if err1 != nil || err2 != nil {
		return none, errors.New("Conditions need NotBefore and NotOnOrAfter")
	}
	if now.Add(leeway).Before(notBefore) {
		return none, errors.New("not yet valid")
	}
	if !now.Add(-leeway).Before(notAfter) {
		return none, errors.New("expired")
	}
	if cfg.Audience != "" {
		ok := false
		for _, ar := range children(cond, "AudienceRestriction") {
			for _, a := range children(ar, "Audience") {
				if strings.TrimSpace(a.Text()) == cfg.Audience {
					ok = true
				}
			}
		}
		if !ok {
			return none, errors.New("wrong audience")
		}
	}
	subject := child(signed, "Subject")
	nameID := child(subject, "NameID")
	user := ""
	if nameID != nil {
		user = strings.TrimSpace(nameID.Text())
	}
	if user == "" || strings.HasPrefix(user, "system:") || len(user) > 256 {
		return none, errors.New("no usable NameID")
	}
	bearer := false
	for _, sc := range children(subject, "SubjectConfirmation") {
		if sc.SelectAttrValue("Method", "") == bearerMethod {
			bearer = true
		}
	}
	if !bearer {
		return none, errors.New("not a bearer assertion")
	}
	groups := append([]string(nil), cfg.Groups...)
	for _, st := range children(signed, "AttributeStatement") {
		for _, attr := range children(st, "Attribute") {
			if attr.SelectAttrValue("Name", "") != vsphereGroupAttr {
				continue
			}
			for _, v := range children(attr, "AttributeValue") {
				if g := strings.TrimSpace(v.Text()); g != "" && !strings.HasPrefix(g, "system:") {
					groups = append(groups, g)
				}
			}
		}
	}
	return samlIdentity{id: signed.SelectAttrValue("ID", ""), user: user, groups: groups, notAfter: notAfter}, nil
}

func child(el *etree.Element, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == samlNS {
			return c
		}
	}
	return nil
}

func children(el *etree.Element, tag string) []*etree.Element {
	if el == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == samlNS {
			out = append(out, c)
		}
	}
	return out
}

// ExchangeSAML implements AuthService: a signed, current bearer assertion
// for this audience, used once, buys tokens for its subject.
func (s *Service) ExchangeSAML(ctx context.Context, req *authv1.ExchangeSAMLRequest) (*authv1.ExchangeSAMLResponse, error) {
	if s.cfg.SSO == nil {
		return nil, status.Error(codes.FailedPrecondition, "SSO is not configured on this server (pacific apiserver --sso-cert)")
	}
	id, err := verifySAML(s.cfg.SSO, req.GetAssertion(), s.cfg.Now())
	if err != nil {
		s.logger.InfoContext(ctx, "SAML token refused", "reason", err.Error())
		return nil, errSAML
	}
	// Replay: an assertion ID is accepted once while it is valid (and
	// never after, by its conditions).
	exp := fmt.Sprint(id.notAfter.Add(time.Hour).Unix())
	if err := s.cfg.Records.CreateRecord(ctx, collSAMLSeen, tokenHash(id.id), []byte(exp)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			s.logger.InfoContext(ctx, "SAML token refused", "reason", "replayed", "user", id.user)
			return nil, errSAML
		}
		return nil, err
	}
	t, err := s.Issue(ctx, id.user, id.groups, 0)
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "login", "user", id.user, "method", "saml")
	return &authv1.ExchangeSAMLResponse{Tokens: t}, nil
}
