// Package registry is the API server's table of kinds. Each kind is one
// Kind entry: its names, scope, defaulting, validation, admission hooks and
// printer columns. Adding a kind is its proto plus one entry (see
// docs/checklist-add-a-kind.md).
package registry
