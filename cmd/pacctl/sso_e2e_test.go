package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/openpacific/pacific/services/apiserver/apiservertest"
	"github.com/openpacific/pacific/services/authz"
)

// TestLoginSSO logs in with a SAML bearer token signed by a test SSO
// domain the server trusts, from a file and from stdin (base64).
func TestLoginSSO(t *testing.T) {
	now := time.Now()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sso"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	api := apiservertest.StartCluster(t, 1, apiservertest.Options{SSO: &authz.SAMLConfig{Certificates: []*x509.Certificate{cert}, Audience: "pacific"}})[0]
	ks := dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
	signer := dsig.NewDefaultSigningContext(&ks)
	assertion := func(id string) []byte {
		el := etree.NewElement("saml2:Assertion")
		el.CreateAttr("xmlns:saml2", "urn:oasis:names:tc:SAML:2.0:assertion")
		el.CreateAttr("ID", id)
		subj := el.CreateElement("saml2:Subject")
		subj.CreateElement("saml2:NameID").SetText("vi-admin@vsphere.local")
		subj.CreateElement("saml2:SubjectConfirmation").CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
		cond := el.CreateElement("saml2:Conditions")
		cond.CreateAttr("NotBefore", now.Add(-time.Minute).UTC().Format(time.RFC3339))
		cond.CreateAttr("NotOnOrAfter", now.Add(10*time.Minute).UTC().Format(time.RFC3339))
		cond.CreateElement("saml2:AudienceRestriction").CreateElement("saml2:Audience").SetText("pacific")
		signed, err := signer.SignEnveloped(el)
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		doc.SetRoot(signed)
		b, err := doc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sso.yaml")
	file := filepath.Join(dir, "token.xml")
	if err := os.WriteFile(file, assertion("_one"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "--config", cfg, "login", "--server", api.Addr(), "--sso", "--saml-file", file)
	if !strings.Contains(r.stdout, "Logged in as vi-admin@vsphere.local") {
		t.Fatalf("login --sso printed %q", r.stdout)
	}
	if r := mustRun(t, "", "--config", cfg, "auth", "whoami"); !strings.Contains(r.stdout, "user: vi-admin@vsphere.local") {
		t.Fatalf("whoami: %q", r.stdout)
	}
	// The same token again is a replay.
	mustFail(t, "Unauthenticated", "--config", cfg, "login", "--server", api.Addr(), "--sso", "--saml-file", file)
	// A fresh one on stdin, base64 as SSO tools print it.
	if r := pacctl(t, base64Std(assertion("_two")), "--config", cfg, "login", "--server", api.Addr(), "--sso"); r.code != 0 {
		t.Fatalf("login --sso from stdin: %s", r)
	}
	if r := pacctl(t, "%%not base64%%", "--config", cfg, "login", "--server", api.Addr(), "--sso"); r.code == 0 || !strings.Contains(r.stderr, "neither XML nor base64") {
		t.Fatalf("garbage SAML token: %s", r)
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
