// Command authz measures what authentication and RBAC cost the API: Get
// throughput of one pod through a server with auth on (bearer JWT, a
// namespace viewer resolved through a RoleBinding) against the same server
// setup with auth off, in the same run, alternating phases to spread
// machine noise over both. The last line is
//
//	RESULT authz_overhead_ratio=<on/off> ...
//
// Run: go run ./bench/authz [-duration 3s] [-rounds 2] [-clients 32].
package main
