package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

// Value slices in returned Records and Events are shared with the store's
// state: callers must not modify them.

// Create stores a new key; ErrExists (with the current record) if it exists.
func (s *Store) Create(ctx context.Context, k Key, value []byte) (Record, error) {
	if err := validKey(k); err != nil {
		return Record{}, err
	}
	cmd := keyCommand(k)
	cmd.Value = value
	res, err := s.apply(ctx, storev1.CommandType_COMMAND_TYPE_CREATE, cmd)
	if err != nil {
		return Record{}, err
	}
	if err := resultError(k, res); err != nil {
		return current(k, res), err
	}
	return Record{Key: k, Value: value, CreateRevision: res.GetCreateRevision(), ModRevision: res.GetModRevision()}, nil
}

// Update replaces an existing key; ErrNotFound if missing. With
// expectModRevision != 0 the key's ModRevision must equal it, else
// ErrConflict (with the current record).
func (s *Store) Update(ctx context.Context, k Key, value []byte, expectModRevision int64) (Record, error) {
	if err := validKey(k); err != nil {
		return Record{}, err
	}
	cmd := keyCommand(k)
	cmd.Value, cmd.ExpectModRevision = value, expectModRevision
	res, err := s.apply(ctx, storev1.CommandType_COMMAND_TYPE_UPDATE, cmd)
	if err != nil {
		return Record{}, err
	}
	if err := resultError(k, res); err != nil {
		return current(k, res), err
	}
	return Record{Key: k, Value: value, CreateRevision: res.GetCreateRevision(), ModRevision: res.GetModRevision()}, nil
}

// Delete removes a key (at expectModRevision when != 0, like Update) and
// returns its last stored record with ModRevision set to the delete's
// revision.
func (s *Store) Delete(ctx context.Context, k Key, expectModRevision int64) (Record, error) {
	if err := validKey(k); err != nil {
		return Record{}, err
	}
	cmd := keyCommand(k)
	cmd.ExpectModRevision = expectModRevision
	res, err := s.apply(ctx, storev1.CommandType_COMMAND_TYPE_DELETE, cmd)
	if err != nil {
		return Record{}, err
	}
	if err := resultError(k, res); err != nil {
		return current(k, res), err
	}
	return Record{Key: k, Value: res.GetValue(), CreateRevision: res.GetCreateRevision(), ModRevision: res.GetRevision()}, nil
}

// current is the record a failed write reported (zero when none).
func current(k Key, res *storev1.Result) Record {
	if res.GetModRevision() == 0 {
		return Record{}
	}
	return Record{Key: k, Value: res.GetValue(), CreateRevision: res.GetCreateRevision(), ModRevision: res.GetModRevision()}
}

// Get reads one key; linearizable unless o.Stale.
func (s *Store) Get(ctx context.Context, k Key, o ReadOptions) (Record, error) {
	if err := validKey(k); err != nil {
		return Record{}, err
	}
	if !o.Stale {
		if err := s.linearize(ctx); err != nil {
			return Record{}, err
		}
	}
	rec, found := s.fsm.get(k)
	if !found {
		return Record{}, fmt.Errorf("%s %s/%s: %w", k.Kind, k.Namespace, k.Name, ErrNotFound)
	}
	return rec, nil
}

// Revision is the last revision (log index) applied on this replica.
func (s *Store) Revision() int64 { return s.fsm.applied.get() }

// KindRevision is the revision of the last change to an object of kind
// applied on this replica (0: none since the state began).
func (s *Store) KindRevision(kind string) int64 { return s.fsm.kindRevision(kind) }

// Snapshot makes Raft snapshot the state now (and compact its log down to
// TrailingLogs). Nothing new to snapshot is not an error.
func (s *Store) Snapshot(ctx context.Context) error {
	err := waitFuture(ctx, s.raft.Snapshot())
	if err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// apply commits one command through the leader and returns its result.
func (s *Store) apply(ctx context.Context, t storev1.CommandType, cmd *storev1.Command) (*storev1.Result, error) {
	entry, err := encodeEntry(t, cmd)
	if err != nil {
		return nil, err
	}
	var res *storev1.Result
	err = s.withLeader(ctx,
		func(ctx context.Context) (err error) {
			res, err = s.applyLocal(ctx, entry)
			return err
		},
		func(ctx context.Context, p *peer) (err error) {
			res, err = p.apply(ctx, entry)
			return err
		})
	return res, err
}

// applyLocal commits an entry on this replica, which must be the leader.
func (s *Store) applyLocal(ctx context.Context, entry []byte) (*storev1.Result, error) {
	select {
	case <-s.closed:
		return nil, ErrClosed
	default:
	}
	f := s.raft.Apply(entry, 0)
	if err := waitFuture(ctx, f); err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress),
			errors.Is(err, raft.ErrEnqueueTimeout):
			return nil, fmt.Errorf("%w: %w", errNotLeader, err)
		case errors.Is(err, raft.ErrRaftShutdown):
			return nil, fmt.Errorf("%w: %w", ErrClosed, err)
		default:
			return nil, fmt.Errorf("%w: %w", ErrIndeterminate, err)
		}
	}
	res, ok := f.Response().(*storev1.Result)
	if !ok {
		return nil, fmt.Errorf("%w: state machine returned %T", errInvalidEntry, f.Response())
	}
	return res, nil
}
