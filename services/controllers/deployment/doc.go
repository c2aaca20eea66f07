// Package deployment rolls Deployments out through ReplicaSets, one per
// pod template revision: it creates the ReplicaSet of the current template
// (named NAME-HASH, numbered by the revision annotation), scales it up and
// the old ones down within maxSurge and maxUnavailable (or all old first for
// Recreate), keeps revisionHistoryLimit old ReplicaSets for rollback, and
// reports replicas, conditions (Available, Progressing) and a missed
// progress deadline in status. The scaling arithmetic is in rollout.go,
// free of I/O, and follows Kubernetes' deployment controller.
package deployment
