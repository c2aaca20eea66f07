package authz

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"time"
)

// keyRecord is one signing key as stored. The private key lives in the
// replicated store (encrypted at rest only as far as the data dir is): every
// replica can sign and verify. See docs/decisions/0022-tokens-and-keys.md.
type keyRecord struct {
	Kid     string `json:"kid"`
	Seed    []byte `json:"seed"`
	Created int64  `json:"created"`
}

type signingKey struct {
	kid     string
	priv    ed25519.PrivateKey
	pub     ed25519.PublicKey
	created time.Time
}

// keyring caches the keys. A key signs for RotateEvery after it was
// created, and verifies until every token it signed has expired.
type keyring struct {
	rec         Records
	rotateEvery time.Duration
	tokenTTL    time.Duration
	now         func() time.Time

	mu         sync.RWMutex
	keys       map[string]*signingKey
	lastReload time.Time
}

func (k *keyring) reload(ctx context.Context) error {
	all, err := k.rec.ListRecords(ctx, collKeys)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	keys := map[string]*signingKey{}
	for name, b := range all {
		var r keyRecord
		if err := json.Unmarshal(b, &r); err != nil || len(r.Seed) != ed25519.SeedSize {
			return fmt.Errorf("signing key %s: corrupt record", name)
		}
		priv := ed25519.NewKeyFromSeed(r.Seed)
		keys[r.Kid] = &signingKey{kid: r.Kid, priv: priv, pub: priv.Public().(ed25519.PublicKey), created: time.Unix(r.Created, 0)}
	}
	k.mu.Lock()
	k.keys, k.lastReload = keys, k.now()
	k.mu.Unlock()
	return nil
}

// current returns the newest key, creating one when the newest is older
// than rotateEvery, and deletes keys nothing valid can be signed by.
func (k *keyring) current(ctx context.Context) (*signingKey, error) {
	now := k.now()
	if key := k.newest(); key != nil && now.Sub(key.created) < k.rotateEvery {
		return key, nil
	}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	if key := k.newest(); key != nil && now.Sub(key.created) < k.rotateEvery {
		return key, nil
	}
	// Rotate. The kid names the rotation period, so replicas racing to
	// rotate create the same record and one of them wins.
	period := now.Unix() / int64(k.rotateEvery/time.Second)
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	kid := fmt.Sprintf("k%d", period)
	b, _ := json.Marshal(keyRecord{Kid: kid, Seed: seed, Created: now.Unix()})
	if err := k.rec.CreateRecord(ctx, collKeys, kid, b); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create signing key: %w", err)
	}
	k.retire(ctx, now)
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	key := k.newest()
	if key == nil {
		return nil, errors.New("no signing key after rotation")
	}
	return key, nil
}

// retire deletes keys whose tokens have all expired: a key stops signing
// rotateEvery after creation, so its last token expires tokenTTL later.
func (k *keyring) retire(ctx context.Context, now time.Time) {
	for _, key := range k.sorted() {
		if now.Sub(key.created) > k.rotateEvery+k.tokenTTL+time.Minute {
			_ = k.rec.DeleteRecord(ctx, collKeys, key.kid) // best effort; next rotation retries
		}
	}
}

func (k *keyring) sorted() []*signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]*signingKey, 0, len(k.keys))
	for _, key := range k.keys {
		out = append(out, key)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].created.After(out[j].created) })
	return out
}

func (k *keyring) newest() *signingKey {
	if s := k.sorted(); len(s) > 0 {
		return s[0]
	}
	return nil
}

// public returns the verification key for kid, reloading (at most once a
// second) when a key made by another replica is not known yet.
func (k *keyring) public(ctx context.Context, kid string) ed25519.PublicKey {
	k.mu.RLock()
	key, last, none := k.keys[kid], k.lastReload, len(k.keys) == 0
	k.mu.RUnlock()
	if key == nil && (none || k.now().Sub(last) > time.Second) {
		if err := k.reload(ctx); err == nil {
			k.mu.RLock()
			key = k.keys[kid]
			k.mu.RUnlock()
		}
	}
	if key == nil {
		return nil
	}
	return key.pub
}

// jwks returns the RFC 7517/8037 JSON of every key that still verifies.
func (k *keyring) jwks() ([]byte, error) {
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		X   string `json:"x"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, key := range k.sorted() {
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", Kid: key.kid, Use: "sig", Alg: "EdDSA", X: b64.EncodeToString(key.pub)})
	}
	return json.Marshal(set)
}
