package hostagent

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/quantity"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// errConfig marks container settings the agent cannot honour; the
// container waits with reason CreateContainerConfigError.
var errConfig = errors.New("container config error")

func configErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errConfig, fmt.Sprintf(format, args...))
}

// specInput is what a container run's runtime spec is built from.
type specInput struct {
	Pod       *corev1.Pod
	Container *corev1.Container
	Image     Image
	ID        string
	Attempt   int
	SandboxID string
	Rootfs    string
	// Volumes maps pod volume names to host paths.
	Volumes map[string]string
	// User is the identity resolved from the security context and image.
	User runtime.User
	// GracePeriod is recorded in the labels (seconds).
	GracePeriod int64
}

// buildSpec turns a pod's container into a runtime spec: command and args
// over the image's entrypoint and cmd (Kubernetes' rules), environment
// (image, then container, then HOSTNAME), working directory, resources,
// volume mounts and labels that tie the run to its pod. Settings the runc
// runtime cannot enforce are refused (errConfig), never ignored.
func buildSpec(in specInput) (runtime.ContainerSpec, error) {
	c := in.Container
	args, err := commandLine(c, in.Image.Config)
	if err != nil {
		return runtime.ContainerSpec{}, err
	}
	if err := checkSecurity(in.Pod, c); err != nil {
		return runtime.ContainerSpec{}, err
	}
	drop, add := capabilitiesOf(c)
	res, err := resourcesOf(c.GetResources())
	if err != nil {
		return runtime.ContainerSpec{}, err
	}
	var mounts []runtime.Mount
	for _, m := range c.GetVolumeMounts() {
		src, ok := in.Volumes[m.GetName()]
		if !ok {
			return runtime.ContainerSpec{}, configErrorf("volume %q: not found in spec.volumes", m.GetName())
		}
		mounts = append(mounts, runtime.Mount{Source: src, Destination: m.GetMountPath(), ReadOnly: m.GetReadOnly()})
	}
	cwd := c.GetWorkingDir()
	if cwd == "" {
		cwd = in.Image.Config.WorkingDir
	}
	md := in.Pod.GetMetadata()
	return runtime.ContainerSpec{
		ID:               in.ID,
		SandboxID:        in.SandboxID,
		Name:             c.GetName(),
		Attempt:          in.Attempt,
		Rootfs:           in.Rootfs,
		ReadonlyRootfs:   effectiveReadOnlyRoot(c),
		Args:             args,
		Env:              mergeEnv(in.Image.Config.Env, c.GetEnv(), md.GetName()),
		Cwd:              cwd,
		User:             in.User,
		DropCapabilities: drop,
		AddCapabilities:  add,
		TTY:              c.GetTty(),
		Resources:        res,
		Mounts:           mounts,
		Labels: map[string]string{
			labelPodUID:        md.GetUid(),
			labelPodNamespace:  md.GetNamespace(),
			labelPodName:       md.GetName(),
			labelContainerName: c.GetName(),
			labelImageDigest:   in.Image.Digest,
			labelImageRef:      c.GetImage(),
		},
	}, nil
}

// commandLine applies Kubernetes' rules: command replaces the entrypoint
// (and drops the image's cmd), args replace the cmd.
func commandLine(c *corev1.Container, img ImageConfig) ([]string, error) {
	var args []string
	switch {
	case len(c.GetCommand()) > 0:
		args = append(append(args, c.GetCommand()...), c.GetArgs()...)
	case len(c.GetArgs()) > 0:
		args = append(append(args, img.Entrypoint...), c.GetArgs()...)
	default:
		args = append(append(args, img.Entrypoint...), img.Cmd...)
	}
	if len(args) == 0 {
		return nil, configErrorf("no command specified: the image has no entrypoint or cmd and the container sets no command")
	}
	return args, nil
}

// mergeEnv lays the container's variables over the image's (same name:
// the container wins, in the image's position) and adds HOSTNAME.
func mergeEnv(image []string, ctr []*corev1.EnvVar, hostname string) []string {
	out := make([]string, 0, len(image)+len(ctr)+1)
	pos := map[string]int{}
	set := func(name, kv string) {
		if i, ok := pos[name]; ok {
			out[i] = kv
			return
		}
		pos[name] = len(out)
		out = append(out, kv)
	}
	for _, kv := range image {
		name, _, _ := strings.Cut(kv, "=")
		set(name, kv)
	}
	for _, e := range ctr {
		set(e.GetName(), e.GetName()+"="+e.GetValue())
	}
	if _, ok := pos["HOSTNAME"]; !ok {
		set("HOSTNAME", "HOSTNAME="+hostname)
	}
	return out
}

// resourcesOf converts requests and limits to cgroup settings.
func resourcesOf(r *corev1.ResourceRequirements) (runtime.Resources, error) {
	var out runtime.Resources
	parse := func(m map[string]string, name string) (quantity.Quantity, bool, error) {
		s, ok := m[name]
		if !ok {
			return quantity.Quantity{}, false, nil
		}
		q, err := quantity.Parse(s)
		if err != nil {
			return q, false, configErrorf("resources %s %q: %v", name, s, err)
		}
		return q, true, nil
	}
	if q, ok, err := parse(r.GetLimits(), "cpu"); err != nil {
		return out, err
	} else if ok {
		out.CPULimitMillis = q.Milli()
	}
	if q, ok, err := parse(r.GetRequests(), "cpu"); err != nil {
		return out, err
	} else if ok {
		out.CPURequestMillis = q.Milli()
	}
	if q, ok, err := parse(r.GetLimits(), "memory"); err != nil {
		return out, err
	} else if ok {
		out.MemoryLimitBytes = q.Value()
	}
	return out, nil
}

// checkSecurity refuses settings the runtime cannot enforce: privileged
// mode, capabilities beyond the default set and an unconfined seccomp
// profile (the runc runtime always applies its hardened defaults, including
// no_new_privileges whatever allowPrivilegeEscalation says).
func checkSecurity(pod *corev1.Pod, c *corev1.Container) error {
	sc := c.GetSecurityContext()
	if sc.GetPrivileged() {
		return configErrorf("securityContext.privileged is not supported on this host")
	}
	for _, name := range sc.GetCapabilities().GetDrop() {
		if n := capabilityName(name); n != "ALL" && !slices.Contains(runtime.DefaultCapabilities, n) {
			return configErrorf("securityContext.capabilities.drop: unknown capability %q", name)
		}
	}
	for _, name := range sc.GetCapabilities().GetAdd() {
		if !slices.Contains(runtime.DefaultCapabilities, capabilityName(name)) {
			return configErrorf("securityContext.capabilities.add: %q is outside the default capability set, which is all this host grants", name)
		}
	}
	for _, p := range []*corev1.SeccompProfile{sc.GetSeccompProfile(), pod.GetSpec().GetSecurityContext().GetSeccompProfile()} {
		if t := p.GetType(); t != "" && t != "RuntimeDefault" {
			return configErrorf("seccompProfile.type %q is not supported on this host (only RuntimeDefault)", t)
		}
	}
	return nil
}

// capabilitiesOf returns the container's capability changes in OCI form
// ("CAP_CHOWN", or "ALL").
func capabilitiesOf(c *corev1.Container) (drop, add []string) {
	caps := c.GetSecurityContext().GetCapabilities()
	for _, name := range caps.GetDrop() {
		drop = append(drop, capabilityName(name))
	}
	for _, name := range caps.GetAdd() {
		add = append(add, capabilityName(name))
	}
	return drop, add
}

// capabilityName turns "net_raw" or "NET_RAW" into "CAP_NET_RAW"; "ALL" stays.
func capabilityName(s string) string {
	s = strings.ToUpper(s)
	if s == "ALL" || strings.HasPrefix(s, "CAP_") {
		return s
	}
	return "CAP_" + s
}

func effectiveReadOnlyRoot(c *corev1.Container) bool {
	return c.GetSecurityContext().GetReadOnlyRootFilesystem()
}

// securityIDs returns the runAsUser, runAsGroup and runAsNonRoot in effect
// (container settings over pod settings); nil means unset.
func securityIDs(pod *corev1.Pod, c *corev1.Container) (uid, gid *int64, nonRoot bool) {
	psc, sc := pod.GetSpec().GetSecurityContext(), c.GetSecurityContext()
	if psc != nil && psc.RunAsUser != nil {
		uid = psc.RunAsUser
	}
	if sc != nil && sc.RunAsUser != nil {
		uid = sc.RunAsUser
	}
	if psc != nil && psc.RunAsGroup != nil {
		gid = psc.RunAsGroup
	}
	if sc != nil && sc.RunAsGroup != nil {
		gid = sc.RunAsGroup
	}
	nonRoot = psc.GetRunAsNonRoot()
	if sc != nil && sc.RunAsNonRoot != nil {
		nonRoot = sc.GetRunAsNonRoot()
	}
	return uid, gid, nonRoot
}

// parseNumericID parses a uid or gid.
func parseNumericID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}
