// Package labels parses and evaluates Kubernetes-style label selectors and
// validates label sets.
//
// Selector syntax (requirements separated by ',' are ANDed; whitespace
// between tokens is ignored):
//
//	key=value   key==value   key!=value
//	key in (v1,v2)   key notin (v1,v2)
//	key   !key                (exists, does not exist)
//	key>5   key<5             (the label's value read as an integer)
//
// "key!=value" and "key notin (...)" also match objects without the label,
// as in Kubernetes. The empty selector matches everything.
package labels
