// Command scheduler benchmarks the scheduler at scale: an API server and a
// scheduler, each its own `pacific` process, 5,000 simulated hosts (in
// this process, services/hostagent/sim) over 10 zones, and 10,000 pods
// (plain, required anti-affinity per host, topology spread over zones)
// created as fast as the API server takes them. It measures placements
// per second from the first create to the last binding seen on a watch,
// and per-pod create-to-bind latency; then an independent checker
// verifies every placement (capacity, anti-affinity, spread skew). It
// reports the CPU and memory of the API server and scheduler processes.
//
// See README.md for the kube-scheduler reference the figures compare to.
package main
