// Command agentmem measures the memory of a host agent running 100 pods.
//
// In one run: an API server replica and a loopback registry seeded with
// busybox:1 run in this process; cmd/pacific and cmd/pacific-shim are built
// into a temporary dir and `pacific hostagent` (host agent + embedded image
// service) runs as a separate process against them, so its resident set is
// the agent's and the image service's alone. 100 pods (busybox `sleep 3600`,
// tiny requests, nodeName set to that host) are created and awaited until
// all are Running;
// then the agent's VmRSS (/proc/PID/status) is sampled over about 10 s and
// reported (max and average, with its anonymous/file split and peak), and
// the container shims (pacific-shim children of the agent) separately.
// Finally it deletes the pods, stops the agent with SIGINT and checks that
// no container, shim, mount or cgroup of the run is left. It ends with
//
//	RESULT agent_rss_mib=<max VmRSS of the agent while 100 pods run>
//
// See README.md for what it needs.
package main
