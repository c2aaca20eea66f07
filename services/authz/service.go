package authz

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/internal/grpcserver"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	"github.com/openpacific/pacific/sdk/validation"
)

// Config configures the token service.
type Config struct {
	Records Records
	// Issuer and Audience go into every token and are required on verify
	// (defaults "pacific" and "pacific-api").
	Issuer   string
	Audience string
	// TokenTTL is an access token's life (default 15m); RefreshTTL a
	// refresh token's (default 7 days); RotateEvery how long a signing key
	// signs (default 24h).
	TokenTTL    time.Duration
	RefreshTTL  time.Duration
	RotateEvery time.Duration
	// SSO verifies SAML assertions for ExchangeSAML; nil disables SSO.
	SSO    *SAMLConfig
	Logger *slog.Logger
	// Now is for tests (default time.Now).
	Now func() time.Time
}

// Service is the token service. It implements AuthService and
// grpcserver.Authenticator for bearer tokens.
type Service struct {
	authv1.UnimplementedAuthServiceServer
	cfg    Config
	keys   *keyring
	logger *slog.Logger

	// verified caches recently verified tokens by SHA-256, so a busy
	// client costs one signature check per cacheTTL, not one per call.
	cacheMu  sync.RWMutex
	verified map[[32]byte]cachedIdentity
}

type cachedIdentity struct {
	id      grpcserver.Identity
	exp     time.Time
	checked time.Time
}

const (
	cacheTTL       = 5 * time.Second
	maxCachedToken = 10000
	// leeway tolerates clock skew between replicas.
	leeway = 30 * time.Second
)

// New returns the service. Keys are created on first use.
func New(cfg Config) (*Service, error) {
	if cfg.Records == nil {
		return nil, errors.New("authz: Records is required")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "pacific"
	}
	if cfg.Audience == "" {
		cfg.Audience = "pacific-api"
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 15 * time.Minute
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = 7 * 24 * time.Hour
	}
	if cfg.RotateEvery == 0 {
		cfg.RotateEvery = 24 * time.Hour
	}
	if cfg.RotateEvery < time.Second {
		return nil, errors.New("authz: RotateEvery must be at least 1s")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{
		cfg:      cfg,
		keys:     &keyring{rec: cfg.Records, rotateEvery: cfg.RotateEvery, tokenTTL: cfg.TokenTTL, now: cfg.Now},
		logger:   logger.With("component", "authz"),
		verified: map[[32]byte]cachedIdentity{},
	}, nil
}

// Register adds AuthService to a server.
func (s *Service) Register(r grpc.ServiceRegistrar) { authv1.RegisterAuthServiceServer(r, s) }

// PublicMethods need no token.
func PublicMethods() []string {
	p := "/" + authv1.AuthService_ServiceDesc.ServiceName + "/"
	return []string{p + "Login", p + "Refresh", p + "ExchangeSAML", p + "GetJWKS"}
}

// IssueWhenReady is Issue, retried while a new cluster elects its leader
// and writes its first signing key, until ctx ends.
func (s *Service) IssueWhenReady(ctx context.Context, user string, groups []string, ttl time.Duration) (*authv1.Tokens, error) {
	for {
		t, err := s.Issue(ctx, user, groups, ttl)
		if err == nil {
			return t, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("issue credentials for %s: %w", user, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Issue mints an access token (ttl 0: TokenTTL) and a refresh token for a
// user. The API server uses it for its own components and the dev admin.
func (s *Service) Issue(ctx context.Context, user string, groups []string, ttl time.Duration) (*authv1.Tokens, error) {
	if ttl == 0 {
		ttl = s.cfg.TokenTTL
	}
	access, exp, err := s.mintAccess(ctx, user, groups, ttl, true)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	refresh := randomID(32)
	rec, _ := json.Marshal(refreshRecord{User: user, Groups: groups, ExpiresAt: now.Add(s.cfg.RefreshTTL).Unix()})
	if err := s.cfg.Records.CreateRecord(ctx, collRefresh, tokenHash(refresh), rec); err != nil {
		return nil, fmt.Errorf("store refresh token: %w", err)
	}
	return &authv1.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresAt: timestamppb.New(exp), User: user, Groups: groups}, nil
}

type refreshRecord struct {
	User      string   `json:"user"`
	Groups    []string `json:"groups,omitempty"`
	ExpiresAt int64    `json:"exp"`
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the OS RNG does not fail on Linux ≥ 3.17
	}
	return b64.EncodeToString(b)
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

var errBadLogin = status.Error(codes.Unauthenticated, "invalid username or password")

// Login implements AuthService.
func (s *Service) Login(ctx context.Context, req *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	if req.GetUsername() == "" || len(req.GetPassword()) > maxPasswordLen {
		return nil, errBadLogin
	}
	b, err := s.cfg.Records.GetRecord(ctx, collUsers, req.GetUsername())
	if errors.Is(err, fs.ErrNotExist) {
		dummyHash().matches(req.GetPassword())
		s.logger.InfoContext(ctx, "login refused", "user", req.GetUsername(), "reason", "no such user")
		return nil, errBadLogin
	}
	if err != nil {
		return nil, apierr.Unavailable(err, "cannot read users; retry")
	}
	u, err := decodeUser(b)
	if err != nil {
		return nil, err
	}
	if !u.Hash.matches(req.GetPassword()) {
		s.logger.InfoContext(ctx, "login refused", "user", u.Name, "reason", "wrong password")
		return nil, errBadLogin
	}
	t, err := s.Issue(ctx, u.Name, u.Groups, 0)
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "login", "user", u.Name, "method", "password")
	return &authv1.LoginResponse{Tokens: t}, nil
}

// Refresh implements AuthService. A refresh token works once.
func (s *Service) Refresh(ctx context.Context, req *authv1.RefreshRequest) (*authv1.RefreshResponse, error) {
	bad := status.Error(codes.Unauthenticated, "invalid or expired refresh token: "+grpcserver.LoginHint)
	if req.GetRefreshToken() == "" || len(req.GetRefreshToken()) > 256 {
		return nil, bad
	}
	h := tokenHash(req.GetRefreshToken())
	b, err := s.cfg.Records.GetRecord(ctx, collRefresh, h)
	if err != nil {
		return nil, bad
	}
	// Deleting is the claim: of two concurrent refreshes only one succeeds.
	if err := s.cfg.Records.DeleteRecord(ctx, collRefresh, h); err != nil {
		return nil, bad
	}
	var r refreshRecord
	if json.Unmarshal(b, &r) != nil || s.cfg.Now().Unix() > r.ExpiresAt {
		return nil, bad
	}
	t, err := s.Issue(ctx, r.User, r.Groups, 0)
	if err != nil {
		return nil, err
	}
	return &authv1.RefreshResponse{Tokens: t}, nil
}

// Logout implements AuthService: the caller's access token is revoked
// until it would have expired, and the refresh token, if given, deleted.
func (s *Service) Logout(ctx context.Context, req *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	id := grpcserver.IdentityFrom(ctx)
	if id.TokenID != "" {
		// Kept as long as the token itself would be accepted: tokens from
		// IssueToken or a dev admin config live much longer than TokenTTL.
		until := id.TokenExpires
		if until.IsZero() {
			until = s.cfg.Now().Add(s.cfg.TokenTTL)
		}
		exp := until.Add(leeway).Unix()
		if err := s.cfg.Records.PutRecord(ctx, collRevoked, id.TokenID, []byte(fmt.Sprint(exp))); err != nil {
			return nil, apierr.Unavailable(err, "cannot revoke the token; retry")
		}
		s.forget(id.TokenID)
	}
	if rt := req.GetRefreshToken(); rt != "" && len(rt) <= 256 {
		_ = s.cfg.Records.DeleteRecord(ctx, collRefresh, tokenHash(rt))
	}
	s.logger.InfoContext(ctx, "logout", "user", id.User)
	return &authv1.LogoutResponse{}, nil
}

// GetJWKS implements AuthService.
func (s *Service) GetJWKS(ctx context.Context, _ *authv1.GetJWKSRequest) (*authv1.GetJWKSResponse, error) {
	if _, err := s.keys.current(ctx); err != nil {
		return nil, err
	}
	b, err := s.keys.jwks()
	if err != nil {
		return nil, err
	}
	return &authv1.GetJWKSResponse{JwksJson: string(b)}, nil
}

// ValidateGroup checks a group a user may be given (local users, SSO
// groups): not empty, and not one of the reserved system: groups.
func ValidateGroup(g string) error {
	switch {
	case g == "":
		return errors.New("must not be empty")
	case strings.HasPrefix(g, "system:"):
		return fmt.Errorf("%q: system: groups are reserved", g)
	}
	return nil
}

// CreateUser implements AuthService (authorized as "create users").
func (s *Service) CreateUser(ctx context.Context, req *authv1.CreateUserRequest) (*authv1.CreateUserResponse, error) {
	var fe apierr.FieldErrors
	if err := validation.DNS1123Subdomain(req.GetName()); err != nil {
		fe.Add("name", "%v", err)
	}
	if n := len(req.GetPassword()); n < minPasswordLen || n > maxPasswordLen {
		fe.Add("password", "must be %d to %d bytes long", minPasswordLen, maxPasswordLen)
	}
	for i, g := range req.GetGroups() {
		if err := ValidateGroup(g); err != nil {
			fe.Add(fmt.Sprintf("groups[%d]", i), "%v", err)
		}
	}
	if err := fe.Err("user"); err != nil {
		return nil, err
	}
	h, err := hashPassword(req.GetPassword())
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(userRecord{Name: req.GetName(), Groups: req.GetGroups(), Hash: h})
	if err := s.cfg.Records.CreateRecord(ctx, collUsers, req.GetName(), b); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, apierr.AlreadyExists("users", req.GetName())
		}
		return nil, err
	}
	s.logger.InfoContext(ctx, "user created", "user", req.GetName(), "by", grpcserver.IdentityFrom(ctx).User)
	return &authv1.CreateUserResponse{Name: req.GetName(), Groups: req.GetGroups()}, nil
}

// DeleteUser implements AuthService.
func (s *Service) DeleteUser(ctx context.Context, req *authv1.DeleteUserRequest) (*authv1.DeleteUserResponse, error) {
	if err := s.cfg.Records.DeleteRecord(ctx, collUsers, req.GetName()); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, apierr.NotFound("users", req.GetName())
		}
		return nil, err
	}
	return &authv1.DeleteUserResponse{}, nil
}

// Authenticate implements grpcserver.Authenticator for "authorization:
// Bearer <jwt>" metadata.
func (s *Service) Authenticate(ctx context.Context, _ string) (grpcserver.Identity, error) {
	// Only this key: FromIncomingContext would copy all of the call's metadata.
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(vals) == 0 {
		return grpcserver.Identity{}, grpcserver.ErrNoCredentials
	}
	tok, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || len(vals) > 1 {
		return grpcserver.Identity{}, status.Error(codes.Unauthenticated, "authorization metadata must be one \"Bearer <token>\"")
	}
	id, err := s.Verify(ctx, tok)
	if errors.Is(err, errNotReady) {
		return grpcserver.Identity{}, status.Error(codes.Unavailable, "the API server is starting; retry")
	}
	if err != nil {
		s.logger.DebugContext(ctx, "token refused", "reason", err.Error())
		return grpcserver.Identity{}, status.Error(codes.Unauthenticated, "invalid or expired token: "+grpcserver.LoginHint)
	}
	return id, nil
}

// Verify checks a token (signature, kid, alg, times, issuer, audience,
// revocation) and returns its identity.
func (s *Service) Verify(ctx context.Context, tok string) (grpcserver.Identity, error) {
	now := s.cfg.Now()
	sum := sha256.Sum256([]byte(tok))
	s.cacheMu.RLock()
	c, ok := s.verified[sum]
	s.cacheMu.RUnlock()
	if ok && now.Before(c.exp) && now.Sub(c.checked) < cacheTTL {
		return c.id, nil
	}
	claims, err := verifyJWT(tok, func(kid string) ed25519.PublicKey { return s.keys.public(ctx, kid) }, s.cfg.Issuer, s.cfg.Audience, now, leeway)
	if errors.Is(err, errUnknownKey) && s.keys.newest() == nil {
		// A replica that has not replayed its log yet knows no keys.
		return grpcserver.Identity{}, errNotReady
	}
	if err != nil {
		return grpcserver.Identity{}, err
	}
	if _, err := s.cfg.Records.GetRecord(ctx, collRevoked, claims.ID); err == nil {
		return grpcserver.Identity{}, errRevoked
	} else if !errors.Is(err, fs.ErrNotExist) {
		return grpcserver.Identity{}, fmt.Errorf("check revocation: %w", err)
	}
	groups := append(slices.Clone(claims.Groups), grpcserver.GroupAuthenticated)
	id := grpcserver.Identity{User: claims.Subject, Groups: groups, Method: "jwt", TokenID: claims.ID, TokenExpires: time.Unix(claims.ExpiresAt, 0)}
	s.cacheMu.Lock()
	if len(s.verified) >= maxCachedToken {
		clear(s.verified)
	}
	s.verified[sum] = cachedIdentity{id: id, exp: time.Unix(claims.ExpiresAt, 0), checked: now}
	s.cacheMu.Unlock()
	return id, nil
}

// forget drops a revoked token from this replica's cache at once (other
// replicas drop it within cacheTTL).
func (s *Service) forget(jti string) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	for k, c := range s.verified {
		if c.id.TokenID == jti {
			delete(s.verified, k)
		}
	}
}

// maxIssuedTTL bounds IssueToken.
const maxIssuedTTL = 30 * 24 * time.Hour

// IssueToken implements AuthService (authorized as "create tokens": cluster
// admins only).
func (s *Service) IssueToken(ctx context.Context, req *authv1.IssueTokenRequest) (*authv1.IssueTokenResponse, error) {
	var fe apierr.FieldErrors
	if req.GetUser() == "" {
		fe.Required("user")
	}
	ttl := time.Duration(req.GetTtlSeconds()) * time.Second
	switch {
	case req.GetTtlSeconds() == 0:
		ttl = time.Hour
	case ttl < time.Minute || ttl > maxIssuedTTL:
		fe.Add("ttlSeconds", "%d is out of range: want 60 to %d", req.GetTtlSeconds(), int64(maxIssuedTTL/time.Second))
	}
	if err := fe.Err("token request"); err != nil {
		return nil, err
	}
	tok, exp, err := s.mintAccess(ctx, req.GetUser(), req.GetGroups(), ttl, true)
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "token issued", "user", req.GetUser(), "groups", req.GetGroups(), "ttl", ttl, "by", grpcserver.IdentityFrom(ctx).User)
	return &authv1.IssueTokenResponse{AccessToken: tok, ExpiresAt: timestamppb.New(exp)}, nil
}
