package podsecurity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/openpacific/pacific/internal/apierr"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Check returns every way pod breaks level, each at its field path.
func Check(level Level, pod *corev1.Pod) apierr.FieldErrors {
	var fe apierr.FieldErrors
	if level == Privileged {
		return fe
	}
	checkBaseline(&fe, pod.GetSpec())
	if level == Restricted {
		checkRestricted(&fe, pod.GetSpec())
	}
	return fe
}

func checkBaseline(fe *apierr.FieldErrors, spec *corev1.PodSpec) {
	for _, host := range []struct {
		path string
		on   bool
	}{{"spec.hostNetwork", spec.GetHostNetwork()}, {"spec.hostPID", spec.GetHostPid()}, {"spec.hostIPC", spec.GetHostIpc()}} {
		if host.on {
			fe.Add(host.path, "host namespaces are not allowed")
		}
	}
	for i, v := range spec.GetVolumes() {
		if v.GetHostPath() != nil {
			fe.Add(fmt.Sprintf("spec.volumes[%d].hostPath", i), "hostPath volumes are not allowed")
		}
	}
	checkSeccompNotUnconfined(fe, "spec.securityContext.seccompProfile.type", spec.GetSecurityContext().GetSeccompProfile())
	for i, c := range spec.GetContainers() {
		path := fmt.Sprintf("spec.containers[%d].securityContext", i)
		sc := c.GetSecurityContext()
		if sc.GetPrivileged() {
			fe.Add(path+".privileged", "privileged containers are not allowed")
		}
		for j, capName := range sc.GetCapabilities().GetAdd() {
			if !slices.Contains(baselineCapabilities, normalizeCap(capName)) {
				fe.Add(fmt.Sprintf("%s.capabilities.add[%d]", path, j), "%q is not in the default capability set", capName)
			}
		}
		checkSeccompNotUnconfined(fe, path+".seccompProfile.type", sc.GetSeccompProfile())
	}
}

func checkSeccompNotUnconfined(fe *apierr.FieldErrors, path string, p *corev1.SeccompProfile) {
	if p.GetType() == "Unconfined" {
		fe.Add(path, "Unconfined is not allowed")
	}
}

func checkRestricted(fe *apierr.FieldErrors, spec *corev1.PodSpec) {
	psc := spec.GetSecurityContext()
	if psc != nil && psc.RunAsUser != nil && psc.GetRunAsUser() == 0 {
		fe.Add("spec.securityContext.runAsUser", "must not be 0 (root)")
	}
	podNonRoot := psc.GetRunAsNonRoot()
	podSeccomp := psc.GetSeccompProfile().GetType() == "RuntimeDefault"
	for i, c := range spec.GetContainers() {
		path := fmt.Sprintf("spec.containers[%d].securityContext", i)
		sc := c.GetSecurityContext()
		if sc != nil && sc.RunAsUser != nil && sc.GetRunAsUser() == 0 {
			fe.Add(path+".runAsUser", "must not be 0 (root)")
		}
		nonRoot := podNonRoot
		if sc != nil && sc.RunAsNonRoot != nil {
			nonRoot = sc.GetRunAsNonRoot()
		}
		if !nonRoot {
			fe.Add(path+".runAsNonRoot", "must be true (here or in spec.securityContext)")
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || sc.GetAllowPrivilegeEscalation() {
			fe.Add(path+".allowPrivilegeEscalation", "must be false")
		}
		switch t := sc.GetSeccompProfile().GetType(); {
		case t == "RuntimeDefault":
		case t == "" && podSeccomp:
		case t == "":
			fe.Add(path+".seccompProfile.type", "must be RuntimeDefault (here or in spec.securityContext)")
		case t != "Unconfined": // Unconfined is already reported by baseline.
			fe.Add(path+".seccompProfile.type", "%q: must be RuntimeDefault", t)
		}
		caps := sc.GetCapabilities()
		if !slices.ContainsFunc(caps.GetDrop(), func(s string) bool { return normalizeCap(s) == "ALL" }) {
			fe.Add(path+".capabilities.drop", "must include ALL")
		}
		for j, capName := range caps.GetAdd() {
			// Capabilities outside the default set are reported by baseline.
			if n := normalizeCap(capName); n != "NET_BIND_SERVICE" && slices.Contains(baselineCapabilities, n) {
				fe.Add(fmt.Sprintf("%s.capabilities.add[%d]", path, j), "%q: only NET_BIND_SERVICE may be added", capName)
			}
		}
	}
}

// normalizeCap accepts both "CHOWN" and "CAP_CHOWN" in any case.
func normalizeCap(s string) string {
	return strings.TrimPrefix(strings.ToUpper(s), "CAP_")
}
