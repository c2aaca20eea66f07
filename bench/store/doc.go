// Command store benchmarks Pacific's replicated store against etcd 3.4 on
// this machine, in one run: 3 etcd members (the Debian etcd-server binary,
// as child processes) and 3 Pacific API server replicas (in this process),
// all on loopback. It measures puts/s and p50/p99 latency with 256-byte
// values for 1 sequential client and for 100 concurrent clients, then
// linearizable gets/s with 100 clients, prints a table, and ends with
//
//	RESULT store_put_100c_ratio=<ours/etcd> store_put_1c_p99_ratio=<ours/etcd> store_get_100c_ratio=<ours/etcd>
//
// Phases alternate between the systems so slow drift of the disk affects
// both alike. See README.md for what it needs and how to read the figures.
package main
