package nodeauth

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// PodGetter reads the stored pod (never the request's copy, which the
// caller controls).
type PodGetter func(ctx context.Context, namespace, name string) (*corev1.Pod, error)

// HostPodLister lists the stored pods of namespace bound to host.
type HostPodLister func(ctx context.Context, namespace, host string) ([]*corev1.Pod, error)

// Authorizer is the node authorizer.
type Authorizer struct {
	pods     PodGetter
	hostPods HostPodLister
}

// New returns the authorizer.
func New(pods PodGetter, hostPods HostPodLister) *Authorizer {
	return &Authorizer{pods: pods, hostPods: hostPods}
}

var _ grpcserver.Authorizer = (*Authorizer)(nil)

// Authorize implements grpcserver.Authorizer.
func (z *Authorizer) Authorize(ctx context.Context, a grpcserver.Attributes) (grpcserver.Decision, string, error) {
	host, ok := hostOf(a.Identity)
	if !ok || !a.IsResource() || a.Group != (apis.GVK{APIVersion: apis.CoreV1}).Group() {
		return grpcserver.NoOpinion, "", nil
	}
	switch a.Kind {
	case "Host", "Lease":
		return own(a, host)
	case "Pod":
		return z.pod(ctx, a, host)
	case "Secret":
		return z.secret(ctx, a, host)
	}
	return grpcserver.NoOpinion, "", nil
}

// secret lets a host read one secret by name, only while a pod bound to
// it in that namespace uses it (as an image pull secret), as Kubernetes'
// node authorizer does: a stolen host identity cannot list secrets nor
// read those of pods running elsewhere.
func (z *Authorizer) secret(ctx context.Context, a grpcserver.Attributes, host string) (grpcserver.Decision, string, error) {
	if a.Verb != "get" || a.Name == "" {
		return grpcserver.Deny, fmt.Sprintf("a host may only get secrets its pods use by name, not %s them", a.Verb), nil
	}
	pods, err := z.hostPods(ctx, a.Namespace, host)
	if err != nil {
		return grpcserver.Deny, "", fmt.Errorf("node authorizer: list pods: %w", err)
	}
	for _, p := range pods {
		if p.GetSpec().GetNodeName() == host && slices.Contains(p.GetSpec().GetImagePullSecrets(), a.Name) {
			return grpcserver.NoOpinion, "", nil
		}
	}
	return grpcserver.Deny, fmt.Sprintf("no pod bound to host %q in namespace %q uses secret %q", host, a.Namespace, a.Name), nil
}

// hostOf returns the host name of a host agent identity.
func hostOf(id grpcserver.Identity) (string, bool) {
	name, ok := strings.CutPrefix(id.User, grpcserver.HostUserPrefix)
	if !ok || name == "" || !id.InGroup(grpcserver.GroupHosts) {
		return "", false
	}
	return name, true
}

// own allows calls on the object named like the host; listing the kind is
// left to RBAC (agents list nothing else of it).
func own(a grpcserver.Attributes, host string) (grpcserver.Decision, string, error) {
	kind := a.Kind
	if a.Name == "" {
		if a.Verb == "create" {
			return grpcserver.Deny, fmt.Sprintf("a host may only create its own %s %q", kind, host), nil
		}
		return grpcserver.NoOpinion, "", nil
	}
	if a.Name != host {
		return grpcserver.Deny, fmt.Sprintf("host %q may only touch its own %s, not %q", host, kind, a.Name), nil
	}
	return grpcserver.NoOpinion, "", nil
}

func (z *Authorizer) pod(ctx context.Context, a grpcserver.Attributes, host string) (grpcserver.Decision, string, error) {
	switch a.Verb {
	case "list", "watch":
		if selectsHost(a.Request, host) {
			return grpcserver.NoOpinion, "", nil
		}
		return grpcserver.Deny, fmt.Sprintf("host %q may only %s pods with fieldSelector spec.nodeName=%s", host, a.Verb, host), nil
	case "create", "exec", "logs", "evict":
		return grpcserver.Deny, fmt.Sprintf("a host may not %s pods", a.Verb), nil
	}
	if a.Name == "" {
		return grpcserver.Deny, "a host must name the pod", nil
	}
	pod, err := z.pods(ctx, a.Namespace, a.Name)
	if apierr.CodeOf(err) == codes.NotFound {
		return grpcserver.Deny, fmt.Sprintf("pod %q in namespace %q is not bound to host %q", a.Name, a.Namespace, host), nil
	}
	if err != nil {
		return grpcserver.Deny, "", fmt.Errorf("node authorizer: read pod: %w", err)
	}
	if pod.GetSpec().GetNodeName() != host {
		return grpcserver.Deny, fmt.Sprintf("pod %q in namespace %q is not bound to host %q", a.Name, a.Namespace, host), nil
	}
	return grpcserver.NoOpinion, "", nil
}

// selectsHost reports whether a List or Watch request selects exactly the
// pods bound to host.
func selectsHost(req any, host string) bool {
	var sel string
	switch r := req.(type) {
	case *corev1.ListRequest:
		sel = r.GetFieldSelector()
	case *corev1.WatchRequest:
		sel = r.GetFieldSelector()
	default:
		return false
	}
	for _, term := range strings.Split(sel, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(term), "="); ok && !strings.HasSuffix(k, "!") && strings.TrimSpace(k) == "spec.nodeName" && strings.TrimPrefix(strings.TrimSpace(v), "=") == host {
			return true
		}
	}
	return false
}
