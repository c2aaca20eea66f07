// Package grpcserver is the one gRPC server factory every Pacific service
// uses. Interceptors run in a fixed order, one file each:
//
//	recover → telemetry → errors → authn → rate limit
//
// recover turns panics into Internal; telemetry logs each call with its code
// and duration; errors translates apierr.Error and context errors to gRPC
// statuses and hides everything else behind a generic Internal message;
// authn asks the configured Authenticator (identity arrives with the
// identity issue; until then every caller is anonymous); rate limit applies a
// per-peer token bucket when configured. Field validation belongs to each
// service's handlers, which report every bad field path at once.
package grpcserver
