// Package eviction serves EvictionService: it deletes a pod only when its
// Deployment keeps enough Ready pods (replicas − maxUnavailable, and at
// least one pod may always go), and otherwise marks the pod as leaving so
// its ReplicaSet starts a replacement first. The check and the delete run
// under one lock per API server replica, so concurrent evictions through
// one replica cannot both spend the last unit of a budget.
package eviction
