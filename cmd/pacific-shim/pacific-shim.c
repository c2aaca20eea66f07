// pacific-shim is the per-container shim of the host agent's runc runtime,
// in C like CRI-O's conmon: one runs for every container, so its start is
// on every pod start's path and its memory is paid per container (decision
// 0033). It speaks the protocol of services/hostagent/runtime/runc/shim,
// whose Go implementation (`pacific shim`) is the fallback when this
// binary is not installed next to pacific:
//
//   - arguments: shim.Config.Args (--id, --bundle, --runc, --runc-root,
//     --log-path, --log-max-bytes, --log-max-files, [--tty], [--start],
//     [--runc-cpu N]: runc's own process runs on CPU N only; runc gives
//     the container's init the CPUs of its cgroup (decision 0034);
//     [--runc-fd N]: runc is executed from inherited fd N, the agent's
//     sealed in-memory copy of it (decision 0036), not from --runc, which
//     still names it in messages; the fd reaches neither runc nor the
//     container);
//   - fd 3, the sync pipe: one JSON line, {"pid":N} once `runc create`
//     (`runc run --detach` with --start) returned, else {"error":"..."}
//     (with "runcFailed":true when runc failed: the agent reads runc's
//     log for the reason);
//   - the container's output goes to --log-path in the CRI log format,
//     rotated by size, exactly as logs.Writer writes it;
//   - when the container's init exits, BUNDLE/exit.json records it
//     (written to a temporary file, synced, renamed); the agent adds
//     whether the kernel OOM-killed it from the container's cgroup.
//
// It is a child subreaper, so the container's init is re-parented to it
// when runc exits, and it reaps every orphan on the way.
//
// Build: cc -O2 -static -o pacific-shim pacific-shim.c (hack/build-shim.sh).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYNC_FD 3
#define MAX_LINE (16 << 10)           /* logs.MaxLineSize */
#define DEFAULT_MAX_BYTES (10 << 20)  /* logs.DefaultMaxBytes */
#define DEFAULT_MAX_FILES 3           /* logs.DefaultMaxFiles */
#define DRAIN_MS 2000                 /* output copied after init exited */
#define CONSOLE_WAIT_MS 10000         /* runc sends the pty master */

struct config {
	const char *id, *bundle, *runc, *runc_root, *log_path;
	long long log_max_bytes;
	int log_max_files, tty, start;
	int runc_cpu; /* -1: runc runs where the shim may */
	int runc_fd;  /* -1: exec runc from c->runc */
};

static const char *container_id = "";

static void logf_(const char *level, const char *fmt, ...) {
	char ts[64];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "time=%s level=%s container=%s msg=\"", ts, level, container_id);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\"\n", stderr);
}

/* write_all writes len bytes of buf to fd (retrying short writes and
 * EINTR); it returns how many it wrote, fewer only on an error (errno). */
static size_t write_all(int fd, const char *buf, size_t len) {
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			break;
		}
		off += (size_t)n;
	}
	return off;
}

/* ---- sync pipe ---- */

static int sync_open = 1;

/* json_string appends s as a JSON string to out (size n, NUL-terminated). */
static void json_string(char *out, size_t n, const char *s) {
	size_t o = strlen(out);
	if (o + 1 >= n)
		return;
	out[o++] = '"';
	for (; *s && o + 8 < n; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, n - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = 0;
}

static void report(int pid, const char *err, int runc_failed) {
	if (!sync_open)
		return;
	char msg[4096] = "";
	if (err) {
		strcpy(msg, "{\"error\":");
		json_string(msg, sizeof msg - 32, err);
		strcat(msg, runc_failed ? ",\"runcFailed\":true}\n" : "}\n");
	} else {
		snprintf(msg, sizeof msg, "{\"pid\":%d}\n", pid);
	}
	size_t len = strlen(msg);
	if (write_all(SYNC_FD, msg, len) < len)
		logf_("WARN", "agent gone before sync: %s", strerror(errno));
	close(SYNC_FD);
	sync_open = 0;
}

static void fail(const char *fmt, ...) {
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	report(0, msg, 0);
	logf_("ERROR", "shim failed: %s", msg);
	exit(1);
}

/* ---- arguments ---- */

static int parse_int(const char *s, long long *v) {
	char *end;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno == 0 && *s && !*end;
}

static int parse_args(int argc, char **argv, struct config *c) {
	memset(c, 0, sizeof *c);
	c->runc = "runc";
	c->runc_cpu = -1;
	c->runc_fd = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-')
			a += 2;
		else if (a[0] == '-')
			a += 1;
		else {
			fprintf(stderr, "shim: unexpected argument %s\n", argv[i]);
			return -1;
		}
		if (!strcmp(a, "tty")) {
			c->tty = 1;
			continue;
		}
		if (!strcmp(a, "start")) {
			c->start = 1;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "shim: flag needs an argument: %s\n", argv[i]);
			return -1;
		}
		const char *v = argv[++i];
		long long n;
		if (!strcmp(a, "id"))
			c->id = v;
		else if (!strcmp(a, "bundle"))
			c->bundle = v;
		else if (!strcmp(a, "runc"))
			c->runc = v;
		else if (!strcmp(a, "runc-root"))
			c->runc_root = v;
		else if (!strcmp(a, "log-path"))
			c->log_path = v;
		else if (!strcmp(a, "log-max-bytes") && parse_int(v, &n) && n >= 0)
			c->log_max_bytes = n;
		else if (!strcmp(a, "log-max-files") && parse_int(v, &n) && n >= 0 && n <= INT_MAX)
			c->log_max_files = (int)n;
		else if (!strcmp(a, "runc-cpu") && parse_int(v, &n) && n >= 0 && n < CPU_SETSIZE)
			c->runc_cpu = (int)n;
		else if (!strcmp(a, "runc-fd") && parse_int(v, &n) && n > SYNC_FD && n <= INT_MAX)
			c->runc_fd = (int)n;
		else if (!strcmp(a, "log-max-bytes") || !strcmp(a, "log-max-files") || !strcmp(a, "runc-cpu") ||
		         !strcmp(a, "runc-fd")) {
			fprintf(stderr, "shim: invalid value %s for flag -%s\n", v, a);
			return -1;
		} else {
			fprintf(stderr, "shim: flag provided but not defined: -%s\n", a);
			return -1;
		}
	}
	if (!c->id || !*c->id || !c->bundle || !*c->bundle || !c->runc_root || !*c->runc_root || !c->log_path ||
	    !*c->log_path) {
		fprintf(stderr, "shim: --id, --bundle, --runc-root and --log-path are required\n");
		return -1;
	}
	if (c->log_max_bytes <= 0)
		c->log_max_bytes = DEFAULT_MAX_BYTES;
	if (c->log_max_files <= 0)
		c->log_max_files = DEFAULT_MAX_FILES;
	return 0;
}

/* ---- log writer (logs.Writer) ---- */

struct logw {
	const char *path;
	long long max_bytes, size;
	int max_files, fd, strip_cr;
	char buf[MAX_LINE + 128];
};

static int mkdir_all(const char *path, mode_t mode) {
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
		return errno = ENAMETOOLONG, -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int log_open(struct logw *w) {
	w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (w->fd < 0)
		return -1;
	struct stat st;
	if (fstat(w->fd, &st) < 0)
		return -1;
	w->size = st.st_size;
	return 0;
}

static void rotated_path(char *out, size_t n, const char *path, int i) {
	if (i == 0)
		snprintf(out, n, "%s", path);
	else
		snprintf(out, n, "%s.%d", path, i);
}

static int log_rotate(struct logw *w) {
	close(w->fd);
	w->fd = -1;
	char from[PATH_MAX], to[PATH_MAX];
	if (w->max_files == 1) {
		if (unlink(w->path) < 0 && errno != ENOENT)
			return -1;
		return log_open(w);
	}
	rotated_path(to, sizeof to, w->path, w->max_files - 1);
	if (unlink(to) < 0 && errno != ENOENT)
		return -1;
	for (int i = w->max_files - 2; i >= 0; i--) {
		rotated_path(from, sizeof from, w->path, i);
		rotated_path(to, sizeof to, w->path, i + 1);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -1;
	}
	return log_open(w);
}

/* timestamp writes time.RFC3339Nano of now in UTC (trailing zeros of the
 * fraction dropped, as Go formats it). */
static size_t timestamp(char *out, size_t n) {
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t o = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	if (now.tv_nsec > 0) {
		char frac[24];
		snprintf(frac, sizeof frac, ".%09ld", now.tv_nsec);
		size_t l = strlen(frac);
		while (frac[l - 1] == '0')
			frac[--l] = 0;
		memcpy(out + o, frac, l);
		o += l;
	}
	out[o++] = 'Z';
	return o;
}

static void log_entry(struct logw *w, const char *stream, int partial, const char *content, size_t len) {
	if (w->fd < 0)
		return;
	size_t o = timestamp(w->buf, 48);
	o += (size_t)sprintf(w->buf + o, " %s %s ", stream, partial ? "P" : "F");
	memcpy(w->buf + o, content, len);
	o += len;
	w->buf[o++] = '\n';
	if (w->size > 0 && w->size + (long long)o > w->max_bytes && log_rotate(w) < 0) {
		logf_("WARN", "rotate log: %s", strerror(errno));
		if (w->fd < 0)
			return;
	}
	size_t n = write_all(w->fd, w->buf, o);
	w->size += (long long)n;
	if (n < o)
		logf_("WARN", "write log: %s", strerror(errno));
}

/* ---- output streams ---- */

struct stream {
	const char *name;
	int fd, pty;
	size_t len;
	char buf[MAX_LINE];
};

/* flush_lines writes the complete lines in s->buf (and, when the buffer is
 * full or at EOF, what is left as one entry: partial if full). */
static void flush_lines(struct stream *s, struct logw *w, int eof) {
	size_t start = 0;
	for (;;) {
		char *nl = memchr(s->buf + start, '\n', s->len - start);
		if (!nl)
			break;
		size_t l = (size_t)(nl - (s->buf + start));
		if (w->strip_cr && l > 0 && s->buf[start + l - 1] == '\r')
			l--;
		log_entry(w, s->name, 0, s->buf + start, l);
		start = (size_t)(nl - s->buf) + 1;
	}
	if (start < s->len && (s->len - start == MAX_LINE || eof)) {
		log_entry(w, s->name, !eof, s->buf + start, s->len - start);
		start = s->len;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
}

/* pump reads what s has; at EOF it closes s (fd -1). */
static void pump(struct stream *s, struct logw *w) {
	ssize_t n = read(s->fd, s->buf + s->len, MAX_LINE - s->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* A pty master reads EIO once the slave side is closed: EOF. */
		if (n < 0 && !(s->pty && errno == EIO))
			logf_("WARN", "read %s: %s", s->name, strerror(errno));
		flush_lines(s, w, 1);
		close(s->fd);
		s->fd = -1;
		return;
	}
	s->len += (size_t)n;
	flush_lines(s, w, 0);
}

/* ---- runc ---- */

static int recv_fd(int conn) {
	char data[4096];
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
	if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = EPROTO;
		return -1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/* wait_readable waits up to ms for fd to be readable. */
static int wait_readable(int fd, int ms) {
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (;;) {
		int n = poll(&p, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* drain_signals empties the SIGCHLD signalfd (waitpid says who exited). */
static void drain_signals(int sfd) {
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof si) > 0) {
	}
}

/* copy_output waits up to timeout ms (-1: no limit) for output or SIGCHLD
 * and copies what the container wrote into w. */
static void copy_output(int sfd, struct stream *out, struct stream *err, struct logw *w, int timeout) {
	struct pollfd p[3] = {{.fd = sfd, .events = POLLIN}, {.fd = out->fd, .events = POLLIN}, {.fd = err->fd, .events = POLLIN}};
	int n = poll(p, 3, timeout);
	if (n < 0 && errno != EINTR)
		fail("poll: %s", strerror(errno));
	if (n <= 0)
		return;
	if (p[1].revents)
		pump(out, w);
	if (p[2].revents)
		pump(err, w);
	if (p[0].revents)
		drain_signals(sfd);
}

/* create runs runc and returns the container's init pid; out/err (or the
 * pty master in out) receive the container's output, written to w. */
static int create(const struct config *c, sigset_t *origmask, int sfd, struct stream *out, struct stream *err,
                  struct logw *w) {
	char pid_file[PATH_MAX], runc_log[PATH_MAX], sock_dir[] = "/tmp/pacific-shim-XXXXXX", sock[PATH_MAX] = "";
	snprintf(pid_file, sizeof pid_file, "%s/init.pid", c->bundle);
	snprintf(runc_log, sizeof runc_log, "%s/runc.log", c->bundle);
	int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, ln = -1, runc_out = -1;
	if (c->tty) {
		if (!mkdtemp(sock_dir))
			fail("console socket dir: %s", strerror(errno));
		struct sockaddr_un addr = {.sun_family = AF_UNIX};
		if (snprintf(addr.sun_path, sizeof addr.sun_path, "%s/console.sock", sock_dir) >= (int)sizeof addr.sun_path)
			fail("console socket: path too long");
		strcpy(sock, addr.sun_path);
		ln = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ln < 0 || bind(ln, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ln, 1) < 0)
			fail("console socket: %s", strerror(errno));
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/runc.stderr", c->bundle);
		runc_out = open(p, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0640);
		if (runc_out < 0)
			fail("%s: %s", p, strerror(errno));
	} else if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
	}
	const char *op = c->start ? "run" : "create";
	const char *argv[20];
	int n = 0;
	argv[n++] = c->runc;
	argv[n++] = "--root";
	argv[n++] = c->runc_root;
	argv[n++] = "--log";
	argv[n++] = runc_log;
	argv[n++] = "--log-format";
	argv[n++] = "json";
	argv[n++] = op;
	if (c->start)
		argv[n++] = "--detach";
	argv[n++] = "--bundle";
	argv[n++] = c->bundle;
	argv[n++] = "--pid-file";
	argv[n++] = pid_file;
	if (c->tty) {
		argv[n++] = "--console-socket";
		argv[n++] = sock;
	}
	argv[n++] = c->id;
	argv[n] = NULL;

	char exe[64];
	const char *runc_exe = c->runc;
	if (c->runc_fd >= 0) {
		snprintf(exe, sizeof exe, "/proc/self/fd/%d", c->runc_fd);
		runc_exe = exe;
	}
	pid_t runc = fork();
	if (runc < 0)
		fail("fork runc: %s", strerror(errno));
	if (runc == 0) {
		sigprocmask(SIG_SETMASK, origmask, NULL);
		if (c->runc_cpu >= 0) {
			/* Best effort: a CPU gone offline only costs the speed-up. */
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(c->runc_cpu, &set);
			sched_setaffinity(0, sizeof set, &set);
		}
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int o = c->tty ? runc_out : out_p[1], e = c->tty ? runc_out : err_p[1];
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execv(runc_exe, (char *const *)argv);
		dprintf(2, "exec %s: %s\n", c->runc, strerror(errno));
		_exit(127);
	}
	/* The copy stays referenced by the agent; the shim, which outlives
	 * runc, does not keep it. */
	if (c->runc_fd >= 0)
		close(c->runc_fd);
	if (!c->tty) {
		close(out_p[1]);
		close(err_p[1]);
		out->fd = out_p[0];
		err->fd = err_p[0];
	} else {
		close(runc_out);
	}
	/* Copy what the container writes while runc is still running (with
	 * --start it runs before runc returns), so that the streams interleave
	 * as they were written. SIGCHLD (the signalfd) says runc exited. */
	int st;
	for (;;) {
		pid_t r = waitpid(runc, &st, WNOHANG);
		if (r == runc)
			break;
		if (r < 0 && errno != EINTR)
			fail("wait for runc %s: %s", op, strerror(errno));
		copy_output(sfd, out, err, w, -1);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char why[64];
		if (WIFSIGNALED(st))
			snprintf(why, sizeof why, "signal: %s", strsignal(WTERMSIG(st)));
		else
			snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(st));
		if (sock[0]) {
			unlink(sock);
			rmdir(sock_dir);
		}
		report(0, why, 1);
		logf_("ERROR", "shim failed: runc %s: %s", op, why);
		exit(1);
	}
	if (c->tty) {
		int ok = wait_readable(ln, CONSOLE_WAIT_MS) > 0;
		int conn = ok ? accept4(ln, NULL, NULL, SOCK_CLOEXEC) : -1;
		int master = conn >= 0 ? recv_fd(conn) : -1;
		int saved = errno;
		if (conn >= 0)
			close(conn);
		close(ln);
		unlink(sock);
		rmdir(sock_dir);
		if (!ok)
			fail("runc never sent the console");
		if (master < 0)
			fail("receive console: %s", strerror(saved));
		out->fd = master;
		out->pty = 1;
	}
	char buf[32] = "";
	int fd = open(pid_file, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		fail("read pid file: %s", strerror(errno));
	long long pid;
	buf[r] = 0;
	buf[strcspn(buf, " \n")] = 0;
	if (!parse_int(buf, &pid) || pid <= 0 || pid > INT_MAX)
		fail("bad pid file \"%s\"", buf);
	return (int)pid;
}

/* ---- exit ---- */

static void write_exit(const struct config *c, int pid, int code, int sig) {
	char tmp[PATH_MAX], final[PATH_MAX], ts[64], data[256];
	size_t l = timestamp(ts, sizeof ts);
	ts[l] = 0;
	if (sig)
		snprintf(data, sizeof data, "{\"pid\":%d,\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\"}", pid, code, sig, ts);
	else
		snprintf(data, sizeof data, "{\"pid\":%d,\"exitCode\":%d,\"finishedAt\":\"%s\"}", pid, code, ts);
	snprintf(tmp, sizeof tmp, "%s/exit.json.tmp", c->bundle);
	snprintf(final, sizeof final, "%s/exit.json", c->bundle);
	int fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(data);
	if (fd < 0 || write_all(fd, data, len) < len || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, final) < 0) {
		logf_("ERROR", "write exit file: %s", strerror(errno));
		exit(1);
	}
	logf_("INFO", "container exited pid=%d code=%d signal=%d", pid, code, sig);
}

static long long now_ms(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_signal(int s) { (void)s; }

int main(int argc, char **argv) {
	struct config c;
	if (parse_args(argc, argv, &c) < 0)
		return 2;
	container_id = c.id;
	/* The sync pipe must not leak into runc and the container. */
	fcntl(SYNC_FD, F_SETFD, FD_CLOEXEC);
	/* Neither must runc's own executable: exec opens it before the
	 * close-on-exec fds are closed. */
	if (c.runc_fd >= 0 && fcntl(c.runc_fd, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "shim: --runc-fd %d: %s\n", c.runc_fd, strerror(errno));
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		fail("set subreaper: %s", strerror(errno));
	/* Signals meant for the agent's session do not stop the shim. Caught,
	 * not ignored: ignored dispositions would be inherited by the
	 * container, caught ones are reset by exec. */
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A gone agent makes the sync write fail with EPIPE, not kill us. */
	sigaction(SIGPIPE, &sa, NULL);
	/* SIGCHLD arrives through a signalfd; runc gets the original mask. */
	sigset_t chld, orig;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &orig);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fail("signalfd: %s", strerror(errno));

	static struct logw w;
	w.path = c.log_path;
	w.max_bytes = c.log_max_bytes;
	w.max_files = c.log_max_files;
	w.strip_cr = c.tty;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", c.log_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir_all(dir, 0750) < 0)
			fail("log dir: %s", strerror(errno));
	}
	if (log_open(&w) < 0)
		fail("open log: %s", strerror(errno));

	static struct stream out = {.name = "stdout", .fd = -1}, err = {.name = "stderr", .fd = -1};
	int pid = create(&c, &orig, sfd, &out, &err, &w);
	report(pid, NULL, 0);

	int exited = 0, code = 255, sig = 0, polling = 0;
	long long drain_until = 0;
	for (;;) {
		/* Reap every child; the init process is the one we wait for.
		 * Before each wait for output or SIGCHLD, not after: an init
		 * that exits while runc still runs is a zombie whose SIGCHLD
		 * create() already consumed, and nothing else would wake us. */
		while (!exited && !polling) {
			int st;
			pid_t r = waitpid(-1, &st, WNOHANG);
			if (r == 0)
				break;
			if (r < 0) {
				if (errno == EINTR)
					continue;
				/* Not our child after all (should not happen): poll it. */
				logf_("WARN", "wait failed (%s); polling the init process", strerror(errno));
				polling = 1;
				break;
			}
			if (r != pid)
				continue;
			if (WIFEXITED(st)) {
				code = WEXITSTATUS(st);
			} else if (WIFSIGNALED(st)) {
				sig = WTERMSIG(st);
				code = 128 + sig;
			}
			exited = 1;
		}
		if (exited && !drain_until)
			drain_until = now_ms() + DRAIN_MS;
		if (polling && !exited && kill(pid, 0) < 0 && errno == ESRCH) {
			exited = 1;
			drain_until = now_ms() + DRAIN_MS;
		}
		/* Orphans the container leaves keep being reaped after exit. */
		if (exited)
			while (waitpid(-1, NULL, WNOHANG) > 0) {
			}
		if (exited && (out.fd < 0 && err.fd < 0))
			break;
		int timeout = -1;
		if (exited) {
			long long left = drain_until - now_ms();
			if (left <= 0) {
				logf_("WARN", "container output still open after exit; closing the log");
				break;
			}
			timeout = (int)left;
		} else if (polling) {
			timeout = 100;
		}
		copy_output(sfd, &out, &err, &w, timeout);
	}
	if (w.fd >= 0)
		close(w.fd);
	write_exit(&c, pid, code, sig);
	return 0;
}
