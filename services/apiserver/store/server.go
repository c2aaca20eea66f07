package store

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

// internalServer serves StoreService: requests from other replicas that
// only the leader can answer. It never forwards them further.
type internalServer struct {
	storev1.UnimplementedStoreServiceServer
	s *Store
}

// InternalServer returns the replica-to-replica service; register it on
// the gRPC server listening on Config.APIAddr.
func (s *Store) InternalServer() storev1.StoreServiceServer { return &internalServer{s: s} }

func (h *internalServer) Apply(ctx context.Context, req *storev1.ApplyRequest) (*storev1.ApplyResponse, error) {
	if _, _, err := decodeEntry(req.GetEntry()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	res, err := h.s.applyLocal(ctx, req.GetEntry())
	if err != nil {
		return nil, toStatus(err)
	}
	return &storev1.ApplyResponse{Result: res}, nil
}

func (h *internalServer) ReadIndex(ctx context.Context, _ *storev1.ReadIndexRequest) (*storev1.ReadIndexResponse, error) {
	idx, err := h.s.readIndexLocal(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &storev1.ReadIndexResponse{Index: idx}, nil
}

func (h *internalServer) AddMember(ctx context.Context, req *storev1.AddMemberRequest) (*storev1.AddMemberResponse, error) {
	m := req.GetMember()
	err := h.s.addMemberLocal(ctx, Member{ID: m.GetId(), RaftAddr: m.GetRaftAddress(), APIAddr: m.GetApiAddress()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &storev1.AddMemberResponse{}, nil
}

func (h *internalServer) RemoveMember(ctx context.Context, req *storev1.RemoveMemberRequest) (*storev1.RemoveMemberResponse, error) {
	if err := h.s.removeMemberLocal(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return &storev1.RemoveMemberResponse{}, nil
}

// toStatus maps store errors onto the codes forward.go interprets:
// FailedPrecondition means "not the leader, nothing happened".
func toStatus(err error) error {
	switch {
	case errors.Is(err, errNotLeader):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, errInvalidEntry), errors.Is(err, errInvalidMember):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	case errors.Is(err, ErrClosed), errors.Is(err, ErrNoLeader):
		return status.Error(codes.Unavailable, err.Error())
	default:
		return status.Error(codes.Unknown, err.Error())
	}
}
