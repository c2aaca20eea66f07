package resource

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// storeErr translates a store error about object name of kind k.
func storeErr(err error, k *registry.Kind, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return apierr.NotFound(k.Plural, name)
	case errors.Is(err, store.ErrExists):
		return apierr.AlreadyExists(k.Plural, name)
	case errors.Is(err, store.ErrConflict):
		return apierr.Conflict(k.Plural, name)
	case errors.Is(err, store.ErrCompacted):
		return apierr.New(codes.OutOfRange, "the requested revision of %s is no longer retained; list again and watch from the list's resourceVersion", k.Plural)
	case errors.Is(err, store.ErrWatcherTooSlow):
		return apierr.New(codes.ResourceExhausted, "watch of %s fell too far behind and was closed; list again and watch from the list's resourceVersion", k.Plural)
	case errors.Is(err, store.ErrNoLeader):
		return apierr.Unavailable(err, "the store has no leader; retry")
	case errors.Is(err, store.ErrClosed):
		return apierr.Unavailable(err, "this API server replica is shutting down; retry")
	case errors.Is(err, store.ErrIndeterminate):
		// Not Unavailable: clients retry that blindly, and this write may
		// have been applied.
		e := apierr.New(codes.DeadlineExceeded, "the write to %s %q may or may not have been applied (leader changed); read it and retry", k.Plural, name)
		e.Cause = err
		return e
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%s %q: %w", k.Plural, name, err)
}
