package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/apiserver/store"
	"github.com/openpacific/pacific/services/apiserver/store/storetest"
)

func TestWritesOnFollowerAreForwarded(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 3)
	leader := c.Leader()
	fs := c.Followers()
	f1, f2 := fs[0].Store(), fs[1].Store()
	if f1.IsLeader() {
		t.Fatal("follower claims to lead")
	}
	k := key("default", "a")

	created := mustCreate(t, ctx, f1, k, "v1")
	if created.CreateRevision == 0 || created.ModRevision != created.CreateRevision {
		t.Fatalf("created record %+v", created)
	}
	// A linearizable read on another follower sees the write at once.
	got := mustGet(t, ctx, f2, k, "v1")
	if got.ModRevision != created.ModRevision || got.CreateRevision != created.CreateRevision {
		t.Fatalf("get = %+v, want revisions of %+v", got, created)
	}
	if _, err := f2.Create(ctx, k, []byte("again")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	cur, err := f1.Update(ctx, k, []byte("v2"), created.ModRevision+1000)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if cur.ModRevision != created.ModRevision || string(cur.Value) != "v1" {
		t.Fatalf("conflict reports %+v, want the current record", cur)
	}
	updated, err := f1.Update(ctx, k, []byte("v2"), created.ModRevision)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.ModRevision <= created.ModRevision || updated.CreateRevision != created.CreateRevision {
		t.Fatalf("updated %+v after %+v", updated, created)
	}
	mustGet(t, ctx, leader.Store(), k, "v2")
	if _, err := f2.Delete(ctx, k, created.ModRevision); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale delete: %v, want ErrConflict", err)
	}
	deleted, err := f2.Delete(ctx, k, updated.ModRevision)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if string(deleted.Value) != "v2" || deleted.ModRevision <= updated.ModRevision {
		t.Fatalf("delete returned %+v", deleted)
	}
	eventually(t, "every replica's last change of the kind is the delete", func() error {
		for _, r := range c.Running() {
			if got := r.Store().KindRevision(kind); got != deleted.ModRevision {
				return fmt.Errorf("%s: KindRevision %d, want %d", r.ID, got, deleted.ModRevision)
			}
		}
		return nil
	})
	if got := f1.KindRevision("some.other/Kind"); got != 0 {
		t.Fatalf("KindRevision of a kind never written: %d", got)
	}
	for _, r := range c.Running() {
		if _, err := r.Store().Get(ctx, k, store.ReadOptions{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get after delete on %s: %v, want ErrNotFound", r.ID, err)
		}
	}
	if _, err := f1.Update(ctx, k, []byte("x"), 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of missing key: %v, want ErrNotFound", err)
	}
	if rev := f2.Revision(); rev < deleted.ModRevision {
		t.Fatalf("revision %d after linearizable read, want >= %d", rev, deleted.ModRevision)
	}
}

func TestLeaderFailover(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 3)
	old := c.Leader()
	for i := range 10 {
		mustCreate(t, ctx, old.Store(), key("default", fmt.Sprintf("k%d", i)), "before")
	}
	subCtx, cancelSubs := context.WithCancel(ctx)
	defer cancelSubs()
	subs := map[string]<-chan bool{}
	for _, r := range c.Followers() {
		ch := r.Store().LeaderChanges(subCtx)
		if v := <-ch; v {
			t.Fatalf("follower %s: first leadership value true", r.ID)
		}
		subs[r.ID] = ch
	}

	c.Stop(old)
	leader := c.Leader()
	if leader.ID == old.ID {
		t.Fatal("stopped replica still leads")
	}
	select {
	case v := <-subs[leader.ID]:
		if !v {
			t.Fatalf("new leader %s was told false", leader.ID)
		}
	case <-time.After(storetest.WaitTimeout):
		t.Fatalf("new leader %s got no leadership notification", leader.ID)
	}
	for _, r := range c.Running() {
		for i := range 10 {
			mustGet(t, ctx, r.Store(), key("default", fmt.Sprintf("k%d", i)), "before")
		}
		mustCreate(t, ctx, r.Store(), key("default", "after-"+r.ID), "after")
	}
	for _, r := range c.Running() {
		for _, w := range c.Running() {
			mustGet(t, ctx, r.Store(), key("default", "after-"+w.ID), "after")
		}
	}

	// With one of three left there is no quorum: writes fail with ErrNoLeader.
	c.Stop(leader)
	last := c.Running()[0].Store()
	// Until its election timeout it may still take the stopped leader for
	// the leader: a write forwarded there meanwhile can end mid-request,
	// which is rightly ErrIndeterminate, not ErrNoLeader.
	eventually(t, "last replica knows no leader", func() error {
		if last.IsLeader() {
			return errors.New("still leader")
		}
		ms, err := last.Members(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Leader {
				return fmt.Errorf("still takes %s for the leader", m.ID)
			}
		}
		return nil
	})
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := last.Create(wctx, key("default", "lonely"), nil); !errors.Is(err, store.ErrNoLeader) {
		t.Fatalf("write without quorum: %v, want ErrNoLeader", err)
	}
	if _, err := last.Get(wctx, key("default", "k0"), store.ReadOptions{Stale: true}); err != nil {
		t.Fatalf("stale read without quorum: %v", err)
	}
	cancelSubs()
	for id, ch := range subs {
		eventually(t, "subscription of "+id+" closes", func() error {
			for {
				select {
				case _, ok := <-ch:
					if !ok {
						return nil
					}
				default:
					return errors.New("open")
				}
			}
		})
	}
}

func TestRestartedReplicaCatchesUp(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 3)
	leader := c.Leader()
	mustCreate(t, ctx, leader.Store(), key("default", "first"), "1")
	f := c.Followers()[0]
	c.Stop(f)
	var last store.Record
	for i := range 30 {
		last = mustCreate(t, ctx, leader.Store(), key("default", fmt.Sprintf("while-down-%02d", i)), "x")
	}
	c.Restart(f)
	st := f.Store()
	// A linearizable read waits until the replica has caught up.
	mustGet(t, ctx, st, key("default", "while-down-29"), "x")
	if st.Revision() < last.ModRevision {
		t.Fatalf("revision %d, want >= %d", st.Revision(), last.ModRevision)
	}
	res, err := st.List(ctx, store.Prefix{Kind: kind, Namespace: "default"}, store.ListOptions{Stale: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 31 {
		t.Fatalf("restarted replica lists %d records, want 31", len(res.Records))
	}
}

func TestSnapshotRestore(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 3, storetest.WithConfig(func(cfg *store.Config) {
		cfg.TrailingLogs = 5
		// raft-wal still serves truncated entries from segments it has not
		// deleted yet: small segments make compaction real.
		cfg.WALSegmentBytes = 1024
	}))
	leader := c.Leader()
	first := mustCreate(t, ctx, leader.Store(), key("default", "k00"), "v0")
	for i := 1; i < 20; i++ {
		mustCreate(t, ctx, leader.Store(), key("default", fmt.Sprintf("k%02d", i)), "v0")
	}
	lagging := c.Followers()[0]
	c.Stop(lagging)
	for i := 20; i < 60; i++ {
		mustCreate(t, ctx, leader.Store(), key("default", fmt.Sprintf("k%02d", i)), "v0")
	}
	mustUpdate(t, ctx, leader.Store(), key("default", "k00"), "v1")
	mustDelete(t, ctx, leader.Store(), key("default", "k01"))
	for _, r := range c.Running() {
		if err := r.Store().Snapshot(ctx); err != nil {
			t.Fatalf("snapshot on %s: %v", r.ID, err)
		}
	}
	check := func(r *storetest.Replica) {
		t.Helper()
		mustGet(t, ctx, r.Store(), key("default", "k00"), "v1")
		mustGet(t, ctx, r.Store(), key("default", "k59"), "v0")
		if _, err := r.Store().Get(ctx, key("default", "k01"), store.ReadOptions{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted key on %s: %v", r.ID, err)
		}
		res, err := r.Store().List(ctx, store.Prefix{Kind: kind}, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Records) != 59 {
			t.Fatalf("%s lists %d records, want 59", r.ID, len(res.Records))
		}
		if _, err := r.Store().Watch(ctx, store.Prefix{Kind: kind}, first.ModRevision); !errors.Is(err, store.ErrCompacted) {
			t.Fatalf("watch from before the snapshot on %s: %v, want ErrCompacted", r.ID, err)
		}
		w, err := r.Store().Watch(ctx, store.Prefix{Kind: kind}, r.Store().Revision())
		if err != nil {
			t.Fatalf("watch from now on %s: %v", r.ID, err)
		}
		w.Close()
	}

	// The leader's log no longer reaches back to where the lagging replica
	// stopped: it must install the snapshot.
	c.Restart(lagging)
	check(lagging)

	// A restart restores the replica's own snapshot, then replays its log.
	c.Stop(leader)
	c.Restart(leader)
	c.Leader()
	check(leader)
	mustCreate(t, ctx, leader.Store(), key("default", "after-restart"), "ok")
}

func TestSingleReplicaRestart(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 1)
	r := c.Leader()
	rec := mustCreate(t, ctx, r.Store(), key("", "cluster-scoped"), "v")
	c.Stop(r)
	c.Restart(r)
	c.Leader()
	got := mustGet(t, ctx, r.Store(), key("", "cluster-scoped"), "v")
	if got.ModRevision != rec.ModRevision {
		t.Fatalf("after restart %+v, want %+v", got, rec)
	}
	// The window was refilled by replaying the log.
	w, err := r.Store().Watch(ctx, store.Prefix{}, rec.ModRevision-1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if ev := collect(t, w, 1)[0]; ev.Revision != rec.ModRevision || ev.Type != store.EventPut {
		t.Fatalf("replayed %+v", ev)
	}
}

func TestConcurrentReadModifyWrite(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 3)
	c.Leader()
	replicas := c.Running()
	k := key("default", "counter")
	mustCreate(t, ctx, replicas[0].Store(), k, "0")

	const writers, attempts = 50, 8
	// Indeterminate writes (a leader change under load) may or may not have
	// counted: the final value must lie between acked and acked+unknown.
	var acked, conflicts, unknown atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := replicas[w%len(replicas)].Store()
			for range attempts {
				rec, err := st.Get(ctx, k, store.ReadOptions{})
				if err != nil {
					errs <- err
					return
				}
				n, err := strconv.Atoi(string(rec.Value))
				if err != nil {
					errs <- err
					return
				}
				_, err = st.Update(ctx, k, []byte(strconv.Itoa(n+1)), rec.ModRevision)
				switch {
				case err == nil:
					acked.Add(1)
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				case errors.Is(err, store.ErrIndeterminate):
					unknown.Add(1)
				default:
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	var final int64 = -1
	for _, r := range replicas {
		rec, err := r.Store().Get(ctx, k, store.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.ParseInt(string(rec.Value), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if final >= 0 && n != final {
			t.Fatalf("%s reads %d, another replica %d", r.ID, n, final)
		}
		final = n
	}
	if final < acked.Load() || final > acked.Load()+unknown.Load() {
		t.Fatalf("counter %d, want %d acknowledged writes (+ up to %d indeterminate)", final, acked.Load(), unknown.Load())
	}
	if acked.Load() == 0 {
		t.Fatal("no write succeeded")
	}
	t.Logf("%d acknowledged writes, %d conflicts, %d indeterminate", acked.Load(), conflicts.Load(), unknown.Load())
}

func TestWatchAcrossLeaderChange(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 3)
	leader := c.Leader()
	fs := c.Followers()
	watcher, writer := fs[0].Store(), fs[1].Store()
	if _, err := watcher.Get(ctx, key("default", "none"), store.ReadOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	from := watcher.Revision()
	w, err := watcher.Watch(ctx, store.Prefix{Kind: kind}, from)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	all, err := watcher.Watch(ctx, store.Prefix{}, from)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()

	for i := range 20 {
		mustCreate(t, ctx, writer, key("default", fmt.Sprintf("k%02d", i)), "v")
	}
	c.Stop(leader)
	c.Leader()
	for i := 20; i < 40; i++ {
		mustCreate(t, ctx, writer, key("default", fmt.Sprintf("k%02d", i)), "v")
	}
	mustCreate(t, ctx, writer, store.Key{Kind: "other.pacific.dev/Thing", Name: "x"}, "v")
	sentinel := mustCreate(t, ctx, writer, key("default", "sentinel"), "v")

	evs := collect(t, w, 41)
	seen := map[string]bool{}
	for i, ev := range evs {
		if ev.Type != store.EventPut || ev.Key.Kind != kind {
			t.Fatalf("event %d: %+v", i, ev)
		}
		if i > 0 && ev.Revision <= evs[i-1].Revision {
			t.Fatalf("revisions out of order: %d after %d", ev.Revision, evs[i-1].Revision)
		}
		if seen[ev.Key.Name] {
			t.Fatalf("%s seen twice", ev.Key.Name)
		}
		seen[ev.Key.Name] = true
	}
	for i := range 40 {
		if !seen[fmt.Sprintf("k%02d", i)] {
			t.Fatalf("k%02d missing from %v", i, names(evs))
		}
	}
	if evs[40].Revision != sentinel.ModRevision {
		t.Fatalf("last event %+v, want the sentinel at %d", evs[40], sentinel.ModRevision)
	}
	if got := collect(t, all, 42); got[40].Key.Kind != "other.pacific.dev/Thing" {
		t.Fatalf("all-kinds watch: %v", names(got))
	}

	// Resume on another replica from the last revision seen in the middle.
	resume, err := writer.Watch(ctx, store.Prefix{Kind: kind, Namespace: "default"}, evs[19].Revision)
	if err != nil {
		t.Fatal(err)
	}
	defer resume.Close()
	tail := collect(t, resume, 21)
	for i, ev := range tail {
		if ev.Revision != evs[20+i].Revision || ev.Key != evs[20+i].Key {
			t.Fatalf("resumed event %d = %+v, want %+v", i, ev, evs[20+i])
		}
	}
}

func TestListPagesAreConsistent(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 3)
	leader := c.Leader()
	st := leader.Store()
	recs := map[string]store.Record{}
	for i := range 25 {
		r := mustCreate(t, ctx, st, key("a", fmt.Sprintf("n%02d", i)), "old")
		recs[r.Key.Name] = r
	}
	for i := range 5 {
		mustCreate(t, ctx, st, key("b", fmt.Sprintf("n%02d", i)), "old")
	}
	mustCreate(t, ctx, st, key("a-b", "z"), "old") // sorts after "a" as a namespace

	p := store.Prefix{Kind: kind, Namespace: "a"}
	page1, err := st.List(ctx, p, store.ListOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page1.Records) != 10 || !page1.More {
		t.Fatalf("page 1: %d records, more=%v", len(page1.Records), page1.More)
	}
	// Changes between pages must not show.
	mustDelete(t, ctx, st, key("a", "n15"))
	mustUpdate(t, ctx, st, key("a", "n20"), "new")
	mustCreate(t, ctx, st, key("a", "n99"), "new")
	mustCreate(t, ctx, st, key("a", "n10a"), "new")

	got := append([]store.Record(nil), page1.Records...)
	last := page1
	for last.More {
		next, err := st.List(ctx, p, store.ListOptions{
			Limit: 10, Revision: page1.Revision, After: store.AfterKey(last.Records[len(last.Records)-1].Key),
		})
		if err != nil {
			t.Fatal(err)
		}
		if next.Revision != page1.Revision {
			t.Fatalf("page at revision %d, want %d", next.Revision, page1.Revision)
		}
		got = append(got, next.Records...)
		last = next
	}
	if len(got) != 25 {
		t.Fatalf("paged %d records, want 25", len(got))
	}
	for i, r := range got {
		want := fmt.Sprintf("n%02d", i)
		if r.Key.Name != want || string(r.Value) != "old" || r.ModRevision != recs[want].ModRevision {
			t.Fatalf("record %d = %s %q at %d, want %s %q at %d", i, r.Key.Name, r.Value, r.ModRevision,
				want, "old", recs[want].ModRevision)
		}
	}

	// The current state shows the changes.
	now, err := st.List(ctx, p, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(now.Records) != 26 || now.Revision <= page1.Revision {
		t.Fatalf("current list: %d records at %d", len(now.Records), now.Revision)
	}
	// Every kind sorted by namespace, then name.
	allNS, err := st.List(ctx, store.Prefix{Kind: kind}, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(allNS.Records); n != 32 || allNS.Records[26].Key.Namespace != "a-b" || allNS.Records[27].Key.Namespace != "b" {
		t.Fatalf("all namespaces: %d records, order %v", n, allNS.Records)
	}

	// Another replica has no clone at page1.Revision; once it has applied
	// the changes, the page is gone there.
	f := c.Followers()[0].Store()
	mustGet(t, ctx, f, key("a", "n10a"), "new")
	if _, err := f.List(ctx, p, store.ListOptions{Limit: 10, Revision: page1.Revision, After: "a/n09"}); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("continuation on another replica after changes: %v, want ErrCompacted", err)
	}
	// Without changes since, it can serve the page from its live tree.
	fresh, err := st.List(ctx, p, store.ListOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	cont, err := f.List(ctx, p, store.ListOptions{Limit: 10, Revision: fresh.Revision, After: store.AfterKey(fresh.Records[9].Key)})
	if err != nil {
		t.Fatalf("continuation on another replica without changes: %v", err)
	}
	if len(cont.Records) != 10 || cont.Records[0].Key.Name != "n10" || cont.Records[1].Key.Name != "n10a" {
		t.Fatalf("continuation: %+v", cont.Records)
	}
	if _, err := st.List(ctx, p, store.ListOptions{Limit: 10, Revision: 1}); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("list at revision 1: %v, want ErrCompacted", err)
	}
}

func TestSlowWatcherIsCut(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 1, storetest.WithConfig(func(cfg *store.Config) { cfg.WatchBuffer = 8 }))
	st := c.Leader().Store()
	from := st.Revision()

	slow, err := st.Watch(ctx, store.Prefix{Kind: kind}, from)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := st.Watch(ctx, store.Prefix{Kind: kind}, from)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	fastGot := make(chan []store.Event, 1)
	go func() {
		var evs []store.Event
		for ev := range fast.Events() {
			evs = append(evs, ev)
			if len(evs) == 30 {
				break
			}
		}
		fastGot <- evs
	}()
	for i := range 30 {
		mustCreate(t, ctx, st, key("default", fmt.Sprintf("k%02d", i)), "v")
	}
	var n int
	for range slow.Events() {
		n++
	}
	if !errors.Is(slow.Err(), store.ErrWatcherTooSlow) || n > 8 {
		t.Fatalf("slow watcher got %d events, err %v; want <= 8 and ErrWatcherTooSlow", n, slow.Err())
	}
	select {
	case evs := <-fastGot:
		if len(evs) != 30 || fast.Err() != nil {
			t.Fatalf("fast watcher got %d events, err %v", len(evs), fast.Err())
		}
	case <-time.After(storetest.WaitTimeout):
		t.Fatal("fast watcher stalled")
	}

	// A watch replaying history is cut too if it does not keep up.
	replaying, err := st.Watch(ctx, store.Prefix{Kind: kind}, from)
	if err != nil {
		t.Fatal(err)
	}
	for i := 30; i < 40; i++ {
		mustCreate(t, ctx, st, key("default", fmt.Sprintf("k%02d", i)), "v")
	}
	n = 0
	for range replaying.Events() {
		n++
	}
	if !errors.Is(replaying.Err(), store.ErrWatcherTooSlow) || n >= 40 {
		t.Fatalf("replaying watcher got %d events, err %v", n, replaying.Err())
	}

	// Closing ends a watch without error; so does its context with its error.
	wctx, cancel := context.WithCancel(ctx)
	w, err := st.Watch(wctx, store.Prefix{Kind: kind}, st.Revision())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range w.Events() {
	}
	if !errors.Is(w.Err(), context.Canceled) {
		t.Fatalf("cancelled watch: %v", w.Err())
	}
}

func TestMembersAddAndRemove(t *testing.T) {
	ctx := testCtx(t)
	c := storetest.NewCluster(t, 3)
	leader := c.Leader()
	for i := range 10 {
		mustCreate(t, ctx, leader.Store(), key("default", fmt.Sprintf("k%d", i)), "v")
	}
	f := c.Followers()[0]
	joiner := c.AddReplica()
	if err := f.Store().AddMember(ctx, joiner.Member()); err != nil {
		t.Fatalf("add member via follower: %v", err)
	}
	// The new replica catches up; linearizable reads on it work.
	mustGet(t, ctx, joiner.Store(), key("default", "k9"), "v")
	mustCreate(t, ctx, joiner.Store(), key("default", "from-joiner"), "v")
	for _, r := range c.Running() {
		eventually(t, "members on "+r.ID, func() error {
			ms, err := r.Store().Members(ctx)
			if err != nil {
				return err
			}
			if len(ms) != 4 {
				return fmt.Errorf("%d members: %+v", len(ms), ms)
			}
			leaders := 0
			for _, m := range ms {
				if m.Leader {
					leaders++
				}
				if !m.Voter {
					return fmt.Errorf("%s is not a voter", m.ID)
				}
				want := c.Replicas()[mustIndex(t, m.ID)].APIAddr
				if m.APIAddr != want {
					return fmt.Errorf("%s API address %q, want %q", m.ID, m.APIAddr, want)
				}
			}
			if leaders != 1 {
				return fmt.Errorf("%d leaders", leaders)
			}
			return nil
		})
	}

	if err := c.Followers()[1].Store().RemoveMember(ctx, joiner.ID); err != nil {
		t.Fatalf("remove member: %v", err)
	}
	c.Stop(joiner)
	eventually(t, "member removed", func() error {
		ms, err := c.Leader().Store().Members(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.ID == joiner.ID {
				return fmt.Errorf("still a member: %+v", ms)
			}
		}
		if len(ms) != 3 {
			return fmt.Errorf("%d members", len(ms))
		}
		return nil
	})
	// The quorum is two of three again: one more replica may fail.
	c.Stop(c.Followers()[0])
	mustCreate(t, ctx, c.Leader().Store(), key("default", "after-remove"), "v")
}

func mustIndex(t *testing.T, id string) int {
	t.Helper()
	n, err := strconv.Atoi(id[1:])
	if err != nil {
		t.Fatalf("replica id %q", id)
	}
	return n
}
