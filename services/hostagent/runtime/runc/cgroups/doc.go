// Package cgroups finds the cgroup hierarchies of this host (v1, hybrid or
// v2), prepares a parent cgroup, reads the OOM-kill counter of a cgroup and
// removes cgroup directories in every hierarchy. It only does what the runc
// runtime needs beyond runc itself (runc creates and configures the
// container's own cgroups).
package cgroups
