package runtime

import "errors"

var (
	// ErrNotFound: no sandbox or container with that ID.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a sandbox or container with that ID exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrNotRunning: the operation needs a running container (exec, kill).
	// Callers map it to FailedPrecondition.
	ErrNotRunning = errors.New("container is not running")
	// ErrStartFailed: the container could not be created or started (bad
	// command, missing binary, invalid spec...). Callers report the container
	// as terminated with reason StartError and exit code 128.
	ErrStartFailed = errors.New("container start failed")
	// ErrInvalidSpec: the spec is invalid; nothing was created.
	ErrInvalidSpec = errors.New("invalid spec")
)
