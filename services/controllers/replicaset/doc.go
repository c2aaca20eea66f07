// Package replicaset keeps each ReplicaSet's number of pods: it creates
// pods from the template (owned by the ReplicaSet, named NAME-XXXXX) or
// deletes the least valuable ones (unscheduled, pending, not ready, newest
// first), and reports replicas, ready and available counts in status.
// Pods being deleted or finished do not count, so a pod evicted from a lost
// host is replaced at once even while its deletion waits for the host; nor
// do pods the eviction API marked as leaving (annotation
// pacific.dev/evicting), so their replacements start before they go.
package replicaset
