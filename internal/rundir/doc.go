// Package rundir keeps a node's volatile files on a tmpfs of their own:
// the container runtime's bundles, runc's state and the sandboxes'
// namespace pins, and the host agent's root filesystem mount points. None
// of them means anything after a reboot (containers do not survive one),
// and a pod start makes a dozen of them: in memory that costs microseconds,
// on a disk filesystem up to a few hundred each (decision 0035). It is
// what /run is to containerd and CRI-O, for hosts whose /run is no tmpfs.
package rundir
