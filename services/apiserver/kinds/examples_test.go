package kinds

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/manifest"
)

// The pod and deployment examples must decode and pass validation as
// they are.
func TestPodExamplesAreValid(t *testing.T) {
	for _, name := range []string{"pod.yaml", "scheduling.yaml"} {
		path := filepath.Join("..", "..", "..", "examples", name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := manifest.Decoder{}.Decode(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, obj := range objs {
			var spec *corev1.PodSpec
			switch o := obj.(type) {
			case *corev1.Pod:
				spec = o.GetSpec()
			case *corev1.Deployment:
				spec = o.GetSpec().GetTemplate().GetSpec()
			default:
				t.Fatalf("%s: got %T, want a Pod or Deployment", name, obj)
			}
			defaultPod(&corev1.Pod{Spec: spec})
			if errs := validatePodSpec(spec); len(errs) != 0 {
				t.Fatalf("%s: %v", name, errs)
			}
		}
	}
}
