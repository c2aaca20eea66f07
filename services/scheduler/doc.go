// Package scheduler places pods on hosts: it watches unbound pods and
// Hosts, keeps an in-memory cache of hosts and the pods bound to them, and
// for each pending pod filters the hosts, scores the feasible ones and
// binds the pod to the best with an Update of spec.nodeName sent with the
// pod's resource_version (a conflict requeues the pod; a pod is never
// bound twice).
//
// # Filters (the first that fails names the host's reason)
//
// Host Ready, not cordoned (spec.unschedulable), not in maintenance, the
// pod's isolation offered by one of the host's runtimes, taints with effect
// NoSchedule/NoExecute tolerated, nodeSelector and required node affinity,
// requests (cpu, memory, pod count) within allocatable minus what bound
// and assumed pods request, required pod affinity and anti-affinity (both
// the pod's own terms and existing pods' anti-affinity terms that match
// it), and topology spread constraints with whenUnsatisfiable
// DoNotSchedule.
//
// # Scores
//
// Resources by strategy (spread: least allocated; binpack: most
// allocated), preferred node affinity, preferred pod affinity and
// anti-affinity, ScheduleAnyway spread constraints, and untolerated
// PreferNoSchedule taints. Like kube-scheduler, a search stops after
// enough feasible hosts (an adaptive share of large fleets, starting where
// the last one stopped), so a placement costs far less than a full scan;
// Config.PercentageOfHostsToScore = 100 scans all.
//
// # Unschedulable pods
//
// A pod no host fits gets PodScheduled=False (reason Unschedulable) and
// status.schedulingExplanation, e.g. "0/5 hosts available: 3 insufficient
// memory, 2 in maintenance". It waits until the cluster changes (a host
// added or changed, a pod deleted or finished) and its backoff has passed
// (1s doubling to 60s by default), or a periodic flush; it is never retried
// in a hot loop.
//
// # Events
//
// Each failed attempt is recorded as a Warning FailedScheduling Event with
// the explanation, each binding as a Normal Scheduled Event naming the
// host (component "scheduler", through record.Aggregator): repeats fold
// into one Event object's count, one pod and reason are written at most
// once per Config.EventInterval, and writes wait while pods are queued so
// that they never slow scheduling (decision 0030).
//
// # Replicas
//
// Several schedulers may run; the one holding the Lease
// pacific-system/pacific-scheduler schedules (internal/leaderelect). The
// others wait and take over within about a lease duration.
package scheduler
