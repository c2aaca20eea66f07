package scheduler

import (
	"fmt"
	"slices"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/labels"
	"github.com/openpacific/pacific/sdk/quantity"
)

// podInfo is what the scheduler needs of a pod, parsed once.
type podInfo struct {
	pod    *corev1.Pod
	key    string
	ns     string
	labels map[string]string
	// Requests summed over containers (a limit stands in for a missing
	// request, as in Kubernetes).
	cpuMilli, memBytes int64
	isolation          string
	hostSelector       hostSelector
	tolerations        []*corev1.Toleration
	// Required and preferred pod (anti-)affinity, compiled.
	affinity, anti         []*podTerm
	prefAffinity, prefAnti []*podTerm
	spread                 []*spreadConstraint
	// host is set once bound or assumed.
	host string
}

// podTerm is a compiled PodAffinityTerm.
type podTerm struct {
	selector    labels.Selector
	none        bool // a nil selector matches no pod
	namespaces  []string
	topologyKey string
	weight      int32
	eq          map[string]string
	// id identifies equal terms of different pods (same namespaces,
	// selector and key), to group existing pods' anti-affinity.
	id string
}

func (t *podTerm) matches(p *podInfo) bool {
	return !t.none && slices.Contains(t.namespaces, p.ns) && t.selector.Matches(p.labels)
}

type spreadConstraint struct {
	maxSkew     int32
	topologyKey string
	hard        bool // DoNotSchedule
	selector    labels.Selector
	none        bool
	eq          map[string]string
}

func (c *spreadConstraint) matches(p *podInfo, ns string) bool {
	return !c.none && p.ns == ns && c.selector.Matches(p.labels)
}

// hostSelector is nodeSelector AND required node affinity (terms ORed),
// plus the preferred terms for scoring.
type hostSelector struct {
	selector  labels.Selector
	required  []labels.Selector
	preferred []weightedSelector
}

type weightedSelector struct {
	selector labels.Selector
	weight   int32
}

func (s *hostSelector) matches(hostLabels map[string]string) bool {
	if !s.selector.Matches(hostLabels) {
		return false
	}
	if len(s.required) == 0 {
		return true
	}
	for _, r := range s.required {
		if r.Matches(hostLabels) {
			return true
		}
	}
	return false
}

func (s *hostSelector) constrained() bool {
	return !s.selector.Empty() || len(s.required) > 0
}

// newPodInfo parses a pod. The API server validated it, so errors here
// mean a pod the scheduler cannot understand; they become its explanation.
func newPodInfo(p *corev1.Pod) (*podInfo, error) {
	spec := p.GetSpec()
	pi := &podInfo{
		pod:         p,
		key:         apis.Key(p),
		ns:          p.GetMetadata().GetNamespace(),
		labels:      p.GetMetadata().GetLabels(),
		isolation:   spec.GetIsolation(),
		tolerations: spec.GetTolerations(),
		host:        spec.GetNodeName(),
	}
	if pi.isolation == "" {
		pi.isolation = "container"
	}
	for _, c := range spec.GetContainers() {
		cpu, err := request(c.GetResources(), "cpu")
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.GetName(), err)
		}
		mem, err := request(c.GetResources(), "memory")
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.GetName(), err)
		}
		pi.cpuMilli += cpu
		pi.memBytes += mem / 1000
	}
	var err error
	if pi.hostSelector.selector, err = labels.SelectorFromSet(spec.GetNodeSelector()); err != nil {
		return nil, fmt.Errorf("nodeSelector: %w", err)
	}
	na := spec.GetAffinity().GetNodeAffinity()
	for i, term := range na.GetRequiredDuringSchedulingIgnoredDuringExecution().GetNodeSelectorTerms() {
		sel, err := labels.FromExpressions(term.GetMatchExpressions())
		if err != nil {
			return nil, fmt.Errorf("nodeAffinity term %d: %w", i, err)
		}
		pi.hostSelector.required = append(pi.hostSelector.required, sel)
	}
	for i, pref := range na.GetPreferredDuringSchedulingIgnoredDuringExecution() {
		sel, err := labels.FromExpressions(pref.GetPreference().GetMatchExpressions())
		if err != nil {
			return nil, fmt.Errorf("nodeAffinity preference %d: %w", i, err)
		}
		pi.hostSelector.preferred = append(pi.hostSelector.preferred, weightedSelector{sel, pref.GetWeight()})
	}
	aff := spec.GetAffinity()
	for _, part := range []struct {
		src       *corev1.PodAffinity
		req, pref *[]*podTerm
	}{{aff.GetPodAffinity(), &pi.affinity, &pi.prefAffinity}, {aff.GetPodAntiAffinity(), &pi.anti, &pi.prefAnti}} {
		for _, t := range part.src.GetRequiredDuringSchedulingIgnoredDuringExecution() {
			pt, err := compileTerm(t, pi.ns, 0)
			if err != nil {
				return nil, err
			}
			*part.req = append(*part.req, pt)
		}
		for _, w := range part.src.GetPreferredDuringSchedulingIgnoredDuringExecution() {
			pt, err := compileTerm(w.GetPodAffinityTerm(), pi.ns, w.GetWeight())
			if err != nil {
				return nil, err
			}
			*part.pref = append(*part.pref, pt)
		}
	}
	for i, c := range spec.GetTopologySpreadConstraints() {
		sel, err := labels.FromProto(c.GetLabelSelector())
		none := c.GetLabelSelector() == nil
		if err != nil {
			return nil, fmt.Errorf("topologySpreadConstraints[%d]: %w", i, err)
		}
		pi.spread = append(pi.spread, &spreadConstraint{
			maxSkew: max(c.GetMaxSkew(), 1), topologyKey: c.GetTopologyKey(),
			hard: c.GetWhenUnsatisfiable() != "ScheduleAnyway", selector: sel, none: none, eq: equalities(sel),
		})
	}
	return pi, nil
}

func compileTerm(t *corev1.PodAffinityTerm, ns string, weight int32) (*podTerm, error) {
	// A term without a selector matches no pod (as in Kubernetes).
	sel, err := labels.FromProto(t.GetLabelSelector())
	none := t.GetLabelSelector() == nil
	if err != nil {
		return nil, fmt.Errorf("pod affinity term: %w", err)
	}
	nss := t.GetNamespaces()
	if len(nss) == 0 {
		nss = []string{ns}
	}
	nss = slices.Clone(nss)
	slices.Sort(nss)
	return &podTerm{
		selector: sel, none: none, namespaces: nss, topologyKey: t.GetTopologyKey(), weight: weight, eq: equalities(sel),
		id: fmt.Sprintf("%v|%v|%s|%s", nss, none, sel.String(), t.GetTopologyKey()),
	}, nil
}

// request is a container's request for a resource in milli-units, or its
// limit when no request is set.
func request(r *corev1.ResourceRequirements, name string) (int64, error) {
	v, ok := r.GetRequests()[name]
	if !ok {
		v, ok = r.GetLimits()[name]
	}
	if !ok {
		return 0, nil
	}
	q, err := quantity.Parse(v)
	if err != nil {
		return 0, fmt.Errorf("%s request %q: %w", name, v, err)
	}
	return q.Milli(), nil
}

// equalities are the key=value pairs a selector requires: the label index
// narrows candidates with them.
func equalities(sel labels.Selector) map[string]string {
	eq := map[string]string{}
	for _, r := range sel.Requirements() {
		if (r.Operator == labels.Equals || r.Operator == labels.In) && len(r.Values) == 1 {
			eq[r.Key] = r.Values[0]
		}
	}
	return eq
}
