package store

import (
	"fmt"
	"io"
	"sync"

	"github.com/google/btree"
	"github.com/hashicorp/raft"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

// treeDegree is the B-tree degree of the per-kind trees.
const treeDegree = 32

// tree holds one kind's records ordered by namespace, then name. Records
// in a tree are never modified in place (clones share them).
type tree = btree.BTreeG[*Record]

func lessRecord(a, b *Record) bool {
	if a.Key.Namespace != b.Key.Namespace {
		return a.Key.Namespace < b.Key.Namespace
	}
	return a.Key.Name < b.Key.Name
}

func newTree() *tree { return btree.NewG(treeDegree, lessRecord) }

// fsm is the replicated state machine. Apply and Restore run on Raft's FSM
// goroutine; readers take mu for reading (Get) or exclusively (Clone, which
// changes the tree's copy-on-write context).
type fsm struct {
	mu      sync.RWMutex
	kinds   map[string]*tree
	kindRev map[string]int64 // revision of the last change per kind
	members map[string]string
	index   int64 // last applied log index, under mu

	win     *window
	applied *indexNotifier
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(win *window) *fsm {
	return &fsm{
		kinds:   map[string]*tree{},
		kindRev: map[string]int64{},
		members: map[string]string{},
		win:     win,
		applied: newIndexNotifier(),
	}
}

// Apply applies one entry; raft uses ApplyBatch since fsm is a BatchingFSM.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies committed entries in order. Commands return a
// *storev1.Result; configuration entries only advance the applied index.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	events := make([]Event, 0, len(logs))
	var last int64
	f.mu.Lock()
	for i, l := range logs {
		idx := int64(l.Index)
		if l.Type == raft.LogCommand {
			res, ev := f.applyEntry(idx, l.Data)
			out[i] = res
			if ev != nil {
				events = append(events, *ev)
			}
		}
		last = idx
	}
	if last > 0 {
		f.index = last
	}
	f.mu.Unlock()
	if len(events) > 0 {
		f.win.append(events)
	}
	if last > 0 {
		f.applied.set(last)
	}
	return out
}

// applyEntry applies one command at revision idx; f.mu is held. It must be
// deterministic: no clocks, no randomness, no map iteration order.
func (f *fsm) applyEntry(idx int64, data []byte) (*storev1.Result, *Event) {
	t, cmd, err := decodeEntry(data)
	if err != nil {
		return invalid(idx, err.Error()), nil
	}
	switch t {
	case storev1.CommandType_COMMAND_TYPE_CREATE:
		return f.applyCreate(idx, cmd)
	case storev1.CommandType_COMMAND_TYPE_UPDATE:
		return f.applyUpdate(idx, cmd)
	case storev1.CommandType_COMMAND_TYPE_DELETE:
		return f.applyDelete(idx, cmd)
	case storev1.CommandType_COMMAND_TYPE_SET_MEMBER:
		m := cmd.GetMember()
		if m.GetId() == "" {
			return invalid(idx, "member without id"), nil
		}
		f.members[m.GetId()] = m.GetApiAddress()
		return ok(idx), nil
	case storev1.CommandType_COMMAND_TYPE_REMOVE_MEMBER:
		delete(f.members, cmd.GetMember().GetId())
		return ok(idx), nil
	default:
		return invalid(idx, fmt.Sprintf("unknown command type %d", t)), nil
	}
}

func ok(idx int64) *storev1.Result {
	return &storev1.Result{Code: storev1.ResultCode_RESULT_CODE_OK, Revision: idx}
}

func invalid(idx int64, msg string) *storev1.Result {
	return &storev1.Result{Code: storev1.ResultCode_RESULT_CODE_INVALID, Revision: idx, Message: msg}
}

func withCurrent(code storev1.ResultCode, idx int64, cur *Record, msg string) *storev1.Result {
	return &storev1.Result{
		Code: code, Revision: idx, Message: msg,
		Value: cur.Value, CreateRevision: cur.CreateRevision, ModRevision: cur.ModRevision,
	}
}

func cmdKey(cmd *storev1.Command) (Key, error) {
	k := Key{Kind: cmd.GetKind(), Namespace: cmd.GetNamespace(), Name: cmd.GetName()}
	return k, validKey(k)
}

func (f *fsm) lookup(k Key) (*Record, bool) {
	t := f.kinds[k.Kind]
	if t == nil {
		return nil, false
	}
	return t.Get(&Record{Key: k})
}

func (f *fsm) applyCreate(idx int64, cmd *storev1.Command) (*storev1.Result, *Event) {
	k, err := cmdKey(cmd)
	if err != nil {
		return invalid(idx, err.Error()), nil
	}
	if cur, found := f.lookup(k); found {
		return withCurrent(storev1.ResultCode_RESULT_CODE_ALREADY_EXISTS, idx, cur, ""), nil
	}
	t := f.kinds[k.Kind]
	if t == nil {
		t = newTree()
		f.kinds[k.Kind] = t
	}
	rec := &Record{Key: k, Value: cmd.GetValue(), CreateRevision: idx, ModRevision: idx}
	t.ReplaceOrInsert(rec)
	f.kindRev[k.Kind] = idx
	res := ok(idx)
	res.CreateRevision, res.ModRevision = idx, idx
	return res, &Event{Type: EventPut, Revision: idx, Key: k, Value: rec.Value, CreateRevision: idx}
}

func (f *fsm) applyUpdate(idx int64, cmd *storev1.Command) (*storev1.Result, *Event) {
	k, err := cmdKey(cmd)
	if err != nil {
		return invalid(idx, err.Error()), nil
	}
	cur, found := f.lookup(k)
	if !found {
		return &storev1.Result{Code: storev1.ResultCode_RESULT_CODE_NOT_FOUND, Revision: idx}, nil
	}
	if exp := cmd.GetExpectModRevision(); exp != 0 && exp != cur.ModRevision {
		return withCurrent(storev1.ResultCode_RESULT_CODE_CONFLICT, idx, cur,
			fmt.Sprintf("expected mod revision %d, current %d", exp, cur.ModRevision)), nil
	}
	rec := &Record{Key: k, Value: cmd.GetValue(), CreateRevision: cur.CreateRevision, ModRevision: idx}
	f.kinds[k.Kind].ReplaceOrInsert(rec)
	f.kindRev[k.Kind] = idx
	res := ok(idx)
	res.CreateRevision, res.ModRevision = rec.CreateRevision, idx
	return res, &Event{Type: EventPut, Revision: idx, Key: k, Value: rec.Value,
		PrevValue: cur.Value, CreateRevision: rec.CreateRevision}
}

func (f *fsm) applyDelete(idx int64, cmd *storev1.Command) (*storev1.Result, *Event) {
	k, err := cmdKey(cmd)
	if err != nil {
		return invalid(idx, err.Error()), nil
	}
	cur, found := f.lookup(k)
	if !found {
		return &storev1.Result{Code: storev1.ResultCode_RESULT_CODE_NOT_FOUND, Revision: idx}, nil
	}
	if exp := cmd.GetExpectModRevision(); exp != 0 && exp != cur.ModRevision {
		return withCurrent(storev1.ResultCode_RESULT_CODE_CONFLICT, idx, cur,
			fmt.Sprintf("expected mod revision %d, current %d", exp, cur.ModRevision)), nil
	}
	t := f.kinds[k.Kind]
	t.Delete(cur)
	if t.Len() == 0 {
		delete(f.kinds, k.Kind)
	}
	f.kindRev[k.Kind] = idx
	return withCurrent(storev1.ResultCode_RESULT_CODE_OK, idx, cur, ""),
		&Event{Type: EventDelete, Revision: idx, Key: k, Value: cur.Value,
			PrevValue: cur.Value, CreateRevision: cur.CreateRevision}
}

// get returns the record for k.
func (f *fsm) get(k Key) (Record, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	r, found := f.lookup(k)
	if !found {
		return Record{}, false
	}
	return *r, true
}

// cloneKind returns a copy-on-write clone of kind's tree (nil if empty),
// the applied index it is consistent with and the kind's last change.
func (f *fsm) cloneKind(kind string) (t *tree, rev, kindRev int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur := f.kinds[kind]; cur != nil {
		t = cur.Clone()
	}
	return t, f.index, f.kindRev[kind]
}

func (f *fsm) kindRevision(kind string) int64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.kindRev[kind]
}

// member returns the API address recorded for a replica.
func (f *fsm) member(id string) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	a, found := f.members[id]
	return a, found
}

// memberTable copies the member table.
func (f *fsm) memberTable() map[string]string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m := make(map[string]string, len(f.members))
	for id, a := range f.members {
		m[id] = a
	}
	return m
}

// Snapshot captures the state in O(kinds): trees are cloned copy-on-write.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fsmSnapshot{
		index:   f.index,
		kinds:   make(map[string]*tree, len(f.kinds)),
		kindRev: make(map[string]int64, len(f.kindRev)),
		members: make(map[string]string, len(f.members)),
	}
	for k, t := range f.kinds {
		s.kinds[k] = t.Clone()
	}
	for k, r := range f.kindRev {
		s.kindRev[k] = r
	}
	for id, a := range f.members {
		s.members[id] = a
	}
	return s, nil
}

// Restore replaces the state with a snapshot. The watch window restarts
// empty at the snapshot's index; open watches end with ErrCompacted.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := readSnapshot(rc)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.mu.Lock()
	f.kinds, f.kindRev, f.members, f.index = st.kinds, st.kindRev, st.members, st.index
	f.mu.Unlock()
	f.win.reset(st.index)
	f.applied.set(st.index)
	return nil
}
