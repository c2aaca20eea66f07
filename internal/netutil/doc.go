// Package netutil holds small networking helpers shared by commands and
// tests.
package netutil
