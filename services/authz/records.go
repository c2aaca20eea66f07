package authz

import (
	"context"
)

// Records is the service's durable, replicated key-value state. Missing
// records are reported with an error matching fs.ErrNotExist, a Create of an
// existing one with fs.ErrExist.
type Records interface {
	GetRecord(ctx context.Context, collection, name string) ([]byte, error)
	CreateRecord(ctx context.Context, collection, name string, value []byte) error
	PutRecord(ctx context.Context, collection, name string, value []byte) error
	DeleteRecord(ctx context.Context, collection, name string) error
	ListRecords(ctx context.Context, collection string) (map[string][]byte, error)
}

// Collections of Records.
const (
	collKeys     = "keys"
	collUsers    = "users"
	collRefresh  = "refresh"
	collRevoked  = "revoked"
	collSAMLSeen = "saml-seen"
)
