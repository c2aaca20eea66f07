// Package natsauth decides who may connect to Pacific's NATS and what each
// may publish and subscribe to. Clients connect over mutual TLS; the
// verified certificate's common name is the NATS user and its organizations
// are the groups (as in internal/pki), and the groups pick the subject
// permissions; replies go to an inbox prefix of each identity's own
// (ClientOptions). Anyone else is refused. See
// docs/decisions/0028-nats-tls.md.
package natsauth
