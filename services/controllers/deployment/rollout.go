package deployment

import "slices"

// rsState is what the rollout arithmetic needs of one ReplicaSet.
type rsState struct {
	name      string
	replicas  int32 // spec.replicas
	available int32 // status.availableReplicas
	revision  int64
}

// rolloutInput is one Deployment's situation.
type rolloutInput struct {
	replicas           int32 // spec.replicas
	surge, unavailable int32 // resolved maxSurge, maxUnavailable
	newRS              rsState
	old                []rsState // any order
}

// rollingPlan returns the replicas the new ReplicaSet and each old one
// (by name) should have now during a rolling update.
func rollingPlan(in rolloutInput) (newReplicas int32, old map[string]int32) {
	newReplicas = scaleUpNew(in)
	in.newRS.replicas = newReplicas
	return newReplicas, scaleDownOld(in)
}

func total(rs []rsState, f func(rsState) int32) int32 {
	var n int32
	for _, r := range rs {
		n += f(r)
	}
	return n
}

func specReplicas(r rsState) int32 { return r.replicas }
func availableOf(r rsState) int32  { return r.available }

// scaleUpNew grows the new ReplicaSet while the total stays within
// replicas+surge, never beyond replicas (and shrinks it to replicas when
// the Deployment was scaled down).
func scaleUpNew(in rolloutInput) int32 {
	if in.newRS.replicas > in.replicas {
		return in.replicas
	}
	all := in.newRS.replicas + total(in.old, specReplicas)
	maxTotal := in.replicas + in.surge
	if all >= maxTotal {
		return in.newRS.replicas
	}
	up := min(maxTotal-all, in.replicas-in.newRS.replicas)
	return in.newRS.replicas + up
}

// scaleDownOld shrinks old ReplicaSets, oldest first, while at least
// replicas-unavailable pods stay available: first their unavailable pods
// (which cost nothing), then available ones.
func scaleDownOld(in rolloutInput) map[string]int32 {
	out := map[string]int32{}
	old := slices.Clone(in.old)
	slices.SortStableFunc(old, func(a, b rsState) int {
		if a.revision != b.revision {
			if a.revision < b.revision {
				return -1
			}
			return 1
		}
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	for _, r := range old {
		out[r.name] = r.replicas
	}
	if total(old, specReplicas) == 0 {
		return out
	}
	minAvailable := in.replicas - in.unavailable
	all := in.newRS.replicas + total(old, specReplicas)
	newUnavailable := max(in.newRS.replicas-in.newRS.available, 0)
	maxScaledDown := all - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return out
	}
	// Unhealthy pods of old ReplicaSets go first: removing them costs no
	// availability.
	var cleaned int32
	for i, r := range old {
		if cleaned >= maxScaledDown {
			break
		}
		unhealthy := max(r.replicas-r.available, 0)
		n := min(unhealthy, maxScaledDown-cleaned)
		old[i].replicas -= n
		out[r.name] = old[i].replicas
		cleaned += n
	}
	// Then available pods, as long as enough stay available.
	available := in.newRS.available + total(old, func(r rsState) int32 { return min(r.available, r.replicas) })
	if available <= minAvailable {
		return out
	}
	budget := available - minAvailable
	for i, r := range old {
		if budget <= 0 {
			break
		}
		n := min(old[i].replicas, budget)
		old[i].replicas -= n
		out[r.name] = old[i].replicas
		budget -= n
	}
	return out
}
