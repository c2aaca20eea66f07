package kinds

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/openpacific/pacific/internal/apierr"
	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/quantity"
	"github.com/openpacific/pacific/sdk/validation"
	"github.com/openpacific/pacific/services/apiserver/podsecurity"
	"github.com/openpacific/pacific/services/apiserver/registry"
)

// Limits that keep one pod reasonable.
const (
	maxContainers = 32
	maxVolumes    = 64
	maxEnv        = 256
	maxArgs       = 256
)

func podKind() *registry.Kind {
	return &registry.Kind{
		GVK:        apis.GVK{APIVersion: apis.CoreV1, Kind: "Pod"},
		Plural:     "pods",
		ShortNames: []string{"po"},
		Namespaced: true,
		// Pod names become hostnames and netns names.
		NameIsLabel: true,
		New:         func() apis.Object { return &corev1.Pod{} },
		// Host agents watch the pods bound to them; controllers watch phases.
		SelectableFields: []string{"spec.nodeName", "status.phase"},
		Default:          defaultPod,
		PrepareForCreate: func(obj apis.Object) {
			obj.(*corev1.Pod).Status = &corev1.PodStatus{Phase: "Pending"}
		},
		Validate:       func(obj apis.Object) apierr.FieldErrors { return validatePodSpec(obj.(*corev1.Pod).GetSpec()) },
		ValidateUpdate: validatePodUpdate,
		Admission:      []registry.AdmissionHook{podsecurity.AdmitPod, markScheduledOnBind, addHostAgentFinalizer},
		PrinterColumns: []*corev1.PrinterColumn{
			column("Ready", ".", "readycontainers"),
			column("Status", ".", "podstatus"),
			column("Restarts", ".status.containerStatuses[*].restartCount", "sum"),
			ageColumn(),
			wideColumn("IP", ".status.podIP", "string"),
			wideColumn("Host", ".spec.nodeName", "string"),
			// Live progress of image pulls and why a container waits.
			wideColumn("Message", ".status.containerStatuses[*].state.waiting.message", "string"),
		},
	}
}

func defaultPod(obj apis.Object) {
	pod := obj.(*corev1.Pod)
	if pod.Spec == nil {
		pod.Spec = &corev1.PodSpec{}
	}
	spec := pod.Spec
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = "Always"
	}
	if spec.Isolation == "" {
		spec.Isolation = "container"
	}
	if spec.TerminationGracePeriodSeconds == nil {
		grace := int64(30)
		spec.TerminationGracePeriodSeconds = &grace
	}
	for _, c := range spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable == "" {
			c.WhenUnsatisfiable = "DoNotSchedule"
		}
	}
	for _, tol := range spec.Tolerations {
		if tol.Operator == "" {
			tol.Operator = "Equal"
		}
	}
	for _, c := range spec.Containers {
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = "IfNotPresent"
			if strings.HasSuffix(c.Image, ":latest") || !strings.ContainsAny(lastSegment(c.Image), ":@") {
				c.ImagePullPolicy = "Always"
			}
		}
		for _, p := range c.Ports {
			if p.Protocol == "" {
				p.Protocol = "TCP"
			}
		}
		for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			defaultProbe(probe)
		}
	}
}

func lastSegment(image string) string {
	if i := strings.LastIndex(image, "/"); i >= 0 {
		return image[i+1:]
	}
	return image
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if p.HttpGet != nil && p.HttpGet.Scheme == "" {
		p.HttpGet.Scheme = "HTTP"
	}
}

func validatePodSpec(spec *corev1.PodSpec) apierr.FieldErrors {
	var fe apierr.FieldErrors
	if spec == nil {
		fe.Required("spec")
		return fe
	}
	oneOf(&fe, "spec.restartPolicy", spec.GetRestartPolicy(), "Always", "OnFailure", "Never")
	oneOf(&fe, "spec.isolation", spec.GetIsolation(), "container", "vm")
	if g := spec.GetTerminationGracePeriodSeconds(); g < 0 || g > 3600 {
		fe.Add("spec.terminationGracePeriodSeconds", "%d: must be between 0 and 3600", g)
	}
	if spec.GetNodeName() != "" {
		if err := validation.DNS1123Subdomain(spec.GetNodeName()); err != nil {
			fe.Add("spec.nodeName", "%q: %v", spec.GetNodeName(), err)
		}
	}
	for k, v := range spec.GetNodeSelector() {
		validateLabel(&fe, fmt.Sprintf("spec.nodeSelector[%q]", k), k, v)
	}
	volumes := validateVolumes(&fe, spec.GetVolumes())
	switch n := len(spec.GetContainers()); {
	case n == 0:
		fe.Required("spec.containers")
	case n > maxContainers:
		fe.Add("spec.containers", "%d containers exceed the limit of %d", n, maxContainers)
	}
	names := map[string]bool{}
	for i, c := range spec.GetContainers() {
		path := fmt.Sprintf("spec.containers[%d]", i)
		if names[c.GetName()] {
			fe.Add(path+".name", "duplicate name %q", c.GetName())
		}
		names[c.GetName()] = true
		validateContainer(&fe, path, c, volumes)
	}
	validateTolerations(&fe, spec.GetTolerations())
	validateSpreadConstraints(&fe, spec.GetTopologySpreadConstraints())
	validateAffinity(&fe, spec.GetAffinity())
	return fe
}

func validateContainer(fe *apierr.FieldErrors, path string, c *corev1.Container, volumes map[string]bool) {
	if err := validation.DNS1123Label(c.GetName()); err != nil {
		fe.Add(path+".name", "%q: %v", c.GetName(), err)
	}
	if strings.TrimSpace(c.GetImage()) == "" {
		fe.Required(path + ".image")
	} else if strings.ContainsAny(c.GetImage(), " \t\n") {
		fe.Add(path+".image", "%q: must not contain whitespace", c.GetImage())
	}
	oneOf(fe, path+".imagePullPolicy", c.GetImagePullPolicy(), "IfNotPresent", "Always", "Never")
	if len(c.GetCommand())+len(c.GetArgs()) > maxArgs {
		fe.Add(path+".args", "more than %d arguments", maxArgs)
	}
	if len(c.GetEnv()) > maxEnv {
		fe.Add(path+".env", "%d variables exceed the limit of %d", len(c.GetEnv()), maxEnv)
	}
	for i, e := range c.GetEnv() {
		if e.GetName() == "" || strings.ContainsAny(e.GetName(), "=\x00") {
			fe.Add(fmt.Sprintf("%s.env[%d].name", path, i), "%q: must be non-empty without '=' or NUL", e.GetName())
		}
	}
	for i, p := range c.GetPorts() {
		pp := fmt.Sprintf("%s.ports[%d]", path, i)
		if p.GetContainerPort() < 1 || p.GetContainerPort() > 65535 {
			fe.Add(pp+".containerPort", "%d: must be between 1 and 65535", p.GetContainerPort())
		}
		oneOf(fe, pp+".protocol", p.GetProtocol(), "TCP", "UDP")
	}
	validateResources(fe, path+".resources", c.GetResources())
	probes := []struct {
		name string
		p    *corev1.Probe
	}{{"livenessProbe", c.GetLivenessProbe()}, {"readinessProbe", c.GetReadinessProbe()}, {"startupProbe", c.GetStartupProbe()}}
	for _, pr := range probes {
		validateProbe(fe, path+"."+pr.name, pr.p)
	}
	for i, m := range c.GetVolumeMounts() {
		mp := fmt.Sprintf("%s.volumeMounts[%d]", path, i)
		if !volumes[m.GetName()] {
			fe.Add(mp+".name", "%q: no such volume in spec.volumes", m.GetName())
		}
		if !strings.HasPrefix(m.GetMountPath(), "/") || strings.Contains(m.GetMountPath(), "..") {
			fe.Add(mp+".mountPath", "%q: must be an absolute path without '..'", m.GetMountPath())
		}
	}
}

func validateResources(fe *apierr.FieldErrors, path string, r *corev1.ResourceRequirements) {
	parsed := map[string]map[string]quantity.Quantity{}
	for _, part := range []struct {
		name string
		m    map[string]string
	}{{"requests", r.GetRequests()}, {"limits", r.GetLimits()}} {
		parsed[part.name] = map[string]quantity.Quantity{}
		for name, v := range part.m {
			fp := fmt.Sprintf("%s.%s[%q]", path, part.name, name)
			if name != "cpu" && name != "memory" && name != "ephemeral-storage" {
				fe.Add(fp, "unknown resource: want cpu, memory or ephemeral-storage")
				continue
			}
			q, err := quantity.Parse(v)
			if err != nil {
				fe.Add(fp, "%v", err)
				continue
			}
			if q.Milli() < 0 {
				fe.Add(fp, "%q: must not be negative", v)
			}
			if name == "memory" && q.Milli()%1000 != 0 {
				fe.Add(fp, "%q: memory must be a whole number of bytes", v)
			}
			parsed[part.name][name] = q
		}
	}
	for name, req := range parsed["requests"] {
		if lim, ok := parsed["limits"][name]; ok && req.Cmp(lim) > 0 {
			fe.Add(fmt.Sprintf("%s.requests[%q]", path, name), "%s must not exceed the limit %s", req, lim)
		}
	}
}

func validateProbe(fe *apierr.FieldErrors, path string, p *corev1.Probe) {
	if p == nil {
		return
	}
	actions := 0
	if p.GetExec() != nil {
		actions++
		if len(p.GetExec().GetCommand()) == 0 {
			fe.Required(path + ".exec.command")
		}
	}
	if h := p.GetHttpGet(); h != nil {
		actions++
		validatePort(fe, path+".httpGet.port", h.GetPort())
		oneOf(fe, path+".httpGet.scheme", h.GetScheme(), "HTTP", "HTTPS")
		if h.GetPath() != "" && !strings.HasPrefix(h.GetPath(), "/") {
			fe.Add(path+".httpGet.path", "%q: must start with /", h.GetPath())
		}
	}
	if t := p.GetTcpSocket(); t != nil {
		actions++
		validatePort(fe, path+".tcpSocket.port", t.GetPort())
	}
	if actions != 1 {
		fe.Add(path, "exactly one of exec, httpGet or tcpSocket is required")
	}
	for _, f := range []struct {
		name string
		v    int32
		min  int32
	}{{"initialDelaySeconds", p.GetInitialDelaySeconds(), 0}, {"timeoutSeconds", p.GetTimeoutSeconds(), 1}, {"periodSeconds", p.GetPeriodSeconds(), 1}, {"successThreshold", p.GetSuccessThreshold(), 1}, {"failureThreshold", p.GetFailureThreshold(), 1}} {
		if f.v < f.min || f.v > 3600 {
			fe.Add(path+"."+f.name, "%d: must be between %d and 3600", f.v, f.min)
		}
	}
}

func validatePort(fe *apierr.FieldErrors, path string, port int32) {
	if port < 1 || port > 65535 {
		fe.Add(path, "%d: must be between 1 and 65535", port)
	}
}

func validateVolumes(fe *apierr.FieldErrors, vols []*corev1.Volume) map[string]bool {
	names := map[string]bool{}
	if len(vols) > maxVolumes {
		fe.Add("spec.volumes", "%d volumes exceed the limit of %d", len(vols), maxVolumes)
	}
	for i, v := range vols {
		path := fmt.Sprintf("spec.volumes[%d]", i)
		if err := validation.DNS1123Label(v.GetName()); err != nil {
			fe.Add(path+".name", "%q: %v", v.GetName(), err)
		}
		if names[v.GetName()] {
			fe.Add(path+".name", "duplicate name %q", v.GetName())
		}
		names[v.GetName()] = true
		sources := 0
		if e := v.GetEmptyDir(); e != nil {
			sources++
			oneOf(fe, path+".emptyDir.medium", e.GetMedium(), "", "Memory")
			if e.GetSizeLimit() != "" {
				if _, err := quantity.Parse(e.GetSizeLimit()); err != nil {
					fe.Add(path+".emptyDir.sizeLimit", "%v", err)
				}
			}
		}
		if h := v.GetHostPath(); h != nil {
			sources++
			if !strings.HasPrefix(h.GetPath(), "/") {
				fe.Add(path+".hostPath.path", "%q: must be absolute", h.GetPath())
			}
		}
		if sources != 1 {
			fe.Add(path, "exactly one volume source (emptyDir, hostPath) is required")
		}
	}
	return names
}

func validateAffinity(fe *apierr.FieldErrors, a *corev1.Affinity) {
	if a == nil {
		return
	}
	const nodePath = "spec.affinity.nodeAffinity"
	if req := a.GetNodeAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution(); req != nil {
		path := nodePath + ".requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
		if len(req.GetNodeSelectorTerms()) == 0 {
			fe.Add(path, "required: at least one term (terms are ORed)")
		}
		for i, term := range req.GetNodeSelectorTerms() {
			validateNodeSelectorTerm(fe, fmt.Sprintf("%s[%d]", path, i), term)
		}
	}
	for i, pref := range a.GetNodeAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution() {
		path := fmt.Sprintf("%s.preferredDuringSchedulingIgnoredDuringExecution[%d]", nodePath, i)
		validateWeight(fe, path+".weight", pref.GetWeight())
		validateNodeSelectorTerm(fe, path+".preference", pref.GetPreference())
	}
	for _, pa := range []struct {
		name string
		a    *corev1.PodAffinity
	}{{"podAffinity", a.GetPodAffinity()}, {"podAntiAffinity", a.GetPodAntiAffinity()}} {
		for i, term := range pa.a.GetRequiredDuringSchedulingIgnoredDuringExecution() {
			validatePodAffinityTerm(fe, fmt.Sprintf("spec.affinity.%s.requiredDuringSchedulingIgnoredDuringExecution[%d]", pa.name, i), term)
		}
		for i, w := range pa.a.GetPreferredDuringSchedulingIgnoredDuringExecution() {
			path := fmt.Sprintf("spec.affinity.%s.preferredDuringSchedulingIgnoredDuringExecution[%d]", pa.name, i)
			validateWeight(fe, path+".weight", w.GetWeight())
			if w.GetPodAffinityTerm() == nil {
				fe.Required(path + ".podAffinityTerm")
				continue
			}
			validatePodAffinityTerm(fe, path+".podAffinityTerm", w.GetPodAffinityTerm())
		}
	}
}

func validateNodeSelectorTerm(fe *apierr.FieldErrors, path string, term *corev1.NodeSelectorTerm) {
	if len(term.GetMatchExpressions()) == 0 {
		fe.Add(path+".matchExpressions", "required: at least one expression")
	}
	for j, req := range term.GetMatchExpressions() {
		validateRequirement(fe, fmt.Sprintf("%s.matchExpressions[%d]", path, j), req, true)
	}
}

func validatePodAffinityTerm(fe *apierr.FieldErrors, path string, t *corev1.PodAffinityTerm) {
	validateTopologyKey(fe, path+".topologyKey", t.GetTopologyKey())
	validateLabelSelector(fe, path+".labelSelector", t.GetLabelSelector())
	for i, ns := range t.GetNamespaces() {
		if err := validation.DNS1123Label(ns); err != nil {
			fe.Add(fmt.Sprintf("%s.namespaces[%d]", path, i), "%q: %v", ns, err)
		}
	}
}

func validateTopologyKey(fe *apierr.FieldErrors, path, key string) {
	if key == "" {
		fe.Required(path)
		return
	}
	if err := validation.QualifiedName(key); err != nil {
		fe.Add(path, "%q: %v", key, err)
	}
}

func validateTolerations(fe *apierr.FieldErrors, tols []*corev1.Toleration) {
	for i, tol := range tols {
		path := fmt.Sprintf("spec.tolerations[%d]", i)
		oneOf(fe, path+".operator", tol.GetOperator(), "", "Equal", "Exists")
		oneOf(fe, path+".effect", tol.GetEffect(), "", "NoSchedule", "PreferNoSchedule", "NoExecute")
		switch {
		case tol.GetKey() == "" && tol.GetOperator() != "Exists":
			fe.Add(path+".key", "required unless operator is Exists (which then tolerates every taint)")
		case tol.GetKey() != "":
			if err := validation.QualifiedName(tol.GetKey()); err != nil {
				fe.Add(path+".key", "%q: %v", tol.GetKey(), err)
			}
		}
		if tol.GetOperator() == "Exists" && tol.GetValue() != "" {
			fe.Add(path+".value", "must be empty when operator is Exists")
		} else if err := validation.LabelValue(tol.GetValue()); err != nil {
			fe.Add(path+".value", "%q: %v", tol.GetValue(), err)
		}
		if tol.TolerationSeconds != nil && tol.GetEffect() != "NoExecute" {
			fe.Add(path+".tolerationSeconds", "allowed only with effect NoExecute")
		}
	}
}

func validateSpreadConstraints(fe *apierr.FieldErrors, cs []*corev1.TopologySpreadConstraint) {
	seen := map[string]bool{}
	for i, c := range cs {
		path := fmt.Sprintf("spec.topologySpreadConstraints[%d]", i)
		if c.GetMaxSkew() < 1 {
			fe.Add(path+".maxSkew", "%d: must be at least 1", c.GetMaxSkew())
		}
		validateTopologyKey(fe, path+".topologyKey", c.GetTopologyKey())
		oneOf(fe, path+".whenUnsatisfiable", c.GetWhenUnsatisfiable(), "DoNotSchedule", "ScheduleAnyway")
		if c.GetLabelSelector() == nil {
			fe.Required(path + ".labelSelector")
		}
		validateLabelSelector(fe, path+".labelSelector", c.GetLabelSelector())
		pair := c.GetTopologyKey() + "/" + c.GetWhenUnsatisfiable()
		if seen[pair] {
			fe.Add(path, "duplicate constraint for topologyKey %q and whenUnsatisfiable %q", c.GetTopologyKey(), c.GetWhenUnsatisfiable())
		}
		seen[pair] = true
	}
}

func validateWeight(fe *apierr.FieldErrors, path string, w int32) {
	if w < 1 || w > 100 {
		fe.Add(path, "%d: must be between 1 and 100", w)
	}
}

// validateLabelSelector checks a structured selector (shared with
// Deployments and Services).
func validateLabelSelector(fe *apierr.FieldErrors, path string, s *corev1.LabelSelector) {
	if s == nil {
		return
	}
	for k, v := range s.GetMatchLabels() {
		validateLabel(fe, fmt.Sprintf("%s.matchLabels[%q]", path, k), k, v)
	}
	for i, req := range s.GetMatchExpressions() {
		validateRequirement(fe, fmt.Sprintf("%s.matchExpressions[%d]", path, i), req, false)
	}
}

func validateRequirement(fe *apierr.FieldErrors, path string, r *corev1.LabelSelectorRequirement, allowGtLt bool) {
	if err := validation.QualifiedName(r.GetKey()); err != nil {
		fe.Add(path+".key", "%q: %v", r.GetKey(), err)
	}
	switch r.GetOperator() {
	case "In", "NotIn":
		if len(r.GetValues()) == 0 {
			fe.Add(path+".values", "required for operator %s", r.GetOperator())
		}
	case "Exists", "DoesNotExist":
		if len(r.GetValues()) != 0 {
			fe.Add(path+".values", "must be empty for operator %s", r.GetOperator())
		}
	case "Gt", "Lt":
		if !allowGtLt || len(r.GetValues()) != 1 {
			fe.Add(path+".operator", "%s needs exactly one value and is allowed only in node affinity", r.GetOperator())
		} else if _, err := strconv.ParseInt(r.GetValues()[0], 10, 64); err != nil {
			fe.Add(path+".values[0]", "%q: %s needs an integer", r.GetValues()[0], r.GetOperator())
		}
	default:
		want := "In, NotIn, Exists or DoesNotExist"
		if allowGtLt {
			want = "In, NotIn, Exists, DoesNotExist, Gt or Lt"
		}
		fe.Add(path+".operator", "%q: want %s", r.GetOperator(), want)
	}
	for j, v := range r.GetValues() {
		if err := validation.LabelValue(v); err != nil && r.GetOperator() != "Gt" && r.GetOperator() != "Lt" {
			fe.Add(fmt.Sprintf("%s.values[%d]", path, j), "%q: %v", v, err)
		}
	}
}

func validateLabel(fe *apierr.FieldErrors, path, k, v string) {
	if err := validation.QualifiedName(k); err != nil {
		fe.Add(path, "key: %v", err)
	}
	if err := validation.LabelValue(v); err != nil {
		fe.Add(path, "value %q: %v", v, err)
	}
}

func oneOf(fe *apierr.FieldErrors, path, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	want := make([]string, 0, len(allowed))
	for _, a := range allowed {
		if a != "" {
			want = append(want, a)
		}
	}
	fe.Add(path, "%q: want one of %s", v, strings.Join(want, ", "))
}

// validatePodUpdate allows changing only what can change in a running pod:
// binding once (nodeName from empty), tolerations added, and the
// termination grace period; the rest of the spec is immutable.
func validatePodUpdate(old, obj apis.Object) apierr.FieldErrors {
	var fe apierr.FieldErrors
	o, n := old.(*corev1.Pod).GetSpec(), obj.(*corev1.Pod).GetSpec()
	if o.GetNodeName() != "" && n.GetNodeName() != o.GetNodeName() {
		fe.Add("spec.nodeName", "immutable once set (pod is bound to %q)", o.GetNodeName())
	}
	if !equalIgnoring(o, n) {
		fe.Add("spec", "pod spec is immutable except spec.nodeName (once), spec.tolerations and spec.terminationGracePeriodSeconds; delete and recreate the pod (or use a Deployment)")
	}
	return fe
}
