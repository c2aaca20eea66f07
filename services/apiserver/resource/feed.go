package resource

import (
	"fmt"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// EncodeEvent turns a store change of any kind into the WatchResponse the
// change feed publishes.
func (s *Service) EncodeEvent(ev store.Event) (*corev1.WatchResponse, error) {
	k, ok := s.reg.ByGroupKind(ev.Key.Kind)
	if !ok {
		return nil, fmt.Errorf("change feed: revision %d: unknown kind %q", ev.Revision, ev.Key.Kind)
	}
	obj, err := decodeValue(k, ev.Value, ev.Revision)
	if err != nil {
		return nil, err
	}
	t := corev1.EventType_EVENT_TYPE_MODIFIED
	switch {
	case ev.Type == store.EventDelete:
		t = corev1.EventType_EVENT_TYPE_DELETED
	case ev.PrevValue == nil:
		t = corev1.EventType_EVENT_TYPE_ADDED
	}
	a, err := toAny(obj)
	if err != nil {
		return nil, err
	}
	return &corev1.WatchResponse{Type: t, Object: a, ResourceVersion: ev.Revision}, nil
}
