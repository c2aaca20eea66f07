package rbac

import (
	"context"
	"slices"
	"strings"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/internal/grpcserver"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	"github.com/openpacific/pacific/services/apiserver/kinds"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

// AccessService answers WhoAmI and CheckAccess (pacctl auth can-i) with
// the same authorizer that guards the calls.
type AccessService struct {
	authv1.UnimplementedAccessServiceServer
	reg   *registry.Registry
	authz grpcserver.Authorizer
}

// NewAccessService returns the service; authz is the server's whole
// authorizer (node authorizer and RBAC).
func NewAccessService(reg *registry.Registry, authz grpcserver.Authorizer) *AccessService {
	return &AccessService{reg: reg, authz: authz}
}

// WhoAmI implements AccessService.
func (s *AccessService) WhoAmI(ctx context.Context, _ *authv1.WhoAmIRequest) (*authv1.WhoAmIResponse, error) {
	id := grpcserver.IdentityFrom(ctx)
	return &authv1.WhoAmIResponse{User: id.User, Groups: id.Groups}, nil
}

// CheckAccess implements AccessService.
func (s *AccessService) CheckAccess(ctx context.Context, req *authv1.CheckAccessRequest) (*authv1.CheckAccessResponse, error) {
	var fe apierr.FieldErrors
	verb := strings.ToLower(req.GetVerb())
	if verb != "*" && !slices.Contains(kinds.RBACVerbs, verb) {
		fe.Add("verb", "unknown verb %q: want one of %s", req.GetVerb(), strings.Join(kinds.RBACVerbs, ", "))
	}
	k := s.resolve(req.GetResource())
	if k == nil {
		fe.Add("resource", "the server doesn't have a resource type %q", req.GetResource())
	}
	if err := fe.Err("access check"); err != nil {
		return nil, err
	}
	ns := req.GetNamespace()
	if req.GetAllNamespaces() {
		ns = ""
	}
	at := attributesFor(k, verb, ns, req.GetName())
	at.Identity = grpcserver.IdentityFrom(ctx)
	d, reason, err := s.authz.Authorize(ctx, at)
	if err != nil {
		return nil, err
	}
	return &authv1.CheckAccessResponse{Allowed: d == grpcserver.Allow, Reason: reason}, nil
}

// resolve finds a kind by plural, kind name or short name.
func (s *AccessService) resolve(name string) *registry.Kind {
	for _, k := range s.reg.All() {
		if strings.EqualFold(name, k.Plural) || strings.EqualFold(name, k.GVK.Kind) || slices.Contains(k.ShortNames, strings.ToLower(name)) {
			return k
		}
	}
	return nil
}
