package store

// Consistent List pages.
//
// A List with a Limit that has more to return keeps a copy-on-write clone
// of the kind's tree — google/btree's Clone is O(1); afterwards the live
// tree copies the nodes it changes — in a small cache keyed by (kind,
// revision): at most Config.ListSnapshots clones (default 64), each kept at
// most Config.ListSnapshotTTL (default 5 minutes), the oldest evicted
// first. The next page passes ListOptions.Revision = ListResult.Revision
// (and After = AfterKey of the last record) and reads the same clone, so
// writes between pages do not show.
//
// Without a cached clone, a page at revision R is still served from the
// live tree when this replica has applied R and the kind has not changed
// since R (the fsm keeps the revision of every kind's last change): the
// live tree then equals the tree at R. Otherwise the page fails with
// ErrCompacted and the client lists again from the start.
//
// Limitation: clones live on the replica that served the first page. A
// continuation that reaches another replica (load balancing, failover) or
// comes after the clone was evicted or expired only works if the kind did
// not change since R. Route continuations to the replica that served the
// first page to avoid spurious restarts.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Defaults for the List snapshot cache.
const (
	DefaultListSnapshots   = 64
	DefaultListSnapshotTTL = 5 * time.Minute
)

type listKey struct {
	kind string
	rev  int64
}

type listEntry struct {
	t       *tree
	created time.Time
}

// listCache holds tree clones for List continuations.
type listCache struct {
	max int
	ttl time.Duration

	mu      sync.Mutex
	entries map[listKey]listEntry
}

func newListCache(max int, ttl time.Duration) *listCache {
	if max <= 0 {
		max = DefaultListSnapshots
	}
	if ttl <= 0 {
		ttl = DefaultListSnapshotTTL
	}
	return &listCache{max: max, ttl: ttl, entries: map[listKey]listEntry{}}
}

func (c *listCache) get(kind string, rev int64) (*tree, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.entries[listKey{kind, rev}]
	if !found {
		return nil, false
	}
	if time.Since(e.created) > c.ttl {
		delete(c.entries, listKey{kind, rev})
		return nil, false
	}
	return e.t, true
}

func (c *listCache) put(kind string, rev int64, t *tree) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := listKey{kind, rev}
	if _, found := c.entries[k]; found {
		return
	}
	now := time.Now()
	var oldest listKey
	var oldestAt time.Time
	for key, e := range c.entries {
		if now.Sub(e.created) > c.ttl {
			delete(c.entries, key)
			continue
		}
		if oldestAt.IsZero() || e.created.Before(oldestAt) {
			oldest, oldestAt = key, e.created
		}
	}
	if len(c.entries) >= c.max {
		delete(c.entries, oldest)
	}
	c.entries[k] = listEntry{t: t, created: now}
}

var errInvalidList = errors.New("invalid list")

// List returns the records of p.Kind (in p.Namespace if set) sorted by
// namespace, then name. With a Limit it returns at most Limit records and
// More; later pages pass Revision and After to read the same snapshot.
func (s *Store) List(ctx context.Context, p Prefix, o ListOptions) (ListResult, error) {
	if p.Kind == "" {
		return ListResult{}, fmt.Errorf("%w: List needs a kind", errInvalidList)
	}
	if o.Limit < 0 {
		return ListResult{}, fmt.Errorf("%w: negative limit %d", errInvalidList, o.Limit)
	}
	var (
		t      *tree
		rev    int64
		cached bool
	)
	if o.Revision > 0 {
		var err error
		if t, cached, err = s.treeAt(ctx, p.Kind, o.Revision); err != nil {
			return ListResult{}, err
		}
		rev = o.Revision
	} else {
		if !o.Stale {
			if err := s.linearize(ctx); err != nil {
				return ListResult{}, err
			}
		}
		t, rev, _ = s.fsm.cloneKind(p.Kind)
	}
	res := ListResult{Revision: rev}
	if t == nil {
		return res, nil
	}
	pivot := &Record{Key: Key{Namespace: p.Namespace}}
	var after *Record
	if o.After != "" {
		after = parseAfter(o.After)
		if lessRecord(pivot, after) {
			pivot = after
		}
	}
	t.AscendGreaterOrEqual(pivot, func(r *Record) bool {
		if p.Namespace != "" && r.Key.Namespace != p.Namespace {
			return false
		}
		if after != nil && !lessRecord(after, r) {
			return true
		}
		if o.Limit > 0 && len(res.Records) == o.Limit {
			res.More = true
			return false
		}
		res.Records = append(res.Records, *r)
		return true
	})
	if res.More && !cached {
		s.lists.put(p.Kind, rev, t)
	}
	return res, nil
}

// parseAfter splits "namespace/name" (a bare name means cluster-scoped).
func parseAfter(after string) *Record {
	ns, name, found := strings.Cut(after, "/")
	if !found {
		ns, name = "", after
	}
	return &Record{Key: Key{Namespace: ns, Name: name}}
}

// treeAt returns kind's tree as of revision rev, and whether it came from
// the cache.
func (s *Store) treeAt(ctx context.Context, kind string, rev int64) (*tree, bool, error) {
	if t, found := s.lists.get(kind, rev); found {
		return t, true, nil
	}
	if s.Revision() < rev {
		// A lagging replica: wait until it has applied rev.
		wctx, cancel := context.WithTimeout(ctx, s.leaderWait)
		err := s.fsm.applied.wait(wctx, rev, s.closed)
		cancel()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return nil, false, err
			}
			return nil, false, fmt.Errorf("%w: revision %d not reached on this replica", ErrCompacted, rev)
		}
	}
	t, _, kindRev := s.fsm.cloneKind(kind)
	if kindRev > rev {
		return nil, false, fmt.Errorf("%w: list snapshot at revision %d of %s is no longer retained", ErrCompacted, rev, kind)
	}
	return t, false, nil
}
