package admin

import (
	"errors"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/services/apiserver/store"
)

func membershipErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierr.New(codes.NotFound, "no such member")
	case errors.Is(err, store.ErrNoLeader):
		return apierr.Unavailable(err, "the store has no leader; retry")
	}
	return err
}
