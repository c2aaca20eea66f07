// Package runc implements runtime.Runtime with real OCI containers driven
// through the runc binary (never linked as a library). Linux, root.
//
// # State layout
//
// Options.RunDir (volatile; default StateDir; best on a tmpfs, package
// rundir, decision 0035):
//
//	runc/                      runc --root (runc's own state; never /run/runc)
//	sandboxes/<id>/            sandbox.json and the pinned namespaces: net, ipc, uts
//	containers/<id>/           the OCI bundle (config.json) and our files:
//	                           meta.json, init.pid, exit.json, runc.log, shim.log
//
// Options.StateDir:
//
//	logs/<sandbox>/<name>/<attempt>.log[.N]   CRI-format container logs
//
// # Sandboxes
//
// A pod sandbox is a set of pinned namespaces, not a "pause" container: a
// goroutine locks itself to a fresh OS thread, unshare(2)s a new network,
// IPC and UTS namespace, sets the hostname, brings loopback up (SIOCSIFFLAGS)
// and bind-mounts /proc/thread-self/ns/{net,ipc,uts} onto files in the
// sandbox dir, like `ip netns add` does; the thread is then discarded (the
// goroutine exits still locked). Containers join these namespaces by path.
// Sandbox.Namespaces.Network is the netns path to hand to CNI. Removing the
// sandbox unmounts and deletes the files; the kernel frees the namespaces
// once the last container is gone. No process, no image, no extra memory.
//
// # Containers and the shim
//
// Each container runs under a shim (package shim), started in a new
// session: Options.ShimPath + ShimArgs, by default the C `pacific-shim`
// next to the agent's executable (cmd/pacific-shim, decision 0033: ~6 ms
// of CPU to start under load and ~0.9 MiB resident), else the pacific
// binary re-executed as `pacific shim ...` (the Go shim, the fallback).
// The shim is a child subreaper that runs `runc create` (`runc run
// --detach` when ContainerSpec.Start asks to start at once), adopts the
// container's init process, copies its output into the log file, reaps it
// and records the exit status (code, signal) in exit.json. The agent runs
// `runc start` (unless the shim started it), `runc kill`, `runc exec` and
// `runc delete` itself. Because the shim, not the agent, is the container's parent and log
// writer, the agent can exit and a new agent re-adopts running containers
// with Recover: it reads meta.json, checks the shim is the same process
// (PID and start time), watches it through a pidfd and reads exit.json when
// it exits. Containers keep their PIDs and are never restarted.
//
// Starts take a start slot (decision 0034): Options.StartsPerCPU (default
// two) per CPU the agent may use, held until runc create/run has
// returned, with runc's own process pinned to the slot's CPU by the shim
// (--runc-cpu). runc gives the container's init the CPUs of its cgroup, so
// containers are not pinned. Options.UnpinnedStarts turns this off.
//
// The shims, and the runc commands the runtime runs itself, execute runc
// from a sealed in-memory copy the runtime makes once (decision 0036), so
// that runc skips making its own protected copy per start and one binary
// handles every container; runc's path is used when the copy cannot be
// made.
//
// # Hardened defaults
//
// no_new_privileges; Docker's 14 default capabilities (bounding, effective,
// permitted; no inheritable, no ambient); Docker's masked and read-only
// paths; a default seccomp allow-list (EPERM otherwise; clone without
// namespace flags, clone3 → ENOSYS); all devices denied except runc's
// standard set; a pids limit; RLIMIT_NOFILE at the agent's hard limit
// (root lacks CAP_SYS_RESOURCE on some hosts, so limits are never raised);
// private pid and mount namespaces. cgroupsPath is
// <CgroupParent>/<sandbox>/<container> (cgroupfs driver; no systemd), which
// runc creates in every v1 hierarchy (and the v2 one on hybrid hosts).
//
// # Exec and logs
//
// Exec runs `runc exec` in the foreground (it exits with the process'
// status); with a TTY its stdio is a pty the runtime opens, and Resize sets
// the size on the master (the kernel signals runc, which resizes the
// container's console). Logs are written by the shim (see package logs for
// the format and rotation) and read with tail/since/follow/previous; a
// follow ends when the container has exited.
//
// # Wiring
//
// The agent binary must dispatch its "shim" subcommand to shim.Main before
// anything else (no flag parsing: pass the raw arguments), keeping fd 3.
//
// # OOM
//
// When it reads a container's exit.json, the runtime reads the container
// cgroup's oom_kill counter (v1 memory.oom_control, v2 memory.events; the
// cgroup lives until RemoveContainer); a non-zero count reports reason
// OOMKilled.
package runc
