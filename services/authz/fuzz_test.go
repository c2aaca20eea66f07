package authz

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary tokens to the verifier: it must never panic,
// and whatever it accepts must be signed by the one key it trusts and
// carry the exact issuer and audience.
func FuzzVerify(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	now := time.Unix(1_800_000_000, 0)
	good, err := signJWT("k1", seed, Claims{Issuer: "pacific", Audience: "pacific-api", Subject: "alice", ExpiresAt: now.Unix() + 60, NotBefore: now.Unix(), IssuedAt: now.Unix(), ID: "j"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(strings.Replace(good, "e", "f", 1))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.")
	f.Add("a.b.c")
	f.Add("..")
	f.Add(`eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30.` + strings.Repeat("A", 86))
	pub := seed.Public().(ed25519.PublicKey)
	keyFor := func(kid string) ed25519.PublicKey {
		if kid == "k1" {
			return pub
		}
		return nil
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := verifyJWT(tok, keyFor, "pacific", "pacific-api", now, leeway)
		if err != nil {
			return
		}
		kid, _, signing, sig, perr := parseUnverified(tok)
		if perr != nil || kid != "k1" || !ed25519.Verify(pub, []byte(signing), sig) {
			t.Fatalf("accepted a token not signed by the trusted key: %q", tok)
		}
		if c.Issuer != "pacific" || c.Audience != "pacific-api" || c.Subject == "" || c.ID == "" {
			t.Fatalf("accepted claims %+v", c)
		}
	})
}

// FuzzAuthenticateHeader checks the whole bearer path with a real service.
func FuzzAuthenticateHeader(f *testing.F) {
	s, err := New(Config{Records: newMemRecords()})
	if err != nil {
		f.Fatal(err)
	}
	tok, err := s.Issue(context.Background(), "alice", nil, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok.GetAccessToken())
	f.Add("")
	f.Add("x.y.z")
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := s.Authenticate(bearerCtx(tok), "/x")
		if err == nil && id.User != "alice" {
			t.Fatalf("forged identity %+v from %q", id, tok)
		}
	})
}
