// Package cache is the image service's content-addressed store on disk:
//
//	<root>/blobs/sha256/<hex>          compressed layer blobs (optional)
//	<root>/layers/sha256/<hex>/        unpacked layer, by diffID, shared by images
//	<root>/layers/sha256/<hex>.json    layer record (whiteouts, size, ...)
//	<root>/images/sha256/<hex>.json    image record: manifest, config, layer
//	                                   list, references, last-used time
//	<root>/tmp/                        work area: partial extractions and trash,
//	                                   emptied by Open
//
// Layers are written into tmp/ and renamed into place only when complete and
// verified ([Store.CommitLayer]); an image record is written only after all
// its layers are in place. Open drops whatever a crash left half done.
//
// Layers are reference-counted by image records (a layer shared by several
// images stays until the last of them is removed) and leased by pulls in
// flight. Images are pinned while in use ([Store.Acquire]); [Store.GC]
// removes least-recently-used unpinned images until the store fits its
// disk budget, and reports [ErrBudgetExceeded] when it cannot.
//
// One process owns a store: Open takes an exclusive flock on <root>/lock.
package cache
