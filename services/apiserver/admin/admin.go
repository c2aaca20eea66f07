package admin

import (
	"context"
	"slices"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/internal/apierr"
	adminv1 "github.com/openpacific/pacific/sdk/gen/pacific/admin/v1"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Membership is what the service needs of the store.
type Membership interface {
	Members(ctx context.Context) ([]store.Member, error)
	AddMember(ctx context.Context, m store.Member) error
	RemoveMember(ctx context.Context, id string) error
	Revision() int64
}

// Service implements AdminService.
type Service struct {
	adminv1.UnimplementedAdminServiceServer
	store Membership
}

// New returns a Service.
func New(m Membership) *Service { return &Service{store: m} }

// ListMembers implements AdminService.
func (s *Service) ListMembers(ctx context.Context, _ *adminv1.ListMembersRequest) (*adminv1.ListMembersResponse, error) {
	members, err := s.members(ctx)
	if err != nil {
		return nil, err
	}
	return &adminv1.ListMembersResponse{Members: members, Revision: s.store.Revision()}, nil
}

// AddMember implements AdminService.
func (s *Service) AddMember(ctx context.Context, req *adminv1.AddMemberRequest) (*adminv1.AddMemberResponse, error) {
	var fe apierr.FieldErrors
	if req.GetId() == "" {
		fe.Required("id")
	}
	if req.GetRaftAddress() == "" {
		fe.Required("raftAddress")
	}
	if req.GetApiAddress() == "" {
		fe.Required("apiAddress")
	}
	if err := fe.Err("add member request"); err != nil {
		return nil, err
	}
	if err := s.store.AddMember(ctx, store.Member{ID: req.GetId(), RaftAddr: req.GetRaftAddress(), APIAddr: req.GetApiAddress(), Voter: true}); err != nil {
		return nil, membershipErr(err)
	}
	members, err := s.members(ctx)
	if err != nil {
		return nil, err
	}
	return &adminv1.AddMemberResponse{Members: members}, nil
}

// RemoveMember implements AdminService.
func (s *Service) RemoveMember(ctx context.Context, req *adminv1.RemoveMemberRequest) (*adminv1.RemoveMemberResponse, error) {
	if req.GetId() == "" {
		return nil, apierr.Invalid("id", "required")
	}
	current, err := s.store.Members(ctx)
	if err != nil {
		return nil, membershipErr(err)
	}
	if !slices.ContainsFunc(current, func(m store.Member) bool { return m.ID == req.GetId() }) {
		return nil, apierr.New(codes.NotFound, "no member with id %q", req.GetId())
	}
	if err := s.store.RemoveMember(ctx, req.GetId()); err != nil {
		return nil, membershipErr(err)
	}
	members, err := s.members(ctx)
	if err != nil {
		return nil, err
	}
	return &adminv1.RemoveMemberResponse{Members: members}, nil
}

func (s *Service) members(ctx context.Context) ([]*adminv1.Member, error) {
	list, err := s.store.Members(ctx)
	if err != nil {
		return nil, membershipErr(err)
	}
	out := make([]*adminv1.Member, 0, len(list))
	for _, m := range list {
		out = append(out, &adminv1.Member{Id: m.ID, RaftAddress: m.RaftAddr, ApiAddress: m.APIAddr, Leader: m.Leader, Voter: m.Voter})
	}
	return out, nil
}
