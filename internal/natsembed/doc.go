// Package natsembed runs a nats-server with JetStream inside the process, for
// `pacific dev` and for tests. It listens on loopback only, leaves signals to
// the program (NoSigs), fsyncs every JetStream write before acknowledging it
// (sync_interval: always, so an acked event survives a crash), and routes the
// server's log to slog: notices at debug, warnings at warn, errors at error.
//
// Production deployments run a real nats-server cluster instead; give it the
// same settings that matter to the change feed: `jetstream { sync_interval:
// always }` and `max_payload` of at least 4 MiB (objects may be 1.5 MiB).
package natsembed
