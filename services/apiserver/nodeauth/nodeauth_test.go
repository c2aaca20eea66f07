package nodeauth

import (
	"context"
	"testing"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/internal/grpcserver"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func TestAuthorize(t *testing.T) {
	pods := map[string]string{"mine": "h1", "theirs": "h2"}
	pullSecrets := map[string][]string{"mine": {"regcred"}, "theirs": {"their-cred"}}
	z := New(func(_ context.Context, _, name string) (*corev1.Pod, error) {
		host, ok := pods[name]
		if !ok {
			return nil, apierr.NotFound("pods", name)
		}
		return &corev1.Pod{Spec: &corev1.PodSpec{NodeName: host}}, nil
	}, func(_ context.Context, ns, host string) ([]*corev1.Pod, error) {
		var out []*corev1.Pod
		for name, h := range pods {
			if h == host && ns == "d" {
				out = append(out, &corev1.Pod{Spec: &corev1.PodSpec{NodeName: h, ImagePullSecrets: pullSecrets[name]}})
			}
		}
		return out, nil
	})
	h1 := grpcserver.Identity{User: "system:host:h1", Groups: []string{grpcserver.GroupHosts}}
	core := "core.pacific.dev"
	for _, tc := range []struct {
		name string
		a    grpcserver.Attributes
		want grpcserver.Decision
	}{
		{"own pod", grpcserver.Attributes{Identity: h1, Verb: "updatestatus", Group: core, Kind: "Pod", Namespace: "d", Name: "mine"}, grpcserver.NoOpinion},
		{"other pod", grpcserver.Attributes{Identity: h1, Verb: "get", Group: core, Kind: "Pod", Namespace: "d", Name: "theirs"}, grpcserver.Deny},
		{"missing pod", grpcserver.Attributes{Identity: h1, Verb: "get", Group: core, Kind: "Pod", Namespace: "d", Name: "gone"}, grpcserver.Deny},
		{"watch own", grpcserver.Attributes{Identity: h1, Verb: "watch", Group: core, Kind: "Pod", Request: &corev1.WatchRequest{FieldSelector: "spec.nodeName=h1"}}, grpcserver.NoOpinion},
		{"watch own among terms", grpcserver.Attributes{Identity: h1, Verb: "list", Group: core, Kind: "Pod", Request: &corev1.ListRequest{FieldSelector: "status.phase=Running, spec.nodeName==h1"}}, grpcserver.NoOpinion},
		{"watch all", grpcserver.Attributes{Identity: h1, Verb: "watch", Group: core, Kind: "Pod", Request: &corev1.WatchRequest{}}, grpcserver.Deny},
		{"not-equal trick", grpcserver.Attributes{Identity: h1, Verb: "list", Group: core, Kind: "Pod", Request: &corev1.ListRequest{FieldSelector: "spec.nodeName!=h1"}}, grpcserver.Deny},
		{"other lease", grpcserver.Attributes{Identity: h1, Verb: "update", Group: core, Kind: "Lease", Namespace: "pacific-system", Name: "h2"}, grpcserver.Deny},
		{"own host", grpcserver.Attributes{Identity: h1, Verb: "updatestatus", Group: core, Kind: "Host", Name: "h1"}, grpcserver.NoOpinion},
		{"exec", grpcserver.Attributes{Identity: h1, Verb: "exec", Group: core, Kind: "Pod", Namespace: "d", Name: "mine"}, grpcserver.Deny},
		{"not a host", grpcserver.Attributes{Identity: grpcserver.Identity{User: "alice"}, Verb: "get", Group: core, Kind: "Pod", Namespace: "d", Name: "theirs"}, grpcserver.NoOpinion},
		{"secret its pod uses", grpcserver.Attributes{Identity: h1, Verb: "get", Group: core, Kind: "Secret", Namespace: "d", Name: "regcred"}, grpcserver.NoOpinion},
		{"secret of another host's pod", grpcserver.Attributes{Identity: h1, Verb: "get", Group: core, Kind: "Secret", Namespace: "d", Name: "their-cred"}, grpcserver.Deny},
		{"same name, other namespace", grpcserver.Attributes{Identity: h1, Verb: "get", Group: core, Kind: "Secret", Namespace: "e", Name: "regcred"}, grpcserver.Deny},
		{"list secrets", grpcserver.Attributes{Identity: h1, Verb: "list", Group: core, Kind: "Secret", Namespace: "d"}, grpcserver.Deny},
		{"watch secrets", grpcserver.Attributes{Identity: h1, Verb: "watch", Group: core, Kind: "Secret"}, grpcserver.Deny},
		{"update a used secret", grpcserver.Attributes{Identity: h1, Verb: "update", Group: core, Kind: "Secret", Namespace: "d", Name: "regcred"}, grpcserver.Deny},
		{"host name without the group", grpcserver.Attributes{Identity: grpcserver.Identity{User: "system:host:h1"}, Verb: "get", Group: core, Kind: "Pod", Namespace: "d", Name: "theirs"}, grpcserver.NoOpinion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _, err := z.Authorize(context.Background(), tc.a)
			if err != nil || d != tc.want {
				t.Errorf("decision %v (err %v), want %v", d, err, tc.want)
			}
		})
	}
}
