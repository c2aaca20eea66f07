// Package informer follows one kind through a watch from revision 0: the
// current objects first, then every change, relisting (and reporting the
// objects that vanished meanwhile as deleted) when the server says the
// watch fell too far behind. Callers keep their own caches in the Handler.
package informer
