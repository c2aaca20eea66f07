// Package podproxy implements pacific.core.v1.PodService in the API server:
// it finds the host a pod runs on and forwards logs and exec streams to that
// host's agent (HostAgentService), so clients need one endpoint and one set
// of credentials, and every call is authorized in one place.
package podproxy
