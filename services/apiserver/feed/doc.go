// Package feed publishes every committed change of the API server's store
// to the NATS JetStream stream described in internal/events.
//
// A Publisher runs on every replica; only the current (ready) store leader
// publishes. One leadership term goes like this:
//
//  1. Read the stream's last message: its Nats-Msg-Id and Pacific-Revision
//     are where the feed stands (an empty stream stands at revision 0).
//  2. Watch the store for every change after that revision. If the store no
//     longer retains it (ErrCompacted), publish a resync marker at the
//     store's current revision (consumers must relist, see internal/events)
//     and watch from there.
//  3. Publish each change in revision order with Nats-Msg-Id = revision and
//     Nats-Expected-Last-Msg-Id = the previous message's id, asynchronously
//     with a bounded number in flight, checking acks in order.
//  4. On any error (a failed or timed-out ack, a lost connection, a watch
//     cut for being too slow) stop, back off, and start over at step 1. On
//     losing leadership stop at once.
//
// Why nothing is dropped, duplicated or reordered, even while an old leader
// still has messages in flight: both leaders publish the same committed
// changes in the same order; JetStream drops a message whose Nats-Msg-Id it
// has seen (the 2-minute duplicate window covers in-flight overlap); and it
// rejects a message whose expected last id is not the stream's last id, so
// a message can never land after a gap or out of order — the publisher
// whose message was rejected starts over from the stream's last message.
//
// An event the Encode function cannot encode stops the feed (it retries
// with backoff and logs at error) rather than being skipped: a gap would be
// invisible to consumers.
package feed
