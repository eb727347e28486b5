/* test_child.c: CUnit tests for the child-process runner, on real programs (sh, env, sleep, fake-ffmpeg). */
#include "config.h"

#include "core/child.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[] = "/tmp/test_child.XXXXXX";
static bool have_tmpdir;

/* tmpdir/name into out. */
static const char *tpath(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s", tmpdir, name);
	return out;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Whether no child of ours is left, not even a zombie. */
static bool no_children(void)
{
	int status;

	errno = 0;
	return waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

/* Entries in /proc/self/fd (the directory's own descriptor included, the same each time). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fputs(text, f) >= 0)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && chmod(path, mode) != 0)
		rc = -1;
	return rc;
}

/* Copies the built fake-ffmpeg (beside tests/unit) to to, so its .mode file is ours alone. */
static int copy_fake_ffmpeg(const char *to)
{
	char self[PATH_MAX], from[PATH_MAX + 32], b[65536];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int in = -1, out = -1, rc = -1;
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	snprintf(from, sizeof(from), "%s/../fake-ffmpeg", self);
	in = open(from, O_RDONLY | O_CLOEXEC);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		goto out;
	for (;;) {
		n = read(in, b, sizeof(b));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (write(out, b, (size_t)n) != n)
			goto out;
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0)
		rc = -1;
	return rc;
}

static int suite_init(void)
{
	char p[PATH_MAX];

	if (mkdtemp(tmpdir) == NULL)
		return -1;
	have_tmpdir = true;
	if (write_file(tpath(p, sizeof(p), "not-exec"), "#!/bin/sh\nexit 0\n", 0644) != 0)
		return -1;
	/* A missing fake-ffmpeg fails its test, not the whole suite. */
	if (copy_fake_ffmpeg(tpath(p, sizeof(p), "ffmpeg")) == 0)
		(void)write_file(tpath(p, sizeof(p), "ffmpeg.mode"), "mode=hang\nignore_term=1\n", 0600);
	return 0;
}

static int suite_cleanup(void)
{
	DIR *d;
	struct dirent *e;
	char p[PATH_MAX];

	if (!have_tmpdir)
		return 0;
	d = opendir(tmpdir);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlink(tpath(p, sizeof(p), e->d_name));
		}
		closedir(d);
	}
	return rmdir(tmpdir) == 0 ? 0 : -1;
}

/* Buffer-mode options: a deadline of timeout_ms and out_max of stdout. */
static struct child_opts buffered(int64_t timeout_ms, size_t out_max)
{
	struct child_opts o;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = timeout_ms;
	o.out_max = out_max;
	return o;
}

/* The output of "seq 1 n" into b. */
static void seq_text(struct buf *b, int n)
{
	for (int i = 1; i <= n; i++)
		buf_printf(b, "%d\n", i);
}

static void test_exit_status_and_stdout_are_captured(void)
{
	const char *const argv[] = { "sh", "-c", "printf 'hello world'; exit 7", NULL };
	struct child_opts o = buffered(10000, 1024);
	struct child c;
	int st = -1;

	CU_ASSERT_EQUAL_FATAL(child_run(&c, argv, &o), 0);
	CU_ASSERT(child_done(&c, &st));
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	CU_ASSERT_EQUAL(c.out.len, 11);
	CU_ASSERT_STRING_EQUAL(c.out.data, "hello world");
	CU_ASSERT_FALSE(c.timed_out);
	CU_ASSERT_FALSE(c.out_over_cap);
	CU_ASSERT_EQUAL(c.pid, -1);
	CU_ASSERT_EQUAL(c.out_fd, -1);
	CU_ASSERT_EQUAL(c.err_fd, -1);
	child_close(&c);
	CU_ASSERT(no_children());
}

static void test_stdout_past_the_cap_kills_and_keeps_the_first_bytes(void)
{
	const char *const yes[] = { "yes", NULL };
	const char *const five[] = { "printf", "12345", NULL };
	struct child_opts o = buffered(10000, 1000);
	struct child c;
	size_t i;
	bool all_y = true;

	/* yes never stops by itself: only the cap ends it, before the deadline. */
	CU_ASSERT_EQUAL_FATAL(child_run(&c, yes, &o), 0);
	CU_ASSERT(c.out_over_cap);
	CU_ASSERT_FALSE(c.timed_out);
	CU_ASSERT_EQUAL(c.out.len, 1000);
	for (i = 0; i < c.out.len; i++)
		all_y = all_y && c.out.data[i] == (i % 2 == 0 ? 'y' : '\n');
	CU_ASSERT(all_y);
	CU_ASSERT(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGKILL);
	child_close(&c);

	/* Exactly the cap is not past it. */
	o = buffered(10000, 5);
	CU_ASSERT_EQUAL_FATAL(child_run(&c, five, &o), 0);
	CU_ASSERT_FALSE(c.out_over_cap);
	CU_ASSERT_STRING_EQUAL(c.out.data, "12345");
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	child_close(&c);
	CU_ASSERT(no_children());
}

static void test_stderr_tail_keeps_the_last_bytes(void)
{
	const char *const argv[] = { "sh", "-c", "seq 1 20000 >&2", NULL };
	struct child_opts o = buffered(10000, 0);
	struct buf want = BUF_INIT;
	struct child c;

	o.err_keep = 100;
	seq_text(&want, 20000);
	CU_ASSERT_FATAL(!want.failed && want.len > 100);
	CU_ASSERT_EQUAL_FATAL(child_run(&c, argv, &o), 0);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CU_ASSERT_EQUAL(c.err_len, 100);
	CU_ASSERT(c.err_len == 100 && memcmp(c.err, want.data + want.len - 100, 100) == 0);
	/* Stdout was not kept: out_max 0. */
	CU_ASSERT_EQUAL(c.out.len, 0);
	child_close(&c);
	buf_free(&want);
}

static void collect(void *arg, const char *data, size_t len)
{
	buf_append(arg, data, len);
}

static void test_chunk_mode_hands_over_all_stdout(void)
{
	const char *const argv[] = { "seq", "1", "100000", NULL };
	struct child_opts o = buffered(10000, 0);
	struct buf got = BUF_INIT, want = BUF_INIT;
	struct child c;

	o.on_out = collect;
	o.on_out_arg = &got;
	seq_text(&want, 100000);
	CU_ASSERT_EQUAL_FATAL(child_run(&c, argv, &o), 0);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CU_ASSERT_FALSE(got.failed);
	CU_ASSERT_EQUAL(got.len, want.len);
	CU_ASSERT(got.len == want.len && memcmp(got.data, want.data, want.len) == 0);
	CU_ASSERT_EQUAL(c.out.len, 0);
	child_close(&c);
	buf_free(&got);
	buf_free(&want);
}

static void test_environment_is_only_path_and_locale(void)
{
	const char *const argv[] = { "env", NULL };
	struct child_opts o = buffered(10000, 4096);
	struct child c;

	CU_ASSERT_EQUAL_FATAL(setenv("MEDIAD_TEST_SECRET", "hunter2", 1), 0);
	CU_ASSERT_EQUAL_FATAL(child_run(&c, argv, &o), 0);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CU_ASSERT_STRING_EQUAL(c.out.data, "PATH=/usr/local/bin:/usr/bin:/bin\nLC_ALL=C\n");
	child_close(&c);
	unsetenv("MEDIAD_TEST_SECRET");
}

static void test_no_descriptor_of_ours_is_inherited(void)
{
	const char *const ls[] = { "ls", "/proc/self/fd", NULL };
	const char *const in[] = { "readlink", "/proc/self/fd/0", NULL };
	struct child_opts o = buffered(10000, 4096);
	struct child c;
	int leak = open("/dev/null", O_RDONLY), high = -1, p[2] = { -1, -1 };
	char *line, *nl;
	int n = 0;

	/* Descriptors without O_CLOEXEC, as a library might leave them. */
	CU_ASSERT_FATAL(leak >= 0);
	high = dup2(leak, 57);
	CU_ASSERT_FATAL(high == 57);
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_EQUAL_FATAL(child_run(&c, ls, &o), 0);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	/* 0, 1, 2 and the descriptor ls reads the directory with (3). */
	for (line = c.out.data; *line != '\0'; line = nl + 1) {
		char *end;
		long fd;

		nl = strchr(line, '\n');
		CU_ASSERT_FATAL(nl != NULL);
		fd = strtol(line, &end, 10);
		CU_ASSERT(end == nl && fd >= 0 && fd <= 3);
		if (end != nl || fd > 3)
			fprintf(stderr, "\ninherited: fd %.*s\n", (int)(nl - line), line);
		n++;
	}
	CU_ASSERT_EQUAL(n, 4);
	child_close(&c);
	CU_ASSERT_EQUAL_FATAL(child_run(&c, in, &o), 0);
	CU_ASSERT_STRING_EQUAL(c.out.data, "/dev/null\n");
	child_close(&c);
	close(leak);
	close(high);
	close(p[0]);
	close(p[1]);
}

static void test_own_group_default_signals_empty_mask(void)
{
	const char *const stat[] = { "cat", "/proc/self/stat", NULL };
	const char *const sigs[] = { "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL };
	struct child_opts o = buffered(10000, 4096);
	sigset_t usr1, old;
	struct sigaction ign, oldsa;
	struct child c;
	long pid = 0, pgrp = 0;
	unsigned long long blk = 1, ignored = 1;
	const char *rp;

	CU_ASSERT_EQUAL_FATAL(child_run(&c, stat, &o), 0);
	/* "pid (comm) state ppid pgrp ...": the child leads its own group, not ours. */
	rp = strrchr(c.out.data, ')');
	CU_ASSERT_FATAL(rp != NULL);
	CU_ASSERT_EQUAL(sscanf(c.out.data, "%ld", &pid), 1);
	CU_ASSERT_EQUAL(sscanf(rp + 1, " %*c %*d %ld", &pgrp), 1);
	CU_ASSERT(pid > 1);
	CU_ASSERT_EQUAL(pgrp, pid);
	CU_ASSERT_NOT_EQUAL(pgrp, (long)getpgrp());
	child_close(&c);

	/* A blocked and an ignored signal of ours do not reach the child. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	CU_ASSERT_EQUAL_FATAL(sigprocmask(SIG_BLOCK, &usr1, &old), 0);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGUSR2, &ign, &oldsa), 0);
	CU_ASSERT_EQUAL(child_run(&c, sigs, &o), 0);
	/* Signals 32 and 33 are the C library's own: its sigaction refuses them, so an ignore inherited
	 * from far up (make ignores them) survives exec. Every signal a program can set is checked. */
	CU_ASSERT_EQUAL(sscanf(c.out.data, "SigBlk:\t%llx\nSigIgn:\t%llx", &blk, &ignored), 2);
	CU_ASSERT_EQUAL(blk, 0);
	CU_ASSERT_EQUAL(ignored & ~(3ULL << 31), 0);
	child_close(&c);
	sigaction(SIGUSR2, &oldsa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void test_start_failures_are_reported_synchronously(void)
{
	const char *const missing[] = { "/nonexistent/prog", NULL };
	const char *const unknown[] = { "mediad-no-such-program", NULL };
	const char *const empty[] = { NULL };
	struct child_opts o = buffered(1000, 0), none = buffered(0, 0);
	char p[PATH_MAX];
	const char *const noexec[] = { tpath(p, sizeof(p), "not-exec"), NULL };
	const char *const dir[] = { "/tmp", NULL };
	const char *const sh[] = { "true", NULL };
	int before = count_fds();
	struct child c;

	CU_ASSERT_EQUAL(child_start(&c, missing, &o), ENOENT);
	CU_ASSERT_EQUAL(c.pid, -1);
	CU_ASSERT_EQUAL(c.out_fd, -1);
	CU_ASSERT_EQUAL(c.err_fd, -1);
	CU_ASSERT(no_children());
	CU_ASSERT_EQUAL(child_start(&c, unknown, &o), ENOENT);
	CU_ASSERT_EQUAL(child_start(&c, noexec, &o), EACCES);
	CU_ASSERT_EQUAL(child_start(&c, dir, &o), EACCES);
	CU_ASSERT_EQUAL(child_run(&c, missing, &o), ENOENT);
	CU_ASSERT_EQUAL(child_start(&c, empty, &o), EINVAL);
	/* child_run is always bounded. */
	CU_ASSERT_EQUAL(child_run(&c, sh, &none), EINVAL);
	CU_ASSERT(no_children());
	CU_ASSERT_EQUAL(count_fds(), before);
	child_close(&c);
}

/* Drives c with its own poll loop for at most limit_s seconds; true once it is reaped. */
static bool drive(struct child *c, double limit_s)
{
	double t0 = now_s();

	while (!child_tick(c) && now_s() - t0 < limit_s) {
		struct pollfd pfd[CHILD_POLLFDS];
		size_t n = child_pollfds(c, pfd), i;
		int wait = child_next_ms(c);

		if (wait < 0 || wait > 100)
			wait = 100;
		if (poll(pfd, (nfds_t)n, wait) < 0 && errno != EINTR)
			return false;
		for (i = 0; i < n; i++)
			if (pfd[i].revents != 0)
				child_read(c, pfd[i].fd);
	}
	return child_done(c, NULL);
}

static void test_deadline_terminates_and_reaps(void)
{
	const char *const argv[] = { "sleep", "100", NULL };
	struct child_opts o = buffered(300, 0);
	struct child c;
	double t0 = now_s(), took;

	o.grace_ms = 5000;
	CU_ASSERT_EQUAL_FATAL(child_start(&c, argv, &o), 0);
	CU_ASSERT(drive(&c, 10.0));
	took = now_s() - t0;
	CU_ASSERT(c.timed_out);
	/* Not before the deadline; SIGTERM was enough (the status says so: no SIGKILL after the grace). */
	CU_ASSERT(took >= 0.29);
	CU_ASSERT(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGTERM);
	CU_ASSERT_EQUAL(c.pid, -1);
	child_close(&c);
	CU_ASSERT(no_children());
}

static void test_sigterm_ignored_gets_sigkill_after_the_grace(void)
{
	char ff[PATH_MAX], outp[PATH_MAX];
	const char *const argv[] = { tpath(ff, sizeof(ff), "ffmpeg"), "-i", "in.mp4",
		                     tpath(outp, sizeof(outp), "out.mp4"), NULL };
	struct child_opts o = buffered(1500, 65536);
	struct child c;
	double t0 = now_s(), took;

	o.grace_ms = 500;
	CU_ASSERT_EQUAL_FATAL(access(ff, X_OK), 0);
	CU_ASSERT_EQUAL_FATAL(child_start(&c, argv, &o), 0);
	/* Bounded here rather than by child_run, so a missing SIGKILL fails instead of hanging. */
	CU_ASSERT(drive(&c, 6.0));
	took = now_s() - t0;
	/* It started and printed its block (so its SIGTERM handler was in place), then hung. */
	CU_ASSERT_PTR_NOT_NULL(strstr(c.out.data, "progress=continue"));
	CU_ASSERT(c.timed_out);
	CU_ASSERT(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGKILL);
	CU_ASSERT(took >= 1.95); /* the deadline, then the whole grace */
	child_close(&c);
	CU_ASSERT(no_children());
}

static void test_child_dies_with_its_parent(void)
{
	int pfd[2] = { -1, -1 }, st = 0, i;
	pid_t mid, g = 0;
	bool gone = false;

	/* Orphans come to us, so the grandchild can be reaped and its end seen exactly. */
	CU_ASSERT_EQUAL_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L), 0);
	CU_ASSERT_EQUAL_FATAL(pipe2(pfd, O_CLOEXEC), 0);
	mid = fork();
	CU_ASSERT_FATAL(mid >= 0);
	if (mid == 0) {
		const char *const argv[] = { "sleep", "100", NULL };
		struct child c;
		pid_t p;

		close(pfd[0]);
		if (child_start(&c, argv, NULL) != 0)
			_exit(1);
		p = c.pid;
		if (write(pfd[1], &p, sizeof(p)) != (ssize_t)sizeof(p))
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	CU_ASSERT_EQUAL(read(pfd[0], &g, sizeof(g)), (ssize_t)sizeof(g));
	close(pfd[0]);
	kill(mid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(mid, &st, 0), mid);
	CU_ASSERT_FATAL(g > 1);
	for (i = 0; i < 500 && !gone; i++) {
		if (waitpid(g, &st, WNOHANG) == g)
			gone = true;
		else
			nap_ms(10);
	}
	CU_ASSERT(gone);
	if (gone) {
		CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	} else {
		kill(g, SIGKILL);
		waitpid(g, &st, 0);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0L, 0L, 0L, 0L);
	CU_ASSERT(no_children());
}

static void test_one_poll_loop_drives_many_children(void)
{
	const char *const echo[] = { "sh", "-c", "echo one; echo two >&2", NULL };
	const char *const quick[] = { "sleep", "0.2", NULL };
	const char *const slow[] = { "sleep", "100", NULL };
	const char *const *argvs[] = { echo, quick, slow };
	struct child_opts o = buffered(400, 1024);
	struct child c[3];
	double t0 = now_s();
	size_t k;
	int done = 0;

	for (k = 0; k < N_ELEMS(c); k++)
		CU_ASSERT_EQUAL_FATAL(child_start(&c[k], argvs[k], &o), 0);
	while (done < 3 && now_s() - t0 < 10.0) {
		struct pollfd pfd[3 * CHILD_POLLFDS];
		struct child *owner[3 * CHILD_POLLFDS];
		size_t n = 0, i;
		int wait = 1000;

		for (k = 0; k < N_ELEMS(c); k++) {
			size_t m = child_pollfds(&c[k], pfd + n);
			int next = child_next_ms(&c[k]);

			for (i = 0; i < m; i++)
				owner[n + i] = &c[k];
			n += m;
			if (next >= 0 && next < wait)
				wait = next;
		}
		if (poll(pfd, (nfds_t)n, wait) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			if (pfd[i].revents != 0)
				child_read(owner[i], pfd[i].fd);
		for (done = 0, k = 0; k < N_ELEMS(c); k++)
			done += child_tick(&c[k]);
	}
	CU_ASSERT_EQUAL(done, 3);
	CU_ASSERT_STRING_EQUAL(c[0].out.data, "one\n");
	CU_ASSERT(c[0].err_len == 4 && memcmp(c[0].err, "two\n", 4) == 0);
	CU_ASSERT(WIFEXITED(c[0].status) && WEXITSTATUS(c[0].status) == 0);
	CU_ASSERT(WIFEXITED(c[1].status) && WEXITSTATUS(c[1].status) == 0);
	CU_ASSERT_FALSE(c[1].timed_out);
	CU_ASSERT(c[2].timed_out);
	CU_ASSERT(WIFSIGNALED(c[2].status) && WTERMSIG(c[2].status) == SIGTERM);
	for (k = 0; k < N_ELEMS(c); k++)
		child_close(&c[k]);
	CU_ASSERT(no_children());
}

static void test_close_kills_a_running_child_and_leaks_nothing(void)
{
	const char *const slow[] = { "sleep", "100", NULL };
	const char *const quick[] = { "echo", "hi", NULL };
	struct child_opts o = buffered(0, 1024);
	struct child c;
	int before = count_fds(), i, st = 0;

	CU_ASSERT_FATAL(before > 0);
	for (i = 0; i < 10; i++) {
		CU_ASSERT_EQUAL_FATAL(child_start(&c, i % 2 ? slow : quick, &o), 0);
		CU_ASSERT(c.pid > 0);
		CU_ASSERT_FALSE(child_done(&c, NULL));
		if (i % 2)
			CU_ASSERT_EQUAL(kill(c.pid, 0), 0);
		child_close(&c);
		CU_ASSERT(child_done(&c, &st));
		if (i % 2)
			CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		child_close(&c); /* idempotent */
	}
	CU_ASSERT_EQUAL(count_fds(), before);
	CU_ASSERT(no_children());
}

/* A file of n bytes, each its offset mod 251 (no run of it repeats a power-of-two period). */
static int pattern_file(const char *path, size_t n)
{
	FILE *f = fopen(path, "w");
	int rc = 0;

	if (f == NULL)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (fputc((int)(i % 251), f) == EOF)
			rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static void test_feed_sends_the_whole_file_then_eof(void)
{
	const char *const cat[] = { "cat", NULL };
	const size_t size = 3 * 1024 * 1024; /* far past what the socket holds at once */
	struct child_opts o = buffered(0, 4 * 1024 * 1024);
	struct child c;
	char p[PATH_MAX];
	bool same = true;
	int before = count_fds(), fd;

	CU_ASSERT_EQUAL_FATAL(pattern_file(tpath(p, sizeof(p), "feed.bin"), size), 0);
	o.in_feed = true;
	CU_ASSERT_EQUAL_FATAL(child_start(&c, cat, &o), 0);
	CU_ASSERT(c.in_fd >= 0);
	/* Started early, it waits on its stdin: nothing to poll there until the feed begins. */
	nap_ms(100);
	CU_ASSERT_FALSE(child_tick(&c));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(child_feed(&c, fd), 0);
	CU_ASSERT_EQUAL(child_feed(&c, -1), EINVAL); /* one feed a child */
	CU_ASSERT(drive(&c, 20.0));
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CU_ASSERT_EQUAL_FATAL(c.out.len, size);
	for (size_t i = 0; i < size && same; i++)
		same = (unsigned char)c.out.data[i] == i % 251;
	CU_ASSERT(same);
	CU_ASSERT_EQUAL(c.in_fd, -1);
	child_close(&c);
	CU_ASSERT_EQUAL(count_fds(), before);
	CU_ASSERT(no_children());
	unlink(p);
}

static void test_feed_to_a_child_that_stops_reading_just_ends(void)
{
	const char *const head[] = { "head", "-c", "10", NULL };
	struct child_opts o = buffered(10000, 1024);
	struct child c;
	char p[PATH_MAX];
	int before = count_fds(), fd;

	CU_ASSERT_EQUAL_FATAL(pattern_file(tpath(p, sizeof(p), "feed-big.bin"), 4 * 1024 * 1024), 0);
	o.in_feed = true;
	CU_ASSERT_EQUAL_FATAL(child_start(&c, head, &o), 0);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(child_feed(&c, fd), 0);
	/* Its stdin closes with most of the file unsent: EPIPE ends the feed, no SIGPIPE kills us. */
	CU_ASSERT(drive(&c, 10.0));
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CU_ASSERT_EQUAL(c.out.len, 10);
	CU_ASSERT(c.fed < 4 * 1024 * 1024);
	child_close(&c);
	CU_ASSERT_EQUAL(count_fds(), before);
	CU_ASSERT(no_children());
	unlink(p);
}

static void test_feed_needs_in_feed_and_closes_its_source(void)
{
	const char *const slow[] = { "sleep", "100", NULL };
	const char *const in[] = { "readlink", "/proc/self/fd/0", NULL };
	struct child_opts o = buffered(10000, 1024);
	struct child c;
	int before = count_fds(), fd;

	CU_ASSERT_EQUAL_FATAL(child_start(&c, slow, &o), 0);
	CU_ASSERT_EQUAL(c.in_fd, -1);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(child_feed(&c, fd), EINVAL);
	child_close(&c);
	CU_ASSERT_EQUAL(count_fds(), before);
	/* With in_feed, stdin is a socket and the child has no other descriptor of ours. */
	o.in_feed = true;
	CU_ASSERT_EQUAL_FATAL(child_run(&c, in, &o), 0);
	CU_ASSERT(strncmp(c.out.data, "socket:", 7) == 0);
	child_close(&c);
	CU_ASSERT_EQUAL(count_fds(), before);
	CU_ASSERT(no_children());
}

static void test_arm_bounds_a_child_from_now(void)
{
	const char *const argv[] = { "sleep", "100", NULL };
	struct child_opts o = buffered(0, 0);
	struct child c;
	double t0;

	o.in_feed = true;
	CU_ASSERT_EQUAL_FATAL(child_start(&c, argv, &o), 0);
	CU_ASSERT(child_next_ms(&c) == -1 || c.pid_fd < 0); /* no deadline yet */
	nap_ms(300);
	CU_ASSERT_FALSE(child_tick(&c));
	t0 = now_s();
	child_arm(&c, 200);
	CU_ASSERT(child_next_ms(&c) >= 0 && child_next_ms(&c) <= 200);
	CU_ASSERT(drive(&c, 10.0));
	CU_ASSERT(c.timed_out);
	CU_ASSERT(now_s() - t0 >= 0.19);
	CU_ASSERT(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGTERM);
	child_close(&c);
	CU_ASSERT(no_children());
}

static const struct unit_test tests[] = {
	{ "exit status and stdout are captured", test_exit_status_and_stdout_are_captured },
	{ "stdout past the cap kills, keeps first bytes",
	  test_stdout_past_the_cap_kills_and_keeps_the_first_bytes },
	{ "stderr tail keeps the last bytes", test_stderr_tail_keeps_the_last_bytes },
	{ "chunk mode hands over all stdout", test_chunk_mode_hands_over_all_stdout },
	{ "environment is only PATH and LC_ALL", test_environment_is_only_path_and_locale },
	{ "no descriptor of ours is inherited", test_no_descriptor_of_ours_is_inherited },
	{ "own group, default signals, empty mask", test_own_group_default_signals_empty_mask },
	{ "start failures reported synchronously", test_start_failures_are_reported_synchronously },
	{ "deadline terminates and reaps", test_deadline_terminates_and_reaps },
	{ "ignored SIGTERM gets SIGKILL after the grace", test_sigterm_ignored_gets_sigkill_after_the_grace },
	{ "child dies with its parent", test_child_dies_with_its_parent },
	{ "one poll loop drives many children", test_one_poll_loop_drives_many_children },
	{ "close kills a running child, leaks nothing", test_close_kills_a_running_child_and_leaks_nothing },
	{ "feed sends the whole file, then EOF", test_feed_sends_the_whole_file_then_eof },
	{ "feed to a child that stops reading just ends", test_feed_to_a_child_that_stops_reading_just_ends },
	{ "feed needs in_feed and closes its source", test_feed_needs_in_feed_and_closes_its_source },
	{ "arm bounds a child from now", test_arm_bounds_a_child_from_now },
};

UNIT_SUITES(UNIT_SUITE("child", suite_init, suite_cleanup, tests));
