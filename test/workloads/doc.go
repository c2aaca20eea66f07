// Package workloads tests Deployments, drain, maintenance and host loss
// end to end in one process: a real API server, the controllers, the
// scheduler and simulated hosts (services/hostagent/sim), with host
// lifecycle timings shortened to seconds.
package workloads
