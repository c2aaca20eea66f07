package hostagent

import (
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// A private registry needs the credentials of a Secret named in
// spec.imagePullSecrets; without them the pull fails as unauthorized.
func TestImagePullSecrets(t *testing.T) {
	e := newAgentEnv(t, func(c *Config) { c.BackoffBase, c.BackoffMax = time.Second, 2*time.Second })
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "puller" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(private.Close)
	host := strings.TrimPrefix(private.URL, "http://")
	src, _ := name.ParseReference(e.image, name.Insecure)
	img, err := remote.Image(src)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := name.ParseReference(host+"/private/busybox:1", name.Insecure)
	if err := remote.Write(dst, img, remote.WithAuth(&authn.Basic{Username: "puller", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("puller:s3cret"))
	secret := &corev1.Secret{
		Metadata: &corev1.ObjectMeta{Name: "regcred", Namespace: "demo"},
		Type:     apis.SecretDockerConfigJSON,
		Data:     map[string][]byte{apis.DockerConfigJSONKey: []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth))},
	}
	if _, err := client.For[*corev1.Secret](e.c).Create(e.ctx(), secret); err != nil {
		t.Fatal(err)
	}

	denied := e.newPod("no-cred", "sleep", "60")
	denied.Spec.Containers[0].Image = host + "/private/busybox:1"
	e.create(denied)
	e.waitPod("no-cred", 30*time.Second, func(p *corev1.Pod) error {
		w := containerStatus(p).GetState().GetWaiting()
		if w.GetReason() != WaitErrImagePull && w.GetReason() != WaitImagePullBackOff {
			return fmt.Errorf("waiting %v", w)
		}
		return nil
	})

	allowed := e.newPod("with-cred", "sleep", "60")
	allowed.Spec.Containers[0].Image = host + "/private/busybox:1"
	allowed.Spec.ImagePullSecrets = []string{"regcred"}
	e.create(allowed)
	e.waitPod("with-cred", 60*time.Second, func(p *corev1.Pod) error {
		if p.GetStatus().GetPhase() != PhaseRunning {
			return fmt.Errorf("phase %q, status %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
		}
		return nil
	})
}
