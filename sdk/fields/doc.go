// Package fields parses field selectors such as
// "spec.nodeName=host-1,status.phase!=Failed": a comma-separated AND of
// path=value, path==value or path!=value terms. Paths are protojson
// (lowerCamel) field paths; which paths a kind allows is up to the server.
package fields
