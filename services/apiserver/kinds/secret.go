package kinds

import (
	"encoding/json"
	"fmt"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/validation"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

const maxSecretBytes = 1 << 20

func secretKind() *registry.Kind {
	return &registry.Kind{
		GVK:        apis.GVK{APIVersion: apis.CoreV1, Kind: "Secret"},
		Plural:     "secrets",
		Namespaced: true,
		New:        func() apis.Object { return &corev1.Secret{} },
		Default: func(obj apis.Object) {
			if s := obj.(*corev1.Secret); s.Type == "" {
				s.Type = apis.SecretOpaque
			}
		},
		Validate: func(obj apis.Object) apierr.FieldErrors {
			var fe apierr.FieldErrors
			s := obj.(*corev1.Secret)
			total := 0
			for k, v := range s.GetData() {
				total += len(k) + len(v)
				if err := validation.ConfigMapKey(k); err != nil {
					fe.Add(fmt.Sprintf("data[%q]", k), "%v", err)
				}
			}
			if total > maxSecretBytes {
				fe.Add("data", "%d bytes exceed the limit of %d", total, maxSecretBytes)
			}
			switch s.GetType() {
			case apis.SecretOpaque:
			case apis.SecretDockerConfigJSON, apis.SecretDockerConfigJSONKubernetes:
				cfg, ok := s.GetData()[apis.DockerConfigJSONKey]
				if !ok {
					fe.Required(fmt.Sprintf("data[%q]", apis.DockerConfigJSONKey))
				} else if !json.Valid(cfg) {
					fe.Add(fmt.Sprintf("data[%q]", apis.DockerConfigJSONKey), "not valid JSON")
				}
			default:
				fe.Add("type", "%q: want %s or %s", s.GetType(), apis.SecretOpaque, apis.SecretDockerConfigJSON)
			}
			return fe
		},
		PrinterColumns: []*corev1.PrinterColumn{
			column("Type", ".type", "string"),
			ageColumn(),
		},
	}
}
