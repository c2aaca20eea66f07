package store

import (
	"bufio"
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protodelim"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
)

// snapshotVersion is the on-disk snapshot format (SnapshotHeader.version).
const snapshotVersion = 1

// maxSnapshotMessage bounds one message read from a snapshot.
const maxSnapshotMessage = 256 << 20

// fsmSnapshot is a frozen copy of the state (copy-on-write tree clones).
// Persist runs concurrently with Apply.
type fsmSnapshot struct {
	index   int64
	kinds   map[string]*tree
	kindRev map[string]int64
	members map[string]string
}

var _ raft.FSMSnapshot = (*fsmSnapshot)(nil)

// Persist writes the snapshot: a SnapshotHeader, then every record as a
// SnapshotRecord, in kind, namespace, name order; all varint-delimited.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot at %d: %w", s.index, err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	kinds := make([]string, 0, len(s.kinds))
	var count uint64
	for k, t := range s.kinds {
		kinds = append(kinds, k)
		count += uint64(t.Len())
	}
	sort.Strings(kinds)
	hdr := &storev1.SnapshotHeader{
		Version:       snapshotVersion,
		Index:         uint64(s.index),
		KindRevisions: s.kindRev,
		RecordCount:   count,
	}
	ids := make([]string, 0, len(s.members))
	for id := range s.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		hdr.Members = append(hdr.Members, &storev1.MemberInfo{Id: id, ApiAddress: s.members[id]})
	}
	if _, err := protodelim.MarshalTo(bw, hdr); err != nil {
		return err
	}
	var err error
	rec := &storev1.SnapshotRecord{}
	for _, k := range kinds {
		s.kinds[k].Ascend(func(r *Record) bool {
			rec.Kind, rec.Namespace, rec.Name = r.Key.Kind, r.Key.Namespace, r.Key.Name
			rec.Value, rec.CreateRevision, rec.ModRevision = r.Value, r.CreateRevision, r.ModRevision
			_, err = protodelim.MarshalTo(bw, rec)
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Release drops the clones.
func (s *fsmSnapshot) Release() { s.kinds = nil }

// readSnapshot decodes what Persist wrote.
func readSnapshot(r io.Reader) (*fsmSnapshot, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	opts := protodelim.UnmarshalOptions{MaxSize: maxSnapshotMessage}
	hdr := &storev1.SnapshotHeader{}
	if err := opts.UnmarshalFrom(br, hdr); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if hdr.GetVersion() != snapshotVersion {
		return nil, fmt.Errorf("unsupported snapshot version %d", hdr.GetVersion())
	}
	s := &fsmSnapshot{
		index:   int64(hdr.GetIndex()),
		kinds:   map[string]*tree{},
		kindRev: map[string]int64{},
		members: map[string]string{},
	}
	for k, r := range hdr.GetKindRevisions() {
		s.kindRev[k] = r
	}
	for _, m := range hdr.GetMembers() {
		s.members[m.GetId()] = m.GetApiAddress()
	}
	for i := uint64(0); i < hdr.GetRecordCount(); i++ {
		rec := &storev1.SnapshotRecord{}
		if err := opts.UnmarshalFrom(br, rec); err != nil {
			return nil, fmt.Errorf("record %d of %d: %w", i, hdr.GetRecordCount(), err)
		}
		t := s.kinds[rec.GetKind()]
		if t == nil {
			t = newTree()
			s.kinds[rec.GetKind()] = t
		}
		t.ReplaceOrInsert(&Record{
			Key:            Key{Kind: rec.GetKind(), Namespace: rec.GetNamespace(), Name: rec.GetName()},
			Value:          rec.GetValue(),
			CreateRevision: rec.GetCreateRevision(),
			ModRevision:    rec.GetModRevision(),
		})
	}
	return s, nil
}
