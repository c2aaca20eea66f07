package kinds

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/manifest"
)

// The pod examples must decode and pass validation as they are.
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
			pod, ok := obj.(*corev1.Pod)
			if !ok {
				t.Fatalf("%s: got %T, want a Pod", name, obj)
			}
			defaultPod(pod)
			if errs := validatePodSpec(pod.GetSpec()); len(errs) != 0 {
				t.Fatalf("%s: %v", name, errs)
			}
		}
	}
}
