// Package grpcserver is the one gRPC server factory every Pacific service
// uses. Interceptors run in a fixed order, one file each:
//
//	recover → telemetry → errors → calls → authn → authz → rate limit
//
// recover turns panics into Internal; telemetry logs each call with its code
// and duration; errors translates apierr.Error and context errors to gRPC
// statuses and hides everything else behind a generic Internal message;
// calls gives each call a request id (x-request-id) and reports identity,
// first request and code to Config.OnCallDone (the audit log);
// authn asks the configured Authenticator (a Chain of bearer-token and
// client-certificate authenticators) and puts the Identity in the context;
// authz describes the call as Attributes and asks the Authorizer (a Union,
// e.g. node authorizer then RBAC), streams on their first message; rate limit applies a
// per-peer token bucket when configured. Field validation belongs to each
// service's handlers, which report every bad field path at once.
package grpcserver
