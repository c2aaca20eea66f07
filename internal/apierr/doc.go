// Package apierr is the one vocabulary of API errors shared by every service:
// a typed error carrying a gRPC code, a safe message and field violations.
// internal/grpcserver translates it to a gRPC status; anything else becomes
// Internal with a generic message, so raw error strings never leak.
package apierr
