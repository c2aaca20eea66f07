package authz

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claims are the JWT claims Pacific issues and accepts.
type Claims struct {
	Issuer    string   `json:"iss"`
	Audience  string   `json:"aud"`
	Subject   string   `json:"sub"`
	Groups    []string `json:"groups,omitempty"`
	ExpiresAt int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
}

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

// maxTokenBytes bounds what Verify parses.
const maxTokenBytes = 8 << 10

var b64 = base64.RawURLEncoding

// signJWT returns header.claims.signature with EdDSA.
func signJWT(kid string, key ed25519.PrivateKey, c Claims) (string, error) {
	h, err := json.Marshal(header{Alg: "EdDSA", Typ: "JWT", Kid: kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	return signing + "." + b64.EncodeToString(ed25519.Sign(key, []byte(signing))), nil
}

// Token errors. Callers see only "invalid token"; the reason goes to debug logs.
var (
	errMalformed   = errors.New("malformed token")
	errAlgorithm   = errors.New("unsupported algorithm")
	errUnknownKey  = errors.New("unknown signing key")
	errSignature   = errors.New("bad signature")
	errExpired     = errors.New("token expired")
	errNotYetValid = errors.New("token not yet valid")
	errIssuer      = errors.New("wrong issuer")
	errAudience    = errors.New("wrong audience")
	errRevoked     = errors.New("token revoked")
	errNotReady    = errors.New("no signing keys loaded yet")
)

// parseUnverified splits a token and decodes its header and claims without
// checking anything; Verify is the only way to trust them.
func parseUnverified(tok string) (kid string, c Claims, signing string, sig []byte, err error) {
	if len(tok) > maxTokenBytes {
		return "", c, "", nil, errMalformed
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", c, "", nil, errMalformed
	}
	hb, err1 := b64.DecodeString(parts[0])
	pb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", c, "", nil, errMalformed
	}
	var h header
	if err := strictUnmarshal(hb, &h); err != nil {
		return "", c, "", nil, errMalformed
	}
	// Only EdDSA: "none", HS256 (with the public key as secret) and any
	// other algorithm named by the attacker are refused before any key
	// is looked at.
	if h.Alg != "EdDSA" {
		return "", c, "", nil, errAlgorithm
	}
	if h.Kid == "" {
		return "", c, "", nil, errUnknownKey
	}
	if err := strictUnmarshal(pb, &c); err != nil {
		return "", c, "", nil, errMalformed
	}
	return h.Kid, c, parts[0] + "." + parts[1], sig, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// verifyJWT checks signature, algorithm, times, issuer and audience.
// keyFor returns the public key of a kid (nil when unknown).
func verifyJWT(tok string, keyFor func(kid string) ed25519.PublicKey, issuer, audience string, now time.Time, leeway time.Duration) (Claims, error) {
	kid, c, signing, sig, err := parseUnverified(tok)
	if err != nil {
		return Claims{}, err
	}
	pub := keyFor(kid)
	if pub == nil {
		return Claims{}, errUnknownKey
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, []byte(signing), sig) {
		return Claims{}, errSignature
	}
	switch {
	case c.Issuer != issuer:
		return Claims{}, errIssuer
	case c.Audience != audience:
		return Claims{}, errAudience
	case c.ExpiresAt == 0 || now.After(time.Unix(c.ExpiresAt, 0).Add(leeway)):
		return Claims{}, errExpired
	case now.Add(leeway).Before(time.Unix(c.NotBefore, 0)):
		return Claims{}, errNotYetValid
	case c.Subject == "" || c.ID == "":
		return Claims{}, fmt.Errorf("%w: sub and jti are required", errMalformed)
	}
	return c, nil
}
