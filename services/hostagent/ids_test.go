package hostagent

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openpacific/pacific/services/hostagent/runtime"
)

func TestContainerID(t *testing.T) {
	uid := "0b6f1c7e-3d0a-4c55-9a51-7f5d8c1e2a90"
	long := strings.Repeat("a", 63)
	seen := map[string]string{}
	for _, tc := range []struct {
		name    string
		attempt int
	}{
		{"main", 0}, {"main", 1}, {"main", 12345}, {"sidecar", 0},
		{long, 0}, {long, 7}, {long[:62] + "b", 0}, {long[:40], 0},
	} {
		id := containerID(uid, tc.name, tc.attempt)
		if !validRuntimeID(id) || len(id) > maxRuntimeID {
			t.Errorf("containerID(%q, %d) = %q: not a valid runtime ID", tc.name, tc.attempt, id)
		}
		k := fmt.Sprintf("%s#%d", tc.name, tc.attempt)
		if prev, dup := seen[id]; dup {
			t.Errorf("containerID collision: %q for %s and %s", id, prev, k)
		}
		seen[id] = k
	}
	if got := containerID(uid, "main", 2); got != "0b6f1c7e-3d0a-main-2" {
		t.Errorf("short IDs stay readable: got %q", got)
	}
	if got := sandboxID(uid); got != uid {
		t.Errorf("sandboxID = %q, want the uid", got)
	}
	if got := sandboxID("has/slash"); !validRuntimeID(got) {
		t.Errorf("sandboxID of an odd uid = %q", got)
	}
}

func TestLatestRun(t *testing.T) {
	ctrs := []runtime.ContainerStatus{
		{ID: "a0", Name: "a", Attempt: 0},
		{ID: "a2", Name: "a", Attempt: 2},
		{ID: "b0", Name: "b", Attempt: 0},
		{ID: "x", Name: "ignored", Attempt: 9, Labels: map[string]string{labelContainerName: "a"}},
	}
	if got, ok := latestRun(ctrs, "a"); !ok || got.ID != "x" {
		t.Errorf("latestRun(a) = %v %v; the label names the container", got.ID, ok)
	}
	if got, ok := latestRun(ctrs, "b"); !ok || got.ID != "b0" {
		t.Errorf("latestRun(b) = %v %v", got.ID, ok)
	}
	if _, ok := latestRun(ctrs, "c"); ok {
		t.Errorf("latestRun(c) found something")
	}
}
