// Package apiserver assembles one API server replica: the Raft store, the
// generic ResourceService over the kind registry, discovery, the admin
// (membership) API, the store's internal replica API and the NATS change
// feed, all on one gRPC listener.
//
//	srv, err := apiserver.New(ctx, apiserver.Config{DataDir: dir, Listen: "127.0.0.1:7443", Bootstrap: true})
//	...
//	err = srv.Run(ctx) // until ctx ends, then drains within ShutdownTimeout
package apiserver
