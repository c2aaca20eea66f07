package authz

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
)

// ssoSigner is a test SSO domain: a key and self-signed certificate that
// sign assertions the way vSphere SSO does (enveloped XML-DSig, RSA-SHA256,
// exclusive c14n).
type ssoSigner struct {
	cert *x509.Certificate
	ctx  *dsig.SigningContext
}

func newSSOSigner(t *testing.T, now time.Time) *ssoSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ssoserverSign"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ks := dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
	ctx := dsig.NewDefaultSigningContext(&ks)
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	return &ssoSigner{cert: cert, ctx: ctx}
}

type assertionSpec struct {
	id, user, audience  string
	notBefore, notAfter time.Time
	groups              []string
	method              string
}

func (a assertionSpec) element() *etree.Element {
	el := etree.NewElement("saml2:Assertion")
	el.CreateAttr("xmlns:saml2", samlNS)
	el.CreateAttr("ID", a.id)
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", a.notBefore.UTC().Format(time.RFC3339))
	el.CreateElement("saml2:Issuer").SetText("https://sso.example/websso/SAML2/Metadata/vsphere.local")
	subj := el.CreateElement("saml2:Subject")
	subj.CreateElement("saml2:NameID").SetText(a.user)
	method := a.method
	if method == "" {
		method = bearerMethod
	}
	subj.CreateElement("saml2:SubjectConfirmation").CreateAttr("Method", method)
	cond := el.CreateElement("saml2:Conditions")
	cond.CreateAttr("NotBefore", a.notBefore.UTC().Format(time.RFC3339))
	cond.CreateAttr("NotOnOrAfter", a.notAfter.UTC().Format(time.RFC3339))
	cond.CreateElement("saml2:AudienceRestriction").CreateElement("saml2:Audience").SetText(a.audience)
	attr := el.CreateElement("saml2:AttributeStatement").CreateElement("saml2:Attribute")
	attr.CreateAttr("Name", vsphereGroupAttr)
	for _, g := range a.groups {
		attr.CreateElement("saml2:AttributeValue").SetText(g)
	}
	return el
}

func (s *ssoSigner) sign(t *testing.T, a assertionSpec) *etree.Element {
	t.Helper()
	signed, err := s.ctx.SignEnveloped(a.element())
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func xmlOf(t *testing.T, el *etree.Element) []byte {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newSSOService(t *testing.T, signer *ssoSigner, clk *clock) *Service {
	t.Helper()
	s, err := New(Config{Records: newMemRecords(), Now: clk.now, Logger: slog.New(slog.DiscardHandler),
		SSO: &SAMLConfig{Certificates: []*x509.Certificate{signer.cert}, Audience: "pacific", Groups: []string{"sso-users"}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExchangeSAML(t *testing.T) {
	clk := &clock{t: time.Now().Truncate(time.Second)}
	signer := newSSOSigner(t, clk.now())
	s := newSSOService(t, signer, clk)
	n := 0
	spec := func() assertionSpec {
		n++
		return assertionSpec{id: fmt.Sprintf("_a%d", n), user: "Administrator@VSPHERE.LOCAL", audience: "pacific",
			notBefore: clk.now().Add(-time.Minute), notAfter: clk.now().Add(10 * time.Minute), groups: []string{"vsphere.local\\Administrators"}}
	}
	exchange := func(b []byte) error {
		_, err := s.ExchangeSAML(context.Background(), &authv1.ExchangeSAMLRequest{Assertion: b})
		return err
	}

	good := xmlOf(t, signer.sign(t, spec()))
	resp, err := s.ExchangeSAML(context.Background(), &authv1.ExchangeSAMLRequest{Assertion: good})
	if err != nil {
		t.Fatalf("valid assertion: %v", err)
	}
	tok := resp.GetTokens()
	if tok.GetUser() != "Administrator@VSPHERE.LOCAL" || strings.Join(tok.GetGroups(), ",") != "sso-users,vsphere.local\\Administrators" {
		t.Fatalf("tokens for %q %v", tok.GetUser(), tok.GetGroups())
	}
	if id, err := s.Verify(context.Background(), tok.GetAccessToken()); err != nil || id.User != tok.GetUser() {
		t.Fatalf("the exchanged token does not verify: %v %+v", err, id)
	}

	otherSigner := newSSOSigner(t, clk.now())
	unsigned := xmlOf(t, spec().element())
	tampered := strings.Replace(string(xmlOf(t, signer.sign(t, spec()))), "Administrator@VSPHERE.LOCAL", "root@VSPHERE.LOCAL", 1)

	// Signature wrapping: the signed assertion for a harmless user is
	// kept intact inside an attacker's assertion naming someone else.
	honest := signer.sign(t, assertionSpec{id: "_honest", user: "guest@VSPHERE.LOCAL", audience: "pacific",
		notBefore: clk.now().Add(-time.Minute), notAfter: clk.now().Add(10 * time.Minute)})
	evil := assertionSpec{id: "_evil", user: "Administrator@VSPHERE.LOCAL", audience: "pacific",
		notBefore: clk.now().Add(-time.Minute), notAfter: clk.now().Add(10 * time.Minute)}.element()
	evil.CreateElement("saml2:Advice").AddChild(honest)
	// ... and the same with the attacker's assertion taking the signed ID
	// and the honest signature moved onto it.
	evil2 := assertionSpec{id: "_honest", user: "Administrator@VSPHERE.LOCAL", audience: "pacific",
		notBefore: clk.now().Add(-time.Minute), notAfter: clk.now().Add(10 * time.Minute)}.element()
	sig := honest.FindElement("./Signature")
	if sig == nil {
		t.Fatal("no Signature in the signed assertion")
	}
	evil2.AddChild(sig.Copy())

	wrongAudience := spec()
	wrongAudience.audience = "some-other-service"
	holderOfKey := spec()
	holderOfKey.method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
	expired := spec()
	expired.notBefore, expired.notAfter = clk.now().Add(-2*time.Hour), clk.now().Add(-time.Hour)
	future := spec()
	future.notBefore, future.notAfter = clk.now().Add(time.Hour), clk.now().Add(2*time.Hour)
	systemUser := spec()
	systemUser.user = "system:masters"

	for name, b := range map[string][]byte{
		"unsigned":              unsigned,
		"signed by another SSO": xmlOf(t, otherSigner.sign(t, spec())),
		"tampered subject":      []byte(tampered),
		"wrapped in another":    xmlOf(t, evil),
		"signature moved":       xmlOf(t, evil2),
		"wrong audience":        xmlOf(t, signer.sign(t, wrongAudience)),
		"holder-of-key":         xmlOf(t, signer.sign(t, holderOfKey)),
		"expired":               xmlOf(t, signer.sign(t, expired)),
		"not yet valid":         xmlOf(t, signer.sign(t, future)),
		"system: user":          xmlOf(t, signer.sign(t, systemUser)),
		"replayed":              good,
		"not XML":               []byte("hello"),
		"DTD":                   []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x/>`),
		"another root element":  []byte(`<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol"/>`),
	} {
		t.Run(name, func(t *testing.T) {
			err := exchange(b)
			if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "invalid SAML token" {
				t.Fatalf("got %v, want Unauthenticated \"invalid SAML token\"", err)
			}
		})
	}

	// Replayed after expiry: refused by its conditions even once the
	// replay record is gone.
	late := spec()
	b := xmlOf(t, signer.sign(t, late))
	if err := exchange(b); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	s.sweep(context.Background())
	if err := exchange(b); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("replay after expiry: %v", err)
	}
}

func TestExchangeSAMLNeedsConfig(t *testing.T) {
	s, _, _ := newTestService(t)
	if _, err := s.ExchangeSAML(context.Background(), &authv1.ExchangeSAMLRequest{Assertion: []byte("<x/>")}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("SSO off: %v", err)
	}
}
