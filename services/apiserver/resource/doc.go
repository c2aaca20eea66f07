// Package resource implements pacific.core.v1.ResourceService and
// DiscoveryService: the generic Create/Get/List/Update/UpdateStatus/Delete/
// Watch over every kind in the registry, on top of the Raft store.
//
// Objects are stored as deterministic protobuf bytes with resource_version
// cleared; the store's mod revision is stamped back on every read, so the
// state machine never has to parse objects.
package resource
