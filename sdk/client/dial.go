package client

import (
	"context"
	"fmt"
)

// serviceConfigTemplate is the gRPC service config. %s is the load
// balancer: round_robin over several servers (pick_first fails over too,
// but leaves the others idle), pick_first for one.
//
// Unary calls that fail with Unavailable (no leader during an election, a
// replica restarting) are retried: at most 5 attempts over about 1.5 s. A
// retried Create may find its own first attempt committed (AlreadyExists),
// and a retried Update or Delete with a resource version may see Aborted or
// NotFound; Apply handles the first, callers of the others handle those
// codes anyway. Membership changes are not retried.
const serviceConfigTemplate = `{
  "loadBalancingConfig": [{"%s": {}}],
  "methodConfig": [{
    "name": [
      {"service": "pacific.core.v1.ResourceService"},
      {"service": "pacific.core.v1.DiscoveryService"},
      {"service": "pacific.admin.v1.AdminService", "method": "ListMembers"}
    ],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.1s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

func serviceConfig(servers int) string {
	lb := "pick_first"
	if servers > 1 {
		lb = "round_robin"
	}
	return fmt.Sprintf(serviceConfigTemplate, lb)
}

// bearerToken sends a token on every call, over TLS only (the client
// always dials with TLS). The metadata map is built once: gRPC copies it
// into each call's headers and does not change it.
type bearerToken struct{ md map[string]string }

func newBearerToken(tok string) bearerToken {
	return bearerToken{md: map[string]string{"authorization": "Bearer " + tok}}
}

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return t.md, nil
}

func (bearerToken) RequireTransportSecurity() bool { return true }

// String never shows the token.
func (bearerToken) String() string { return "Bearer <redacted>" }
