package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// KindSource lists then watches one kind (optionally one namespace) and
// enqueues the key of every object it sees. It relists when the watch
// breaks or every resync period, so no change is ever lost for good.
type KindSource struct {
	Client    corev1.ResourceServiceClient
	GVK       apis.GVK
	Namespace string
	Resync    time.Duration
	Logger    *slog.Logger
	// Map, when set, turns each object seen into the keys to enqueue
	// instead of the object's own (e.g. a pod into its owner's key).
	Map func(obj apis.Object) []Request
}

// Source returns the Source function for a Controller.
func (s KindSource) Source() Source {
	return func(ctx context.Context, enqueue func(Request)) error {
		resync := s.Resync
		if resync == 0 {
			resync = 5 * time.Minute
		}
		logger := s.Logger
		if logger == nil {
			logger = slog.Default()
		}
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := s.listAndWatch(ctx, resync, enqueue)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				logger.Debug("list/watch ended; relisting", "kind", s.GVK.Kind, "err", err, "backoff", backoff)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, 10*time.Second)
				continue
			}
			backoff = 100 * time.Millisecond
		}
		return nil
	}
}

var errResync = errors.New("resync period elapsed")

func (s KindSource) listAndWatch(ctx context.Context, resync time.Duration, enqueue func(Request)) error {
	rev, err := s.list(ctx, enqueue)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeoutCause(ctx, resync, errResync)
	defer cancel()
	stream, err := s.Client.Watch(wctx, &corev1.WatchRequest{
		ApiVersion: s.GVK.APIVersion, Kind: s.GVK.Kind, Namespace: s.Namespace, ResourceVersion: rev,
	})
	if err != nil {
		return fmt.Errorf("watch %s: %w", s.GVK.Kind, err)
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			if context.Cause(wctx) == errResync {
				return nil
			}
			if status.Code(err) == codes.OutOfRange {
				return nil
			}
			return fmt.Errorf("watch %s: %w", s.GVK.Kind, err)
		}
		if ev.GetObject() == nil {
			continue
		}
		if err := s.enqueueObject(ev.GetObject().GetValue(), enqueue); err != nil {
			return err
		}
	}
}

func (s KindSource) list(ctx context.Context, enqueue func(Request)) (int64, error) {
	cont := ""
	for {
		resp, err := s.Client.List(ctx, &corev1.ListRequest{
			ApiVersion: s.GVK.APIVersion, Kind: s.GVK.Kind, Namespace: s.Namespace, Continue: cont,
		})
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", s.GVK.Kind, err)
		}
		for _, item := range resp.GetItems() {
			if err := s.enqueueObject(item.GetValue(), enqueue); err != nil {
				return 0, err
			}
		}
		if resp.GetContinue() == "" {
			return resp.GetResourceVersion(), nil
		}
		cont = resp.GetContinue()
	}
}

func (s KindSource) enqueueObject(value []byte, enqueue func(Request)) error {
	obj, err := apis.Types{}.New(s.GVK)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(value, obj); err != nil {
		return fmt.Errorf("decode %s: %w", s.GVK.Kind, err)
	}
	if s.Map != nil {
		for _, r := range s.Map(obj) {
			enqueue(r)
		}
		return nil
	}
	md := obj.GetMetadata()
	enqueue(Request{Namespace: md.GetNamespace(), Name: md.GetName()})
	return nil
}

// OwnerKeys is a KindSource.Map that enqueues the controlling owner of an
// object if it is of kind owner (in the object's namespace).
func OwnerKeys(owner apis.GVK) func(apis.Object) []Request {
	return func(obj apis.Object) []Request {
		md := obj.GetMetadata()
		for _, ref := range md.GetOwnerReferences() {
			if ref.GetController() && ref.GetKind() == owner.Kind && ref.GetApiVersion() == owner.APIVersion {
				return []Request{{Namespace: md.GetNamespace(), Name: ref.GetName()}}
			}
		}
		return nil
	}
}
