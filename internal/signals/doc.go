// Package signals turns SIGINT/SIGTERM into context cancellation: the first
// signal starts a graceful shutdown, a second one exits at once.
package signals
