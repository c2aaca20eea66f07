package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/raft"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

func entry(t *testing.T, typ storev1.CommandType, cmd *storev1.Command) []byte {
	t.Helper()
	b, err := encodeEntry(typ, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, ns, name, value string) []byte {
	return entry(t, storev1.CommandType_COMMAND_TYPE_CREATE,
		&storev1.Command{Kind: "k", Namespace: ns, Name: name, Value: []byte(value)})
}

// applyAll applies entries at consecutive indexes from first.
func applyAll(f *fsm, first uint64, entries ...[]byte) []*storev1.Result {
	logs := make([]*raft.Log, len(entries))
	for i, e := range entries {
		logs[i] = &raft.Log{Index: first + uint64(i), Type: raft.LogCommand, Data: e}
	}
	var out []*storev1.Result
	for _, r := range f.ApplyBatch(logs) {
		out = append(out, r.(*storev1.Result))
	}
	return out
}

func TestFSMResultsAreDeterministic(t *testing.T) {
	entries := [][]byte{
		put(t, "a", "x", "1"),
		put(t, "a", "x", "again"),
		entry(t, storev1.CommandType_COMMAND_TYPE_UPDATE, &storev1.Command{Kind: "k", Namespace: "a", Name: "x", Value: []byte("2"), ExpectModRevision: 7}),
		entry(t, storev1.CommandType_COMMAND_TYPE_UPDATE, &storev1.Command{Kind: "k", Namespace: "a", Name: "x", Value: []byte("2"), ExpectModRevision: 1}),
		entry(t, storev1.CommandType_COMMAND_TYPE_DELETE, &storev1.Command{Kind: "k", Namespace: "a", Name: "missing"}),
		{200, 1, 2},
		{},
	}
	want := []storev1.ResultCode{
		storev1.ResultCode_RESULT_CODE_OK, storev1.ResultCode_RESULT_CODE_ALREADY_EXISTS,
		storev1.ResultCode_RESULT_CODE_CONFLICT, storev1.ResultCode_RESULT_CODE_OK,
		storev1.ResultCode_RESULT_CODE_NOT_FOUND, storev1.ResultCode_RESULT_CODE_INVALID,
		storev1.ResultCode_RESULT_CODE_INVALID,
	}
	a, b := newFSM(newWindow(0, 0)), newFSM(newWindow(0, 0))
	ra, rb := applyAll(a, 1, entries...), applyAll(b, 1, entries...)
	for i := range want {
		if ra[i].GetCode() != want[i] {
			t.Errorf("entry %d: %v, want %v", i, ra[i].GetCode(), want[i])
		}
		if ra[i].String() != rb[i].String() {
			t.Errorf("entry %d differs between replicas: %v / %v", i, ra[i], rb[i])
		}
	}
	rec, _ := a.get(Key{Kind: "k", Namespace: "a", Name: "x"})
	if string(rec.Value) != "2" || rec.CreateRevision != 1 || rec.ModRevision != 4 {
		t.Fatalf("record %+v", rec)
	}
	if a.applied.get() != 7 {
		t.Fatalf("applied %d, want 7", a.applied.get())
	}
}

type bufSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *bufSink) ID() string    { return "test" }
func (s *bufSink) Cancel() error { s.cancelled = true; return nil }
func (s *bufSink) Close() error  { return nil }

func TestSnapshotRoundTrip(t *testing.T) {
	src := newFSM(newWindow(0, 0))
	applyAll(src, 1,
		put(t, "b", "2", "b2"), put(t, "a", "1", "a1"), put(t, "", "c", "c"),
		entry(t, storev1.CommandType_COMMAND_TYPE_SET_MEMBER, &storev1.Command{Member: &storev1.MemberInfo{Id: "r1", ApiAddress: "h:1"}}),
		entry(t, storev1.CommandType_COMMAND_TYPE_DELETE, &storev1.Command{Kind: "k", Namespace: "b", Name: "2"}),
	)
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Changes after the snapshot must not leak into it.
	applyAll(src, 6, put(t, "z", "late", "x"))
	sink := &bufSink{}
	if err := snap.Persist(sink); err != nil || sink.cancelled {
		t.Fatalf("persist: %v (cancelled %v)", err, sink.cancelled)
	}
	snap.Release()

	win := newWindow(0, 0)
	dst := newFSM(win)
	w, err := win.watch(context.Background(), Prefix{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Restore(io.NopCloser(&sink.Buffer)); err != nil {
		t.Fatal(err)
	}
	if _, open := <-w.Events(); open || !errors.Is(w.Err(), ErrCompacted) {
		t.Fatalf("watch across restore: open=%v err=%v", open, w.Err())
	}
	if dst.applied.get() != 5 || win.oldest() != 5 {
		t.Fatalf("restored index %d, window from %d; want 5", dst.applied.get(), win.oldest())
	}
	tr, rev, kindRev := dst.cloneKind("k")
	if rev != 5 || kindRev != 5 {
		t.Fatalf("revision %d, kind revision %d", rev, kindRev)
	}
	var got []string
	tr.Ascend(func(r *Record) bool {
		got = append(got, r.Key.Namespace+"/"+r.Key.Name+"="+string(r.Value))
		return true
	})
	if want := "[/c=c a/1=a1]"; fmtSlice(got) != want {
		t.Fatalf("restored %v, want %s", got, want)
	}
	if a, _ := dst.member("r1"); a != "h:1" {
		t.Fatalf("member table: %q", a)
	}
	if _, err := readSnapshot(bytes.NewReader(sink.Bytes()[:3])); err == nil {
		t.Fatal("truncated snapshot accepted")
	}
}

func fmtSlice(s []string) string {
	var b bytes.Buffer
	b.WriteString("[")
	for i, x := range s {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(x)
	}
	b.WriteString("]")
	return b.String()
}

func TestWindowCompaction(t *testing.T) {
	win := newWindow(5, 4)
	var evs []Event
	for i := int64(1); i <= 8; i++ {
		evs = append(evs, Event{Type: EventPut, Revision: i * 10, Key: Key{Kind: "k", Name: "n"}})
	}
	win.append(evs)
	if win.oldest() != 30 {
		t.Fatalf("window starts after %d, want 30", win.oldest())
	}
	if _, err := win.watch(context.Background(), Prefix{}, 29); !errors.Is(err, ErrCompacted) {
		t.Fatalf("watch from 29: %v", err)
	}
	w, err := win.watch(context.Background(), Prefix{Kind: "k"}, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, want := range []int64{40, 50, 60, 70, 80} {
		if ev := <-w.Events(); ev.Revision != want {
			t.Fatalf("replayed %d, want %d", ev.Revision, want)
		}
	}
	win.append([]Event{{Type: EventDelete, Revision: 90, Key: Key{Kind: "k", Name: "n"}}})
	if ev := <-w.Events(); ev.Revision != 90 || ev.Type != EventDelete {
		t.Fatalf("live event %+v", ev)
	}
	win.close()
	if _, open := <-w.Events(); open || !errors.Is(w.Err(), ErrClosed) {
		t.Fatalf("after close: open=%v err=%v", open, w.Err())
	}
	if _, err := win.watch(context.Background(), Prefix{}, 90); !errors.Is(err, ErrClosed) {
		t.Fatalf("watch on closed window: %v", err)
	}
}

// A watch from a revision the replica has not applied yet (its client saw it
// on another replica, or before a restart) must not get older changes that
// the replica applies while catching up.
func TestWatchFromAheadSkipsChangesBeingReplayed(t *testing.T) {
	win := newWindow(16, 16)
	w, err := win.watch(context.Background(), Prefix{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for rev := int64(10); rev <= 70; rev += 10 {
		win.append([]Event{{Type: EventPut, Revision: rev, Key: Key{Kind: "k", Name: "n"}}})
	}
	for _, want := range []int64{60, 70} {
		if ev := <-w.Events(); ev.Revision != want {
			t.Fatalf("got revision %d, want %d", ev.Revision, want)
		}
	}
}
