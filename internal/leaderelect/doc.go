// Package leaderelect elects one leader among replicas of a component
// with a Lease object: the holder renews spec.renewTime; a candidate takes
// the lease over when it has not changed for leaseDurationSeconds, as
// measured on the candidate's own clock (no clock sync between replicas is
// needed). Every write is an Update with the resource_version read, so two
// candidates can never both win.
package leaderelect
