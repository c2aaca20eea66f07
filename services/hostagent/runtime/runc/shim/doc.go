// Package shim is the per-container supervisor of the runc runtime: its
// protocol (Config, Ready, Exit) and its Go implementation (Main).
//
// The host agent starts one shim per container in its own session, so the
// shim outlives agent restarts: the C `pacific-shim` binary
// (cmd/pacific-shim, decision 0033; same protocol) when it is installed
// next to the agent's binary, else the agent binary re-executed as
// `pacific shim ...` (cmd/pacific calls Main). The shim:
//
//  1. becomes a child subreaper (PR_SET_CHILD_SUBREAPER);
//  2. runs `runc create` — or, with --start, `runc run --detach`, which
//     also starts the process — with pipes (or a console socket for TTY) as
//     the container's stdio; when runc exits, the container's init process
//     is re-parented to the shim;
//  3. reports {"pid": N} (or {"error": "..."}, with "runcFailed": true when
//     runc failed: the agent reads the reason from RuncLog) on the sync
//     pipe (fd 3) to the agent and closes it; after `runc create` the agent
//     runs `runc start` itself;
//  4. copies stdout/stderr into the container's CRI log file with rotation
//     (logs keep flowing while the agent is down);
//  5. reaps the init process with wait4 and writes the exit status
//     atomically to the exit file (Exit), then exits. (The runtime adds
//     whether it was OOM-killed from the container's cgroup.)
//
// The agent learns the exit by reaping the shim (its child) or, for a shim it
// re-adopted after a restart, by polling a pidfd of the shim, then reads the
// exit file. The shim never deletes the container: the agent runs
// `runc delete` when it removes it.
package shim
