package apiserver_test

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/apiserver/apiservertest"
)

type seen struct {
	typ  corev1.EventType
	name string
	rev  int64
}

func recvN(t *testing.T, stream corev1.ResourceService_WatchClient, n int) []seen {
	t.Helper()
	var out []seen
	for len(out) < n {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("watch ended after %v: %v", out, err)
		}
		s := seen{typ: ev.GetType(), rev: ev.GetResourceVersion()}
		if ev.GetObject() != nil {
			m, err := ev.GetObject().UnmarshalNew()
			if err != nil {
				t.Fatal(err)
			}
			obj := m.(apis.Object)
			s.name = obj.GetMetadata().GetName()
			if obj.GetMetadata().GetResourceVersion() != s.rev {
				t.Fatalf("event rev %d but object rv %d", s.rev, obj.GetMetadata().GetResourceVersion())
			}
		}
		out = append(out, s)
	}
	return out
}

func TestWatchInitialStateThenChangesWithSelector(t *testing.T) {
	a := dial(t, apiservertest.StartReplica(t))
	a.mustCreateNS("old", map[string]string{"w": "yes"})
	a.mustCreateNS("other", nil)
	stream, err := a.rc.Watch(ctx(t), &corev1.WatchRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", LabelSelector: "w=yes"})
	if err != nil {
		t.Fatal(err)
	}
	got := recvN(t, stream, 2)
	if got[0].typ != corev1.EventType_EVENT_TYPE_ADDED || got[0].name != "old" || got[1].typ != corev1.EventType_EVENT_TYPE_BOOKMARK {
		t.Fatalf("initial state = %v", got)
	}
	a.mustCreateNS("new", map[string]string{"w": "yes"})
	a.mustCreateNS("ignored", nil)
	// Label change out of the selector reads as DELETED for this watcher.
	ns, err := a.getNS("old")
	if err != nil {
		t.Fatal(err)
	}
	ns.Metadata.Labels = nil
	if _, err := a.updateNS(ns); err != nil {
		t.Fatal(err)
	}
	got = recvN(t, stream, 2)
	if got[0] != (seen{corev1.EventType_EVENT_TYPE_ADDED, "new", got[0].rev}) || got[1].typ != corev1.EventType_EVENT_TYPE_DELETED || got[1].name != "old" {
		t.Fatalf("changes = %v", got)
	}
	if got[1].rev <= got[0].rev {
		t.Fatalf("revisions out of order: %v", got)
	}
}

func TestWatchResumesFromRevisionAndRefusesCompacted(t *testing.T) {
	a := dial(t, apiservertest.StartCluster(t, 1, apiservertest.Options{Tweak: func(c *apiserver.Config) { c.EventWindow = 8 }})[0])
	first := a.mustCreateNS("w-0", nil)
	for i := 1; i < 5; i++ {
		a.mustCreateNS(fmt.Sprintf("w-%d", i), nil)
	}
	stream, err := a.rc.Watch(ctx(t), &corev1.WatchRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", ResourceVersion: first.GetMetadata().GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	got := recvN(t, stream, 4)
	for i, s := range got {
		if s.name != fmt.Sprintf("w-%d", i+1) || s.typ != corev1.EventType_EVENT_TYPE_ADDED {
			t.Fatalf("resumed watch = %v", got)
		}
	}
	for i := 5; i < 20; i++ {
		a.mustCreateNS(fmt.Sprintf("w-%d", i), nil)
	}
	old, err := a.rc.Watch(ctx(t), &corev1.WatchRequest{ApiVersion: apis.CoreV1, Kind: "Namespace", ResourceVersion: first.GetMetadata().GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = old.Recv()
	wantCode(t, err, codes.OutOfRange, "list again")
}

// 50 writers do read-modify-write on one object through three replicas; the
// final counter equals the number of acknowledged increments.
func TestConcurrentReadModifyWriteAcrossReplicas(t *testing.T) {
	replicas := apiservertest.StartCluster(t, 3, apiservertest.Options{})
	clients := make([]*api, len(replicas))
	for i, r := range replicas {
		clients[i] = dial(t, r)
	}
	clients[0].mustCreateNS("counter", map[string]string{"n": "0"})
	const writers, perWriter = 50, 4
	var acked atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w%len(clients)]
			for done := 0; done < perWriter; {
				ns, err := c.getNS("counter")
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.Atoi(ns.GetMetadata().GetLabels()["n"])
				ns.Metadata.Labels["n"] = strconv.Itoa(n + 1)
				if _, err := c.updateNS(ns); err != nil {
					if codesOf(err) == codes.Aborted {
						continue
					}
					errs <- err
					return
				}
				acked.Add(1)
				done++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ns, err := clients[1].getNS("counter")
	if err != nil {
		t.Fatal(err)
	}
	if got := ns.GetMetadata().GetLabels()["n"]; got != strconv.FormatInt(acked.Load(), 10) || acked.Load() != writers*perWriter {
		t.Fatalf("counter = %s, acknowledged = %d", got, acked.Load())
	}
}
