// Package kinds holds the registry entries of the API server's built-in
// kinds, one file per kind.
package kinds
