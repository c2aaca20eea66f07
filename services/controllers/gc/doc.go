// Package gc is the garbage collector: it deletes objects whose owners
// (metadata.ownerReferences) are all gone, and finishes the deletions the
// API server started with Foreground or Orphan propagation.
//
// It follows every kind through watches and keeps an in-memory graph from
// owner UID to dependents, only to know whom to look at: decisions are made
// on fresh reads (an owner counts as gone when Get says NotFound or returns
// an object with another UID). An owner being deleted in the foreground
// (finalizer foregroundDeletion) gets its dependents deleted, blocking ones
// (blockOwnerDeletion) in the foreground too, and loses the finalizer once
// no blocking dependent remains; an owner deleted with Orphan (finalizer
// orphan) has its references removed from every dependent first.
package gc
