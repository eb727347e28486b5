/* child.c: fork+exec of one child with pipes, a deadline and death with its parent (see child.h). */
/* Angle brackets: beside this file, "config.h" is core/config.h, not autoconf's (_GNU_SOURCE). */
#include <config.h>

#include "core/child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Pieces of CHILD_PATH argv[0] is tried in. */
#define CHILD_PATH_DIRS 8
/* One read() from a pipe. */
#define CHILD_READ_CHUNK 16384
/* Poll interval of child_next_ms once the pipes are closed and there is no pidfd. */
#define CHILD_NAP_MS 10
/* Highest descriptor closed one by one when close_range is missing and RLIMIT_NOFILE is infinite. */
#define CHILD_FD_SCAN_MAX 65536

/* The child needs nothing of ours: not DATABASE_URL, not JWT_SECRET. */
static char child_env_path[] = "PATH=" CHILD_PATH;
static char child_env_locale[] = "LC_ALL=C";
static char *const child_env[] = { child_env_path, child_env_locale, NULL };

/* Everything the child needs between fork and exec, made before the fork (no malloc after it). */
struct child_spawn {
	const char *const *argv;
	char *paths[CHILD_PATH_DIRS]; /* argv[0] joined to each directory, or argv[0] alone */
	size_t npaths;
	/* in_r: /dev/null, or the child's end of the feed (child_opts.in_feed) */
	int in_r, out_w, err_w, report_w;
	int fd_max; /* one past the highest descriptor to close without close_range */
	pid_t parent;
};

/* Milliseconds on the monotonic clock. */
static int64_t child_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void child_close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

void child_init(struct child *c)
{
	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->out_fd = c->err_fd = c->pid_fd = c->in_fd = c->feed_fd = -1;
	buf_init(&c->out);
}

/*
 * Moves *fd above the standard descriptors (the parent may have closed one, and pipe2 would
 * then hand it out), keeping O_CLOEXEC. Returns 0, or -1 with errno set and *fd unchanged.
 */
static int child_above_stdio(int *fd)
{
	int nfd;

	if (*fd > STDERR_FILENO)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (nfd < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

/*
 * Fills sp->paths with where to look for name: name itself when it has a '/', else name in each
 * directory of CHILD_PATH. paths[0] owns the one allocation. Returns 0 or an errno value.
 */
static int child_paths(struct child_spawn *sp, const char *name)
{
	static const char dirs[] = CHILD_PATH;
	size_t nlen = strlen(name);
	const char *d, *e;
	char *w;

	if (strchr(name, '/') != NULL) {
		sp->paths[0] = strdup(name);
		if (sp->paths[0] == NULL)
			return ENOMEM;
		sp->npaths = 1;
		return 0;
	}
	/* Each candidate is "<dir>/<name>\0"; the dirs together fit in sizeof(dirs). */
	if (nlen > (SIZE_MAX - sizeof(dirs)) / CHILD_PATH_DIRS - 2)
		return ENAMETOOLONG;
	w = malloc(sizeof(dirs) + CHILD_PATH_DIRS * (nlen + 2));
	if (w == NULL)
		return ENOMEM;
	for (d = dirs; sp->npaths < CHILD_PATH_DIRS; d = e + 1) {
		size_t dl;

		e = strchr(d, ':');
		dl = e != NULL ? (size_t)(e - d) : strlen(d);
		sp->paths[sp->npaths++] = w;
		memcpy(w, d, dl);
		w += dl;
		*w++ = '/';
		memcpy(w, name, nlen + 1);
		w += nlen + 1;
		if (e == NULL)
			break;
	}
	return 0;
}

/* Closes every descriptor above stderr but keep, which is CLOEXEC and goes at the exec. */
static void child_close_others(const struct child_spawn *sp)
{
	int fd;

#ifdef SYS_close_range
	/* Marked rather than closed: report_w must survive until the exec, and does not after it. */
	if (syscall(SYS_close_range, (unsigned)STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if ((sp->report_w == STDERR_FILENO + 1 ||
	     syscall(SYS_close_range, (unsigned)STDERR_FILENO + 1, (unsigned)sp->report_w - 1, 0U) == 0) &&
	    syscall(SYS_close_range, (unsigned)sp->report_w + 1, ~0U, 0U) == 0)
		return;
#endif
	for (fd = STDERR_FILENO + 1; fd < sp->fd_max; fd++)
		if (fd != sp->report_w)
			close(fd);
}

/*
 * The child between fork and exec: only async-signal-safe calls. Any failure is written to
 * report_w as an errno value for child_start to return.
 */
__attribute__((noreturn)) static void child_exec(const struct child_spawn *sp)
{
	struct sigaction sa;
	sigset_t none;
	bool denied = false;
	int err, sig;
	size_t i;

	/* Die with the parent; if it is already gone, getppid shows our new parent: go now. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		goto fail;
	if (getppid() != sp->parent)
		_exit(127);
	if (setpgid(0, 0) != 0)
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		/* SIGKILL, SIGSTOP and the C library's own signals refuse; that is fine. */
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	}
	if (dup2(sp->in_r, STDIN_FILENO) < 0 || dup2(sp->out_w, STDOUT_FILENO) < 0 ||
	    dup2(sp->err_w, STDERR_FILENO) < 0)
		goto fail;
	child_close_others(sp);
	/* Last: a signal pending now meets the default disposition. */
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		goto fail;
	/* execve does not modify argv; its prototype predates const. */
	for (i = 0; i < sp->npaths; i++) {
		execve(sp->paths[i], (char *const *)(uintptr_t)sp->argv, child_env);
		/* As execvp: remember EACCES, try the next directory on "not here", stop on the rest. */
		if (errno == EACCES)
			denied = true;
		else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV &&
		         errno != ETIMEDOUT)
			break;
	}
	if (denied)
		errno = EACCES;
fail:
	err = errno != 0 ? errno : EIO;
	while (write(sp->report_w, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* Waits for pid, EINTR-safe. Returns pid, or -1 with errno set. */
static pid_t child_waitpid(pid_t pid, int *status, int flags)
{
	pid_t p;

	do
		p = waitpid(pid, status, flags);
	while (p < 0 && errno == EINTR);
	return p;
}

int child_start(struct child *c, const char *const *argv, const struct child_opts *opts)
{
	struct child_spawn sp;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, report[2] = { -1, -1 }, in[2] = { -1, -1 };
	int rc, e = 0, flags;
	sigset_t all, old;
	struct rlimit rl;
	pid_t pid;
	ssize_t n;

	child_init(c);
	memset(&sp, 0, sizeof(sp));
	if (opts != NULL)
		c->opts = *opts;
	if (c->opts.err_keep == 0 || c->opts.err_keep > CHILD_ERR_MAX)
		c->opts.err_keep = CHILD_ERR_MAX;
	if (c->opts.grace_ms <= 0)
		c->opts.grace_ms = CHILD_KILL_GRACE_MS;
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0' || c->opts.timeout_ms < 0) {
		rc = EINVAL;
		goto out;
	}
	rc = child_paths(&sp, argv[0]);
	if (rc != 0)
		goto out;
	/* in[0] the child's stdin; in[1], with in_feed, ours to feed it through. */
	if (c->opts.in_feed) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
			rc = errno;
			goto out;
		}
	} else {
		in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (in[0] < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
	    pipe2(report, O_CLOEXEC) != 0 || child_above_stdio(&in[0]) != 0 ||
	    child_above_stdio(&out[1]) != 0 || child_above_stdio(&err[1]) != 0 ||
	    child_above_stdio(&report[1]) != 0) {
		rc = errno;
		goto out;
	}
	/* Our end: never blocks the loop; the child's end stays blocking, so it waits for the feed. */
	if (in[1] >= 0) {
		flags = fcntl(in[1], F_GETFL);
		if (flags < 0 || fcntl(in[1], F_SETFL, flags | O_NONBLOCK) != 0 ||
		    shutdown(in[1], SHUT_RD) != 0) {
			rc = errno;
			goto out;
		}
	}
	/* The child's copies of our read ends are closed; the write ends stay blocking. */
	flags = fcntl(out[0], F_GETFL);
	if (flags < 0 || fcntl(out[0], F_SETFL, flags | O_NONBLOCK) != 0) {
		rc = errno;
		goto out;
	}
	flags = fcntl(err[0], F_GETFL);
	if (flags < 0 || fcntl(err[0], F_SETFL, flags | O_NONBLOCK) != 0) {
		rc = errno;
		goto out;
	}
	sp.argv = argv;
	sp.in_r = in[0];
	sp.out_w = out[1];
	sp.err_w = err[1];
	sp.report_w = report[1];
	sp.fd_max = CHILD_FD_SCAN_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
		sp.fd_max = (int)rl.rlim_cur;
	sp.parent = getpid();

	/* No handler of ours may run in the child before its dispositions are reset. */
	sigfillset(&all);
	rc = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (rc != 0)
		goto out;
	pid = fork();
	if (pid == 0)
		child_exec(&sp);
	e = errno;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		rc = e;
		goto out;
	}
	child_close_fd(&out[1]);
	child_close_fd(&err[1]);
	child_close_fd(&report[1]);
	child_close_fd(&in[0]);

	/* EOF: the exec happened (the report end was CLOEXEC); an int: why it did not. */
	do
		n = read(report[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		if (n == (ssize_t)sizeof(e)) {
			rc = e != 0 ? e : EIO;
		} else {
			/* The report itself failed: the child's state is unknown, so it goes. */
			rc = n < 0 ? errno : EIO;
			kill(pid, SIGKILL);
		}
		(void)child_waitpid(pid, &c->status, 0);
		goto out;
	}
	c->pid = pid;
	c->out_fd = out[0];
	out[0] = -1;
	c->err_fd = err[0];
	err[0] = -1;
	c->in_fd = in[1];
	in[1] = -1;
#ifdef SYS_pidfd_open
	/* Optional: without it, child_next_ms asks to be polled now and then. */
	c->pid_fd = (int)syscall(SYS_pidfd_open, pid, 0U);
	if (c->pid_fd < 0)
		c->pid_fd = -1;
#endif
	if (c->opts.timeout_ms > 0)
		c->deadline_ms = child_now_ms() + c->opts.timeout_ms;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		child_close_fd(&in[i]);
		child_close_fd(&out[i]);
		child_close_fd(&err[i]);
		child_close_fd(&report[i]);
	}
	if (sp.npaths > 0)
		free(sp.paths[0]);
	if (rc != 0)
		child_init(c);
	return rc;
}

size_t child_pollfds(const struct child *c, struct pollfd *pfd)
{
	size_t n = 0;

	if (c->out_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = c->out_fd, .events = POLLIN };
	if (c->err_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = c->err_fd, .events = POLLIN };
	if (c->pid_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = c->pid_fd, .events = POLLIN };
	if (c->feed_fd >= 0 && c->in_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = c->in_fd, .events = POLLOUT };
	return n;
}

void child_signal(struct child *c, int sig)
{
	if (c->pid <= 0)
		return;
	/* The group exists from before the exec; the fallback covers a child that left it. */
	if (kill(-c->pid, sig) != 0)
		(void)kill(c->pid, sig);
}

/* Keeps the last err_keep bytes of stderr: the useful error is the last thing a program says. */
static void child_tail_add(struct child *c, const char *p, size_t n)
{
	size_t keep = c->opts.err_keep;

	if (n >= keep) {
		memcpy(c->err, p + (n - keep), keep);
		c->err_len = keep;
		return;
	}
	if (c->err_len + n > keep) {
		size_t drop = c->err_len + n - keep;

		memmove(c->err, c->err + drop, c->err_len - drop);
		c->err_len -= drop;
	}
	memcpy(c->err + c->err_len, p, n);
	c->err_len += n;
}

/* Stops a child whose output cannot be taken any more; the reap follows in child_tick. */
static void child_abort(struct child *c, int *fd)
{
	/* SIGKILL first: once it is pending the child cannot die of SIGPIPE instead when its pipe
	 * closes, so its status says what we did. */
	child_signal(c, SIGKILL);
	child_close_fd(fd);
}

/* Hands stdout bytes to on_out or out; past out_max the child is stopped. */
static void child_take_out(struct child *c, const char *p, size_t n)
{
	size_t room;

	if (c->opts.on_out != NULL) {
		c->opts.on_out(c->opts.on_out_arg, p, n);
		return;
	}
	room = c->opts.out_max > c->out.len ? c->opts.out_max - c->out.len : 0;
	if (n > room) {
		c->out_over_cap = true;
		n = room;
	}
	if (n > 0 && buf_append(&c->out, p, n) != 0 && c->read_errno == 0)
		c->read_errno = ENOMEM;
	if (c->out_over_cap || c->read_errno != 0)
		child_abort(c, &c->out_fd);
}

/* The feed is over (all sent, the child stopped reading, or src failed): the child sees EOF. */
static void child_feed_end(struct child *c)
{
	child_close_fd(&c->feed_fd);
	child_close_fd(&c->in_fd);
}

/* Sends what the child's stdin takes now, at most CHILD_READ_BUDGET; ends the feed at EOF. */
static void child_feed_more(struct child *c)
{
	char chunk[CHILD_READ_CHUNK];
	size_t budget = CHILD_READ_BUDGET;

	while (c->feed_fd >= 0 && c->in_fd >= 0 && budget > 0) {
		ssize_t w, n = pread(c->feed_fd, chunk, budget < sizeof(chunk) ? budget : sizeof(chunk),
		                     (off_t)c->fed);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			child_feed_end(c);
			return;
		}
		/* A short write leaves the rest in the file: it is read again next time. */
		do
			w = send(c->in_fd, chunk, (size_t)n, MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			child_feed_end(c); /* EPIPE: it read what it wanted and went */
			return;
		}
		c->fed += w;
		budget -= (size_t)w;
	}
}

int child_feed(struct child *c, int src)
{
	if (c->pid <= 0 || c->in_fd < 0 || c->feed_fd >= 0) {
		if (src >= 0)
			close(src);
		return EINVAL;
	}
	c->feed_fd = src;
	c->fed = 0;
	child_feed_more(c);
	return 0;
}

void child_arm(struct child *c, int64_t timeout_ms)
{
	c->deadline_ms = timeout_ms > 0 ? child_now_ms() + timeout_ms : 0;
}

void child_read(struct child *c, int fd)
{
	char chunk[CHILD_READ_CHUNK];
	size_t budget = CHILD_READ_BUDGET;
	int *slot;

	if (fd < 0)
		return;
	if (fd == c->in_fd) {
		child_feed_more(c);
		return;
	}
	if (fd == c->pid_fd) {
		(void)child_reap(c, false);
		return;
	}
	if (fd == c->out_fd)
		slot = &c->out_fd;
	else if (fd == c->err_fd)
		slot = &c->err_fd;
	else
		return;
	while (*slot >= 0 && budget > 0) {
		ssize_t n = read(*slot, chunk, budget < sizeof(chunk) ? budget : sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			if (c->read_errno == 0)
				c->read_errno = errno;
			child_abort(c, slot);
			return;
		}
		if (n == 0) {
			child_close_fd(slot);
			return;
		}
		budget -= (size_t)n;
		if (slot == &c->out_fd)
			child_take_out(c, chunk, (size_t)n);
		else
			child_tail_add(c, chunk, (size_t)n);
	}
}

bool child_reap(struct child *c, bool block)
{
	pid_t p;

	if (c->pid <= 0)
		return true;
	p = child_waitpid(c->pid, &c->status, block ? 0 : WNOHANG);
	if (p == 0)
		return false;
	if (p < 0) {
		c->wait_errno = errno;
		c->status = 0;
	}
	c->pid = -1;
	c->kill_at_ms = 0;
	child_close_fd(&c->pid_fd);
	child_feed_end(c);
	/* What it wrote before exiting is in the pipes; a grandchild's later output is not waited for. */
	child_read(c, c->out_fd);
	child_read(c, c->err_fd);
	child_close_fd(&c->out_fd);
	child_close_fd(&c->err_fd);
	return true;
}

bool child_tick(struct child *c)
{
	int64_t now;

	if (c->pid <= 0)
		return true;
	now = child_now_ms();
	if (c->deadline_ms > 0 && !c->timed_out && now >= c->deadline_ms) {
		c->timed_out = true;
		child_signal(c, SIGTERM);
		c->kill_at_ms = now + c->opts.grace_ms;
	}
	if (c->kill_at_ms > 0 && now >= c->kill_at_ms) {
		child_signal(c, SIGKILL);
		c->kill_at_ms = 0;
	}
	return child_reap(c, false);
}

int child_next_ms(const struct child *c)
{
	int64_t at = 0, left;
	int ms = -1;

	if (c->pid <= 0)
		return -1;
	if (c->kill_at_ms > 0)
		at = c->kill_at_ms;
	else if (c->deadline_ms > 0 && !c->timed_out)
		at = c->deadline_ms;
	if (at > 0) {
		left = at - child_now_ms();
		ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
	}
	/* Without a pidfd only a poll now and then notices an exit whose pipes a grandchild holds. */
	if (c->pid_fd < 0) {
		int nap = c->out_fd >= 0 || c->err_fd >= 0 ? CHILD_POLL_MS : CHILD_NAP_MS;

		if (ms < 0 || ms > nap)
			ms = nap;
	}
	return ms;
}

bool child_done(const struct child *c, int *status)
{
	if (c->pid > 0)
		return false;
	if (status != NULL)
		*status = c->status;
	return true;
}

int child_run(struct child *c, const char *const *argv, const struct child_opts *opts)
{
	int rc;

	if (opts == NULL || opts->timeout_ms <= 0) {
		child_init(c);
		return EINVAL;
	}
	rc = child_start(c, argv, opts);
	if (rc != 0)
		return rc;
	while (!child_tick(c)) {
		struct pollfd pfd[CHILD_POLLFDS];
		size_t n = child_pollfds(c, pfd), i;

		if (poll(pfd, (nfds_t)n, child_next_ms(c)) < 0) {
			if (errno == EINTR)
				continue;
			/* Cannot watch it any more: stop it rather than wait blind. */
			c->read_errno = errno;
			child_signal(c, SIGKILL);
			(void)child_reap(c, true);
			break;
		}
		for (i = 0; i < n; i++)
			if (pfd[i].revents != 0)
				child_read(c, pfd[i].fd);
	}
	return 0;
}

void child_close(struct child *c)
{
	child_feed_end(c);
	child_close_fd(&c->out_fd);
	child_close_fd(&c->err_fd);
	if (c->pid > 0) {
		child_signal(c, SIGKILL);
		(void)child_reap(c, true);
	}
	child_close_fd(&c->pid_fd);
	buf_free(&c->out);
	c->deadline_ms = c->kill_at_ms = 0;
}
