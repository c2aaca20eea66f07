package eviction

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/labels"
	"github.com/openpacific/pacific/services/apiserver/resource"
)

// Objects is the API server's own ResourceService, called in process.
type Objects interface {
	Get(ctx context.Context, req *corev1.GetRequest) (*corev1.GetResponse, error)
	List(ctx context.Context, req *corev1.ListRequest) (*corev1.ListResponse, error)
	Create(ctx context.Context, req *corev1.CreateRequest) (*corev1.CreateResponse, error)
	Update(ctx context.Context, req *corev1.UpdateRequest) (*corev1.UpdateResponse, error)
	Delete(ctx context.Context, req *corev1.DeleteRequest) (*corev1.DeleteResponse, error)
}

// Service serves EvictionService.
type Service struct {
	corev1.UnimplementedEvictionServiceServer
	objects Objects
	log     *slog.Logger
	now     func() time.Time
	mu      sync.Mutex
}

// New returns the service.
func New(objects Objects, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{objects: objects, log: logger.With("component", "eviction"), now: time.Now}
}

// Evict implements EvictionService.
func (s *Service) Evict(ctx context.Context, req *corev1.EvictRequest) (*corev1.EvictResponse, error) {
	var fe apierr.FieldErrors
	if req.GetNamespace() == "" {
		fe.Required("namespace")
	}
	if req.GetName() == "" {
		fe.Required("name")
	}
	if len(req.GetReason()) > 1024 {
		fe.Add("reason", "%d bytes exceed the limit of 1024", len(req.GetReason()))
	}
	if err := fe.Err("eviction"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pod := &corev1.Pod{}
	if err := s.get(ctx, "Pod", req.GetNamespace(), req.GetName(), pod); err != nil {
		return nil, err
	}
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		return &corev1.EvictResponse{Evicted: true, Message: "pod is already being deleted"}, nil
	}
	b, err := s.budgetFor(ctx, pod)
	if err != nil {
		return nil, err
	}
	ready, _ := apis.PodReady(pod)
	if b != nil && ready && b.ready-1 < b.minReady {
		msg := fmt.Sprintf("%s %s would have %d Ready pods, below its minimum of %d (replicas %d, maxUnavailable %d); a replacement is being started first",
			b.kind, b.name, b.ready-1, b.minReady, b.replicas, b.replicas-b.minReady)
		if b.stuck != "" {
			msg += "; " + b.stuck
		}
		if err := s.markLeaving(ctx, pod, req.GetReason()); err != nil {
			return nil, err
		}
		return &corev1.EvictResponse{Evicted: false, Message: msg}, nil
	}
	_, err = s.objects.Delete(ctx, &corev1.DeleteRequest{
		ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: pod.GetMetadata().GetNamespace(), Name: pod.GetMetadata().GetName(),
		ResourceVersion: pod.GetMetadata().GetResourceVersion(),
	})
	if apierr.CodeOf(err) == codes.Aborted {
		return &corev1.EvictResponse{Evicted: false, Message: "the pod changed while being evicted; try again"}, nil
	}
	if err != nil {
		return nil, err
	}
	reason := req.GetReason()
	if reason == "" {
		reason = "evicted through the API"
	}
	s.event(ctx, pod, reason)
	s.log.InfoContext(ctx, "pod evicted", "pod", apis.Key(pod), "reason", reason)
	return &corev1.EvictResponse{Evicted: true, Message: "pod evicted"}, nil
}

// budget is a Deployment's (or lone ReplicaSet's) availability.
type budget struct {
	kind, name string
	replicas   int32
	minReady   int32
	ready      int32
	// stuck says why a pod of the budget cannot be placed (the scheduler's
	// explanation), when one cannot: its replacement would wait forever.
	stuck string
}

// budgetFor finds the pod's Deployment through its ReplicaSet and counts
// its Ready pods. Nil: the pod has no such owner and may go.
func (s *Service) budgetFor(ctx context.Context, pod *corev1.Pod) (*budget, error) {
	ns := pod.GetMetadata().GetNamespace()
	ref := apis.ControllerRef(pod.GetMetadata())
	if ref == nil || ref.GetKind() != "ReplicaSet" || ref.GetApiVersion() != apis.CoreV1 {
		return nil, nil
	}
	rs := &corev1.ReplicaSet{}
	if err := s.get(ctx, "ReplicaSet", ns, ref.GetName(), rs); err != nil {
		if apierr.CodeOf(err) == codes.NotFound {
			return nil, nil
		}
		return nil, err
	}
	b := &budget{kind: "replicaset", name: rs.GetMetadata().GetName(), replicas: rs.GetSpec().GetReplicas()}
	selector := rs.GetSpec().GetSelector()
	maxUnavailable := int32(1)
	if dref := apis.ControllerRef(rs.GetMetadata()); dref != nil && dref.GetKind() == "Deployment" && dref.GetApiVersion() == apis.CoreV1 {
		d := &corev1.Deployment{}
		err := s.get(ctx, "Deployment", ns, dref.GetName(), d)
		switch {
		case err == nil:
			_, u, err := apis.RollingBounds(d)
			if err != nil {
				return nil, err
			}
			b.kind, b.name, b.replicas, selector, maxUnavailable = "deployment", d.GetMetadata().GetName(), d.GetSpec().GetReplicas(), d.GetSpec().GetSelector(), u
		case apierr.CodeOf(err) != codes.NotFound:
			return nil, err
		}
	}
	b.minReady = b.replicas - max(maxUnavailable, 0)
	sel, err := labels.FromProto(selector)
	if err != nil {
		return nil, err
	}
	req := &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: ns, LabelSelector: sel.String()}
	err = resource.ListEach(ctx, s.objects.List, req, func(item *anypb.Any) error {
		p := &corev1.Pod{}
		if err := item.UnmarshalTo(p); err != nil {
			return err
		}
		if ok, _ := apis.PodReady(p); ok && apis.PodActive(p) {
			b.ready++
		}
		if c := apis.FindCondition(p.GetStatus().GetConditions(), "PodScheduled"); c.GetStatus() == "False" && b.stuck == "" && apis.PodActive(p) {
			b.stuck = fmt.Sprintf("pod %s cannot be scheduled: %s", p.GetMetadata().GetName(), c.GetMessage())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// markLeaving annotates the pod so its ReplicaSet replaces it first.
func (s *Service) markLeaving(ctx context.Context, pod *corev1.Pod, reason string) error {
	if _, ok := pod.GetMetadata().GetAnnotations()[apis.EvictingAnnotation]; ok {
		return nil
	}
	next := proto.Clone(pod).(*corev1.Pod)
	if next.Metadata.Annotations == nil {
		next.Metadata.Annotations = map[string]string{}
	}
	if reason == "" {
		reason = "evicting"
	}
	next.Metadata.Annotations[apis.EvictingAnnotation] = reason
	a, err := anypb.New(next)
	if err != nil {
		return err
	}
	_, err = s.objects.Update(ctx, &corev1.UpdateRequest{Object: a})
	if apierr.CodeOf(err) == codes.Aborted {
		return nil // changed meanwhile; the caller retries anyway
	}
	return err
}

func (s *Service) event(ctx context.Context, pod *corev1.Pod, reason string) {
	now := s.now()
	md := pod.GetMetadata()
	ev := &corev1.Event{
		Metadata:       &corev1.ObjectMeta{Name: md.GetName() + "." + strconv.FormatInt(now.UnixNano(), 16), Namespace: md.GetNamespace()},
		InvolvedObject: &corev1.ObjectReference{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: md.GetNamespace(), Name: md.GetName(), Uid: md.GetUid()},
		Reason:         apis.ReasonEvicted, Message: reason, Type: apis.EventNormal, Count: 1,
		FirstTimestamp: timestamppb.New(now), LastTimestamp: timestamppb.New(now),
		Source: &corev1.EventSource{Component: "eviction"},
	}
	a, err := anypb.New(ev)
	if err == nil {
		_, err = s.objects.Create(ctx, &corev1.CreateRequest{Object: a})
	}
	if err != nil {
		s.log.WarnContext(ctx, "record eviction event", "pod", apis.Key(pod), "err", err)
	}
}

func (s *Service) get(ctx context.Context, kind, ns, name string, into proto.Message) error {
	resp, err := s.objects.Get(ctx, &corev1.GetRequest{ApiVersion: apis.CoreV1, Kind: kind, Namespace: ns, Name: name})
	if err != nil {
		return err
	}
	return resp.GetObject().UnmarshalTo(into)
}
