package resource

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"

	"github.com/openpacific/pacific/internal/apierr"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Page sizes for List.
const (
	defaultListLimit = 500
	maxListLimit     = 1000
)

// List implements ResourceService. Pages are consistent: every page of one
// listing reads the snapshot at the first page's revision. Selectors filter
// after the read, so a page may hold fewer than limit items.
func (s *Service) List(ctx context.Context, req *corev1.ListRequest) (*corev1.ListResponse, error) {
	k, err := s.kindFor(req.GetApiVersion(), req.GetKind())
	if err != nil {
		return nil, err
	}
	var fe apierr.FieldErrors
	fe = append(fe, validateNamespaceScope(k, req.GetNamespace(), false)...)
	limit := int(req.GetLimit())
	switch {
	case limit == 0:
		limit = defaultListLimit
	case limit < 0 || limit > maxListLimit:
		fe.Add("limit", "%d is out of range: must be between 1 and %d", limit, maxListLimit)
	}
	sel := parseFilter(k, req.GetLabelSelector(), req.GetFieldSelector(), &fe)
	query := queryHash(k, req.GetNamespace(), req.GetLabelSelector()+"\x00"+req.GetFieldSelector())
	var tok continueToken
	if req.GetContinue() != "" {
		var err error
		if tok, err = decodeContinue(req.GetContinue(), query); err != nil {
			fe.Add("continue", "%v", err)
		}
	}
	if err := fe.Err("list request"); err != nil {
		return nil, err
	}

	prefix := store.Prefix{Kind: k.GroupKind(), Namespace: req.GetNamespace()}
	resp := &corev1.ListResponse{}
	rev, after := tok.Revision, tok.After
	for {
		page, err := s.store.List(ctx, prefix, store.ListOptions{Stale: req.GetStale(), Limit: limit, After: after, Revision: rev})
		if err != nil {
			return nil, storeErr(err, k, "")
		}
		rev = page.Revision
		for i, rec := range page.Records {
			after = store.AfterKey(rec.Key)
			obj, err := s.decodeRecord(k, rec)
			if err != nil {
				return nil, err
			}
			if !sel.matches(obj) {
				continue
			}
			a, err := toAny(obj)
			if err != nil {
				return nil, err
			}
			resp.Items = append(resp.Items, a)
			if len(resp.Items) == limit {
				if i < len(page.Records)-1 || page.More {
					resp.Continue = encodeContinue(continueToken{Revision: rev, After: after, Query: query})
				}
				resp.ResourceVersion = rev
				return resp, nil
			}
		}
		if !page.More {
			resp.ResourceVersion = rev
			return resp, nil
		}
	}
}

// continueToken is opaque to clients. Query binds it to the listing it came
// from, so it cannot be replayed against another kind or selector.
type continueToken struct {
	Revision int64  `json:"r"`
	After    string `json:"a"`
	Query    uint64 `json:"q"`
}

func encodeContinue(t continueToken) string {
	b, _ := json.Marshal(t) // a struct of strings and ints always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string, query uint64) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil || t.Revision <= 0 {
		return continueToken{}, errMalformedToken
	}
	if t.Query != query {
		return continueToken{}, errTokenMismatch
	}
	return t, nil
}

type tokenError string

func (e tokenError) Error() string { return string(e) }

const (
	errMalformedToken tokenError = "malformed continue token"
	errTokenMismatch  tokenError = "continue token belongs to a different kind, namespace or selector"
)

func queryHash(k *registry.Kind, namespace, selector string) uint64 {
	h := sha256.Sum256([]byte(k.GroupKind() + "\x00" + namespace + "\x00" + selector))
	return binary.BigEndian.Uint64(h[:8])
}

// ListEach calls fn for every item req selects, following continue tokens
// (one consistent snapshot): for callers inside the API server that read
// a whole selection, such as the node authorizer and the eviction API.
func ListEach(ctx context.Context, list func(context.Context, *corev1.ListRequest) (*corev1.ListResponse, error), req *corev1.ListRequest, fn func(*anypb.Any) error) error {
	req = proto.Clone(req).(*corev1.ListRequest)
	for {
		resp, err := list(ctx, req)
		if err != nil {
			return err
		}
		for _, item := range resp.GetItems() {
			if err := fn(item); err != nil {
				return err
			}
		}
		if resp.GetContinue() == "" {
			return nil
		}
		req.Continue = resp.GetContinue()
	}
}
