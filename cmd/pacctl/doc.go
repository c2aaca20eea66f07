// Command pacctl is the command-line client of Pacific, shaped like
// kubectl: apply, get, describe and delete objects, and manage the API
// server's replicas.
//
// It talks to the API only through the SDK (sdk/client), like any
// integrator, and reads its target from a config file
// (--config, $PACCTL_CONFIG, or ~/.pacific/pacctl.yaml; `pacific dev`
// writes one) or from --server and --token.
//
// Exit codes: 0 on success, 1 on any error (bad usage, bad input,
// unreachable server, refused request).
package main
