package authz

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// userRecord is a local user as stored; the password only as an argon2id
// hash, never returned by any API.
type userRecord struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups,omitempty"`
	Hash   passHash `json:"hash"`
}

// passHash is an argon2id hash with its parameters (RFC 9106).
type passHash struct {
	Salt    []byte `json:"salt"`
	Key     []byte `json:"key"`
	Time    uint32 `json:"t"`
	Memory  uint32 `json:"m"` // KiB
	Threads uint8  `json:"p"`
}

// Parameters of new hashes: OWASP's argon2id minimum (19 MiB, t=2, p=1)
// costs ~30 ms here, which also slows password guessing.
const (
	hashTime    = 2
	hashMemory  = 19 * 1024
	hashThreads = 1
	hashKeyLen  = 32
	// Passwords are bounded so hashing cannot be made arbitrarily slow.
	minPasswordLen = 8
	maxPasswordLen = 256
)

func hashPassword(password string) (passHash, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return passHash{}, fmt.Errorf("salt: %w", err)
	}
	return passHash{Salt: salt, Time: hashTime, Memory: hashMemory, Threads: hashThreads,
		Key: argon2.IDKey([]byte(password), salt, hashTime, hashMemory, hashThreads, hashKeyLen)}, nil
}

func (h passHash) matches(password string) bool {
	if len(h.Key) == 0 || h.Time == 0 || h.Memory == 0 || h.Threads == 0 || h.Memory > 1<<20 || h.Time > 10 {
		return false
	}
	got := argon2.IDKey([]byte(password), h.Salt, h.Time, h.Memory, h.Threads, uint32(len(h.Key)))
	return subtle.ConstantTimeCompare(got, h.Key) == 1
}

// dummyHash is checked when the user does not exist, so a login for an
// unknown user takes as long as a wrong password.
func dummyHash() passHash {
	return passHash{Salt: make([]byte, 16), Key: make([]byte, hashKeyLen), Time: hashTime, Memory: hashMemory, Threads: hashThreads}
}

func decodeUser(b []byte) (userRecord, error) {
	var u userRecord
	if err := json.Unmarshal(b, &u); err != nil {
		return u, fmt.Errorf("corrupt user record: %w", err)
	}
	return u, nil
}
