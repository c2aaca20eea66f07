package resource

import (
	"context"
	"errors"
	"time"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/registry"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Watch implements ResourceService.
func (s *Service) Watch(req *corev1.WatchRequest, stream corev1.ResourceService_WatchServer) error {
	ctx := stream.Context()
	k, err := s.kindFor(req.GetApiVersion(), req.GetKind())
	if err != nil {
		return err
	}
	fe := validateNamespaceScope(k, req.GetNamespace(), false)
	sel := parseFilter(k, req.GetLabelSelector(), req.GetFieldSelector(), &fe)
	if req.GetResourceVersion() < 0 {
		fe.Add("resourceVersion", "must not be negative")
	}
	if err := fe.Err("watch request"); err != nil {
		return err
	}
	prefix := store.Prefix{Kind: k.GroupKind(), Namespace: req.GetNamespace()}
	rev := req.GetResourceVersion()
	if rev == 0 {
		if rev, err = s.sendInitialState(ctx, k, prefix, sel, stream); err != nil {
			return err
		}
	}
	w, err := s.store.Watch(ctx, prefix, rev)
	if err != nil {
		return storeErr(err, k, "")
	}
	defer w.Close()

	var bookmarks <-chan time.Time
	if req.GetAllowBookmarks() {
		t := time.NewTicker(s.bookmark)
		defer t.Stop()
		bookmarks = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-bookmarks:
			if err := stream.Send(&corev1.WatchResponse{Type: corev1.EventType_EVENT_TYPE_BOOKMARK, ResourceVersion: rev}); err != nil {
				return err
			}
		case ev, ok := <-w.Events():
			if !ok {
				if werr := w.Err(); werr != nil && !errors.Is(werr, context.Canceled) {
					return storeErr(werr, k, "")
				}
				return nil
			}
			rev = ev.Revision
			resp, err := watchResponse(k, sel, ev)
			if err != nil {
				return err
			}
			if resp == nil {
				continue
			}
			if err := stream.Send(resp); err != nil {
				return err
			}
		}
	}
}

// sendInitialState sends every current object as ADDED, then a BOOKMARK, and
// returns the revision the state was read at.
func (s *Service) sendInitialState(ctx context.Context, k *registry.Kind, prefix store.Prefix, sel filter, stream corev1.ResourceService_WatchServer) (int64, error) {
	var rev int64
	after := ""
	for {
		page, err := s.store.List(ctx, prefix, store.ListOptions{Limit: defaultListLimit, After: after, Revision: rev})
		if err != nil {
			return 0, storeErr(err, k, "")
		}
		rev = page.Revision
		for _, rec := range page.Records {
			after = store.AfterKey(rec.Key)
			obj, err := s.decodeRecord(k, rec)
			if err != nil {
				return 0, err
			}
			if !sel.matches(obj) {
				continue
			}
			if err := sendObject(stream, corev1.EventType_EVENT_TYPE_ADDED, obj); err != nil {
				return 0, err
			}
		}
		if !page.More {
			break
		}
	}
	return rev, stream.Send(&corev1.WatchResponse{Type: corev1.EventType_EVENT_TYPE_BOOKMARK, ResourceVersion: rev})
}

func sendObject(stream corev1.ResourceService_WatchServer, t corev1.EventType, obj apis.Object) error {
	a, err := toAny(obj)
	if err != nil {
		return err
	}
	return stream.Send(&corev1.WatchResponse{Type: t, Object: a, ResourceVersion: obj.GetMetadata().GetResourceVersion()})
}

// watchResponse turns a store event into what a watcher with selector sel
// sees, or nil. An object whose labels stop matching is DELETED for that
// watcher; one that starts matching is ADDED (as Kubernetes does).
func watchResponse(k *registry.Kind, sel filter, ev store.Event) (*corev1.WatchResponse, error) {
	obj, err := decodeValue(k, ev.Value, ev.Revision)
	if err != nil {
		return nil, err
	}
	match := sel.matches(obj)
	var t corev1.EventType
	switch {
	case ev.Type == store.EventDelete:
		if !match {
			return nil, nil
		}
		t = corev1.EventType_EVENT_TYPE_DELETED
	case ev.PrevValue == nil:
		if !match {
			return nil, nil
		}
		t = corev1.EventType_EVENT_TYPE_ADDED
	default:
		prevMatch := true
		if !sel.empty() {
			prev, err := decodeValue(k, ev.PrevValue, ev.Revision)
			if err != nil {
				return nil, err
			}
			prevMatch = sel.matches(prev)
		}
		switch {
		case match && prevMatch:
			t = corev1.EventType_EVENT_TYPE_MODIFIED
		case match:
			t = corev1.EventType_EVENT_TYPE_ADDED
		case prevMatch:
			t = corev1.EventType_EVENT_TYPE_DELETED
		default:
			return nil, nil
		}
	}
	a, err := toAny(obj)
	if err != nil {
		return nil, err
	}
	return &corev1.WatchResponse{Type: t, Object: a, ResourceVersion: ev.Revision}, nil
}
