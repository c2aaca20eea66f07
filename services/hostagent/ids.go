package hostagent

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// Finalizer is on a pod before the agent creates anything for it (the API
// server adds it at binding; the agent adds it if it is missing) and is
// removed once everything is cleaned up.
const Finalizer = apis.HostAgentFinalizer

// HostnameLabel is set on the Host to its name.
const HostnameLabel = "pacific.dev/hostname"

// Labels on runtime sandboxes and containers: how the agent matches what
// runs to pods, also after a restart.
const (
	labelPodUID        = "pacific.dev/pod-uid"
	labelPodNamespace  = "pacific.dev/pod-namespace"
	labelPodName       = "pacific.dev/pod-name"
	labelContainerName = "pacific.dev/container-name"
	labelImageDigest   = "pacific.dev/image-digest"
	labelImageRef      = "pacific.dev/image-ref"
)

// maxRuntimeID is the runtime's limit on sandbox and container IDs.
const maxRuntimeID = 64

// sandboxID is the runtime ID of a pod's sandbox: the pod UID (a UUID).
func sandboxID(uid string) string {
	if len(uid) <= maxRuntimeID && validRuntimeID(uid) {
		return uid
	}
	return hashID(uid, 32)
}

// containerID is the runtime ID of one run of a container:
// <first 13 chars of the uid>-<name>-<attempt>, with the name shortened
// (and made unique with a hash) when the whole would exceed 64 chars.
func containerID(uid, name string, attempt int) string {
	prefix := uid
	if len(prefix) > 13 {
		prefix = prefix[:13]
	}
	suffix := "-" + strconv.Itoa(attempt)
	room := maxRuntimeID - len(prefix) - 1 - len(suffix)
	n := name
	if len(n) > room {
		h := hashID(uid+"/"+name, 8)
		n = n[:room-9] + "-" + h
	}
	id := prefix + "-" + n + suffix
	if !validRuntimeID(id) {
		return hashID(uid+"/"+name, 40) + suffix
	}
	return id
}

func hashID(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

func validRuntimeID(id string) bool {
	if id == "" || len(id) > maxRuntimeID {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// podKeyOf returns the pod key a runtime object's labels name, if any.
func podKeyOf(labels map[string]string) (controller.Request, bool) {
	ns, name := labels[labelPodNamespace], labels[labelPodName]
	if ns == "" || name == "" {
		return controller.Request{}, false
	}
	return controller.Request{Namespace: ns, Name: name}, true
}

// containersOf returns the runtime containers of one pod sandbox.
func containersOf(all []runtime.ContainerStatus, sandbox string) []runtime.ContainerStatus {
	var out []runtime.ContainerStatus
	for _, c := range all {
		if c.SandboxID == sandbox {
			out = append(out, c)
		}
	}
	return out
}

// latestRun returns the run of the named container with the highest
// attempt, and whether there is one.
func latestRun(ctrs []runtime.ContainerStatus, name string) (runtime.ContainerStatus, bool) {
	var best runtime.ContainerStatus
	found := false
	for _, c := range ctrs {
		if containerNameOf(c) != name {
			continue
		}
		if !found || c.Attempt > best.Attempt {
			best, found = c, true
		}
	}
	return best, found
}

func containerNameOf(c runtime.ContainerStatus) string {
	if n := c.Labels[labelContainerName]; n != "" {
		return n
	}
	return c.Name
}

// podDir is where the agent keeps a pod's emptyDir volumes.
func (a *Agent) podDir(uid string) string {
	return filepath.Join(a.cfg.StateDir, "pods", sandboxID(uid))
}

// podDirs are where a pod's files may be: first its dir in the run dir
// (root filesystem mount points), then podDir (volumes; and the mount
// points of agents from before RunDir) when that is another place.
func (a *Agent) podDirs(uid string) []string {
	dirs := []string{filepath.Join(a.cfg.RunDir, "pods", sandboxID(uid))}
	if a.cfg.RunDir != a.cfg.StateDir {
		dirs = append(dirs, a.podDir(uid))
	}
	return dirs
}

func (a *Agent) rootfsDir(uid, ctrID string) string {
	return filepath.Join(a.podDirs(uid)[0], "containers", ctrID, "rootfs")
}

func (a *Agent) volumeDir(uid, volume string) string {
	return filepath.Join(a.podDir(uid), "volumes", volume)
}

// fieldPath is an Event's involvedObject.fieldPath for a container, as
// Kubernetes writes it.
func fieldPath(name string) string { return "spec.containers{" + name + "}" }
