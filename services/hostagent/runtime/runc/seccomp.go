package runc

import (
	goruntime "runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// allowedSyscalls is the allow-list of the default seccomp profile: the
// system calls an ordinary (unprivileged, namespaced) workload needs,
// following the same policy as Docker's default profile: everything that is
// not here fails with EPERM, notably mount/umount, unshare/setns, kernel
// modules, kexec, reboot, swapon, keyctl, bpf, perf_event_open,
// userfaultfd, ptrace, process_vm_*, open_by_handle_at, clock/time setting,
// quotactl, acct, io_uring and the namespace flags of clone.
var allowedSyscalls = []string{
	// files and directories
	"access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range",
	"creat", "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
	"fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
	"fcntl", "fcntl64", "fdatasync", "flock", "fstat", "fstat64", "fstatat64", "fstatfs",
	"fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
	"getdents64", "lchown", "lchown32", "link", "linkat", "_llseek", "lseek", "lstat", "lstat64",
	"mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open", "openat", "openat2", "pread64",
	"preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
	"readlinkat", "readv", "rename", "renameat", "renameat2", "rmdir", "sendfile", "sendfile64",
	"splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask", "unlink", "unlinkat",
	"utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write", "writev",
	// extended attributes
	"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "getxattrat", "lgetxattr",
	"listxattr", "listxattrat", "llistxattr", "lremovexattr", "lsetxattr", "removexattr",
	"removexattrat", "setxattr", "setxattrat",
	// file change notification
	"fanotify_mark", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
	// memory
	"brk", "cachestat", "madvise", "membarrier", "memfd_create", "mincore", "mlock", "mlock2",
	"mlockall", "mmap", "mmap2", "mprotect", "mremap", "mseal", "msync", "munlock", "munlockall",
	"munmap", "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
	// processes and threads
	"capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "getcpu",
	"getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrlimit", "get_robust_list",
	"getrusage", "getsid", "get_thread_area", "gettid", "ioprio_get", "ioprio_set",
	"pidfd_getfd", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease",
	"restart_syscall", "rseq", "sched_getaffinity", "sched_getattr", "sched_getparam",
	"sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
	"sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
	"sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
	"setpgid", "setpriority", "setrlimit", "set_robust_list", "setsid", "set_thread_area",
	"set_tid_address", "ugetrlimit", "vfork", "wait4", "waitid", "waitpid",
	// credentials (bounded by the capability set)
	"getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
	"getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid",
	"getuid32", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
	"setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32",
	"setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
	// signals
	"kill", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
	"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn",
	"tgkill", "tkill",
	// time and timers
	"alarm", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
	"clock_nanosleep", "clock_nanosleep_time64", "getitimer", "gettimeofday", "nanosleep",
	"setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
	"timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
	"timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
	// polling, events and futexes
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
	"epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "futex",
	"futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "_newselect",
	"poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64", "select",
	// pipes, sockets and ioctl
	"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
	"ioctl", "listen", "pipe", "pipe2", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
	"recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown", "socket",
	"socketcall", "socketpair",
	// async I/O
	"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
	"io_setup", "io_submit",
	// System V and POSIX IPC (in the pod's IPC namespace)
	"ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
	"mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
	"semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt",
	"shmget",
	// system information and randomness
	"getrandom", "sysinfo", "uname",
	// chroot is gated by CAP_SYS_CHROOT, which the default set has
	"chroot",
	// Landlock lets a workload sandbox itself further
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
}

// archSyscalls are allowed per GOARCH.
var archSyscalls = map[string][]string{
	"amd64": {"arch_prctl", "modify_ldt"},
	"386":   {"modify_ldt"},
	"arm64": {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"},
}

// nsCloneFlags are the clone flags that create namespaces: denied without
// CAP_SYS_ADMIN.
const nsCloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

func seccompArches() []specs.Arch {
	switch goruntime.GOARCH {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "arm64":
		return []specs.Arch{specs.ArchARM, specs.ArchAARCH64}
	case "386":
		return []specs.Arch{specs.ArchX86}
	}
	return nil
}

// DefaultSeccomp returns the default seccomp profile: an allow-list with
// EPERM as the default action. caps is the bounding set: CAP_SYS_ADMIN
// (never in the default set) re-enables the namespace clone flags and the
// admin system calls, as Docker does.
func DefaultSeccomp(caps []string) *specs.LinuxSeccomp {
	eperm := uint(unix.EPERM)
	enosys := uint(unix.ENOSYS)
	allow := slices.Clone(allowedSyscalls)
	allow = append(allow, archSyscalls[goruntime.GOARCH]...)
	s := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		Architectures:   seccompArches(),
		Syscalls: []specs.LinuxSyscall{
			{Names: allow, Action: specs.ActAllow},
			// personality(2): only the harmless personas (Linux, 32-bit
			// address limit and their "query" value).
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x0, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x0008, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x20000, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x20008, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}},
		},
	}
	if slices.Contains(caps, "CAP_SYS_ADMIN") {
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{
			Names: []string{"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount",
				"fsopen", "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount",
				"name_to_handle_at", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
				"setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"},
			Action: specs.ActAllow,
		})
		return s
	}
	// clone without namespace flags (the flags are the first argument on
	// every architecture we support); clone3 passes its flags in memory,
	// which seccomp cannot inspect: make it fail with ENOSYS so that libc
	// falls back to clone.
	s.Syscalls = append(s.Syscalls,
		specs.LinuxSyscall{Names: []string{"clone"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: nsCloneFlags, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
		specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
	)
	return s
}
