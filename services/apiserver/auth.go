package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// AuthFunc builds a replica's authentication from its record store. It
// runs once in New, after the store is open. The API server does not know
// how tokens are made (services/authz does; cmd/pacific wires it in).
type AuthFunc func(ctx context.Context, env AuthEnv) (AuthHooks, error)

// AuthEnv is what the auth wiring gets from the replica.
type AuthEnv struct {
	// ReplicaID is this replica's ID (its identity is
	// system:apiserver:<id> in group system:apiservers).
	ReplicaID string
	// Records is private, replicated state for the token service.
	Records *Records
}

// AuthHooks is what the replica serves and enforces.
type AuthHooks struct {
	// Authenticator identifies callers (required); see grpcserver.Chain.
	Authenticator grpcserver.Authenticator
	// PublicMethods need no credentials (login, JWKS).
	PublicMethods []string
	// Register adds services (AuthService) to the replica's server.
	Register func(grpc.ServiceRegistrar)
	// Authorizers run before RBAC (e.g. a node authorizer).
	Authorizers []grpcserver.Authorizer
	// PeerCredentials authenticate this replica when it forwards to the
	// leader. They must not write to the store (that would forward again).
	PeerCredentials credentials.PerRPCCredentials
	// Run, if set, runs with the replica (key rotation, clean-up).
	Run func(ctx context.Context)
	// OnDecision sees every authorization decision (audit).
	OnDecision func(ctx context.Context, a grpcserver.Attributes, allowed bool)
}

// Records adapts the store to the token service's record API: keys under
// store.PrivateKindPrefix, invisible to the resource API and the change
// feed. Reads are local (stale): they must work while forwarding needs a
// token made from them.
type Records struct{ st *store.Store }

func recordKey(collection, name string) store.Key {
	return store.Key{Kind: store.PrivateKindPrefix + "authz/" + collection, Name: name}
}

func recordErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w: %w", fs.ErrExist, err)
	}
	return err
}

// GetRecord reads one record.
func (r *Records) GetRecord(ctx context.Context, collection, name string) ([]byte, error) {
	rec, err := r.st.Get(ctx, recordKey(collection, name), store.ReadOptions{Stale: true})
	if err != nil {
		return nil, recordErr(err)
	}
	return rec.Value, nil
}

// CreateRecord stores a new record.
func (r *Records) CreateRecord(ctx context.Context, collection, name string, value []byte) error {
	_, err := r.st.Create(ctx, recordKey(collection, name), value)
	return recordErr(err)
}

// PutRecord creates or replaces a record.
func (r *Records) PutRecord(ctx context.Context, collection, name string, value []byte) error {
	_, err := r.st.Create(ctx, recordKey(collection, name), value)
	if errors.Is(err, store.ErrExists) {
		_, err = r.st.Update(ctx, recordKey(collection, name), value, 0)
	}
	return recordErr(err)
}

// DeleteRecord removes a record.
func (r *Records) DeleteRecord(ctx context.Context, collection, name string) error {
	_, err := r.st.Delete(ctx, recordKey(collection, name), 0)
	return recordErr(err)
}

// ListRecords returns a collection by name.
func (r *Records) ListRecords(ctx context.Context, collection string) (map[string][]byte, error) {
	out := map[string][]byte{}
	prefix := store.Prefix{Kind: recordKey(collection, "x").Kind}
	after := ""
	for {
		page, err := r.st.List(ctx, prefix, store.ListOptions{Stale: true, Limit: 1000, After: after})
		if err != nil {
			return nil, recordErr(err)
		}
		for _, rec := range page.Records {
			after = store.AfterKey(rec.Key)
			out[rec.Key.Name] = rec.Value
		}
		if !page.More {
			return out, nil
		}
	}
}

// lazyCredentials lets the store's peer connections (made before the auth
// hooks exist) use the hooks' peer credentials.
type lazyCredentials struct {
	creds atomic.Pointer[credentials.PerRPCCredentials]
}

func (l *lazyCredentials) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	c := l.creds.Load()
	if c == nil {
		return nil, nil
	}
	return (*c).GetRequestMetadata(ctx, uri...)
}

func (l *lazyCredentials) RequireTransportSecurity() bool { return false }
