/* test_cron.c: media-spawner --once, media-hooks --once and mediactl gc as a crontab runs them (issue
 * 19): a run that fails exits non-zero with exactly one line on stderr, which cron mails; a clean
 * run writes nothing there (the log, on stdout, goes to the crontab's log file). */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define RUN_TIMEOUT_MS 90000 /* media-hooks --once claims for at most 50 s */
#define OUT_MAX 65536
/* A database nobody listens on: refused at once. */
#define NO_DB "DATABASE_URL=postgresql://127.0.0.1:1/nodb?connect_timeout=2"

struct run {
	int status; /* exit code, or -1: killed, timed out or not run */
	char out[OUT_MAX], err[OUT_MAX];
};

static struct run r; /* large: not on the stack */

/* Reads what fd has into buf (cap OUT_MAX, NUL-terminated) at *len; false at end of file. */
static bool drain(int fd, char *buf, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n <= 0)
		return n < 0 && errno == EINTR;
	if (*len + (size_t)n >= OUT_MAX)
		n = (ssize_t)(OUT_MAX - 1 - *len);
	memcpy(buf + *len, tmp, (size_t)n);
	*len += (size_t)n;
	buf[*len] = '\0';
	return true;
}

/*
 * Runs the built program prog (in abs_top_builddir) with args, the environment plus env ("K=V",
 * NULL-terminated; may be NULL), stdin on /dev/null; stdout and stderr apart into r. Bounded by
 * RUN_TIMEOUT_MS (then killed, status -1).
 */
static void run(const char *prog, const char *const *args, const char *const *env)
{
	const char *top = getenv("abs_top_builddir");
	char path[1024];
	const char *argv[16];
	int po[2], pe[2], n = 0, st = 0;
	size_t lo = 0, le = 0;
	bool open_o = true, open_e = true;
	long long deadline = itest_now_ms() + RUN_TIMEOUT_MS;
	pid_t pid;

	memset(&r, 0, sizeof(r));
	r.status = -1;
	CU_ASSERT_FATAL(top != NULL);
	snprintf(path, sizeof(path), "%s/%s", top, prog);
	argv[n++] = path;
	for (; args != NULL && *args != NULL && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	CU_ASSERT_FATAL(pipe(po) == 0 && pipe(pe) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		for (; env != NULL && *env != NULL; env++)
			putenv((char *)*env);
		dup2(null, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while ((open_o || open_e) && itest_now_ms() < deadline) {
		struct pollfd p[2] = { { open_o ? po[0] : -1, POLLIN, 0 },
			               { open_e ? pe[0] : -1, POLLIN, 0 } };

		if (poll(p, 2, 200) < 0 && errno != EINTR)
			break;
		if (open_o && p[0].revents != 0)
			open_o = drain(po[0], r.out, &lo);
		if (open_e && p[1].revents != 0)
			open_e = drain(pe[0], r.err, &le);
	}
	if (open_o || open_e) {
		fprintf(stderr, "\n  %s still runs after %d ms: killed\n", prog, RUN_TIMEOUT_MS);
		kill(pid, SIGKILL);
	}
	close(po[0]);
	close(pe[0]);
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !(open_o || open_e))
		r.status = WEXITSTATUS(st);
}

/* True when s is exactly one line: text, then a single '\n' at its end. */
static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return s[0] != '\n' && nl != NULL && nl[1] == '\0';
}

/* Asserts the run failed the way cron must see it: a non-zero exit and one line naming prog. */
static void assert_failed_in_one_line(const char *what, const char *prog)
{
	bool ok = r.status > 0 && one_line(r.err) && strncmp(r.err, prog, strlen(prog)) == 0;

	if (!ok)
		fprintf(stderr, "\n  %s: exit %d, stderr:\n%s-- (end of stderr)\n", what, r.status, r.err);
	CU_ASSERT_TRUE(r.status > 0);
	CU_ASSERT_TRUE(one_line(r.err));
	CU_ASSERT_TRUE(strncmp(r.err, prog, strlen(prog)) == 0);
}

static void assert_clean(const char *what)
{
	if (r.status != 0 || r.err[0] != '\0')
		fprintf(stderr, "\n  %s: exit %d, stderr:\n%s-- (end of stderr)\n", what, r.status, r.err);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_STRING_EQUAL(r.err, "");
}

static const char *const spawner_args[] = { "--once", "--concurrency", "1", NULL };
static const char *const hooks_args[] = { "--once", NULL };
static const char *const gc_args[] = { "gc", "--older-than", "6h", NULL };

static void test_a_clean_run_writes_nothing_on_stderr(void)
{
	run("media-spawner", spawner_args, NULL);
	assert_clean("media-spawner --once");
	run("media-hooks", hooks_args, NULL);
	assert_clean("media-hooks --once");
	run("mediactl", gc_args, NULL);
	assert_clean("mediactl gc");
	/* gc's report is its output, for the log file; nothing else is. */
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "gc: "));
}

static void test_an_unreachable_database_is_one_line_and_a_failure(void)
{
	static const char *const env[] = { NO_DB, NULL };
	long long t0 = itest_now_ms();

	run("media-spawner", spawner_args, env);
	assert_failed_in_one_line("media-spawner --once, no database", "media-spawner: ");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "127.0.0.1"));
	/* The run exits: no "next report in a minute", in the line or in the log. */
	CU_ASSERT_PTR_NULL(strstr(r.err, "next report"));
	CU_ASSERT_PTR_NULL(strstr(r.out, "next report"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "the database is down"));
	run("media-hooks", hooks_args, env);
	assert_failed_in_one_line("media-hooks --once, no database", "media-hooks: ");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "127.0.0.1"));
	CU_ASSERT_PTR_NULL(strstr(r.err, "next report"));
	CU_ASSERT_PTR_NULL(strstr(r.out, "next report"));
	run("mediactl", gc_args, env);
	assert_failed_in_one_line("mediactl gc, no database", "mediactl: ");
	/* Each gives up at once: not after a minute of retries. */
	CU_ASSERT_TRUE(itest_now_ms() - t0 < 30000);
}

static void test_a_bad_configuration_is_one_line_and_a_failure(void)
{
	static const char *const env[] = { "MEDIAD_CONFIG=/nonexistent/mediad.conf", NULL };

	run("media-spawner", spawner_args, env);
	assert_failed_in_one_line("media-spawner --once, no config", "media-spawner: ");
	run("media-hooks", hooks_args, env);
	assert_failed_in_one_line("media-hooks --once, no config", "media-hooks: ");
	run("mediactl", gc_args, env);
	assert_failed_in_one_line("mediactl gc, no config", "mediactl: ");
}

/* gc's warning about a bound not above ffprobe_timeout is part of the report (stdout): a run that
 * succeeds writes nothing on stderr, which cron would mail. */
static void test_gc_warns_about_a_short_bound_on_stdout(void)
{
	static const char *const env[] = { "FFPROBE_TIMEOUT=120", NULL };
	static const char *const args[] = { "gc", "--dry-run", "--older-than", "60s", NULL };

	run("mediactl", args, env);
	assert_clean("mediactl gc --older-than 60s, ffprobe_timeout 120");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "warning: --older-than 60s is not above ffprobe_timeout"));
}

/* A media root whose folders cannot be written: said once, before any work. media-spawner --once
 * checks outputs/ only (it writes nothing else); gc leaves the files alone but still cleans the
 * webhook outbox (database only). */
static void test_a_media_root_not_writable_is_one_line_and_a_failure(void)
{
	char root[512], sub[600], env_root[600];
	const char *const env[] = { env_root, NULL };
	const char *t = getenv("MEDIAD_TEST_DIR");
	int i;

	if (geteuid() == 0) {
		fprintf(stderr, "\n  skipped: root may write anywhere\n");
		return;
	}
	CU_ASSERT_FATAL(t != NULL);
	snprintf(root, sizeof(root), "%s/cron-ro-%d", t, (int)getpid());
	snprintf(env_root, sizeof(env_root), "MEDIA_ROOT=%s", root);
	CU_ASSERT_FATAL(mkdir(root, 0750) == 0);
	for (i = 0; i < 2; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", root, i == 0 ? "uploads" : "outputs");
		CU_ASSERT_FATAL(mkdir(sub, 0500) == 0);
	}
	run("media-spawner", spawner_args, env);
	assert_failed_in_one_line("media-spawner --once, media root not writable", "media-spawner: ");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "not writable"));
	run("mediactl", gc_args, env);
	assert_failed_in_one_line("mediactl gc, media root not writable", "mediactl: ");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "not writable"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "gc: webhooks: "));
	/* outputs/ writable, uploads/ not: the spawner has all it needs. */
	snprintf(sub, sizeof(sub), "%s/outputs", root);
	CU_ASSERT_FATAL(chmod(sub, 0750) == 0);
	run("media-spawner", spawner_args, env);
	assert_clean("media-spawner --once, uploads/ not writable");
	for (i = 0; i < 2; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", root, i == 0 ? "uploads" : "outputs");
		rmdir(sub);
	}
	rmdir(root);
}

/* The crontab we ship runs all three under flock -n, and sends only stdout to the log file: stderr
 * (the one line of a failure) is left to cron, which mails it. */
static void test_the_shipped_crontab_mails_stderr_only(void)
{
	const char *src = getenv("abs_top_srcdir");
	static const char *const want[] = { "media-spawner --once", "media-hooks --once", "mediactl gc" };
	bool seen[3] = { false, false, false };
	char path[1024], line[1024];
	FILE *f;
	size_t i;

	CU_ASSERT_FATAL(src != NULL);
	snprintf(path, sizeof(path), "%s/fcgi-conf/crontab", src);
	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n' || strchr(line, '=') == line + strcspn(line, " ="))
			continue;
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "flock -n "));
		CU_ASSERT_PTR_NULL(strstr(line, "2>&1"));
		for (i = 0; i < 3; i++)
			if (strstr(line, want[i]) != NULL)
				seen[i] = true;
	}
	fclose(f);
	for (i = 0; i < 3; i++)
		CU_ASSERT_TRUE(seen[i]);
}

int main(void)
{
	CU_pSuite s;

	signal(SIGPIPE, SIG_IGN);
	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("cron", NULL, NULL);
	CU_add_test(s, "a clean run writes nothing on stderr", test_a_clean_run_writes_nothing_on_stderr);
	CU_add_test(s, "an unreachable database is one line and a failure",
	            test_an_unreachable_database_is_one_line_and_a_failure);
	CU_add_test(s, "a bad configuration is one line and a failure",
	            test_a_bad_configuration_is_one_line_and_a_failure);
	CU_add_test(s, "gc warns about a short bound on stdout", test_gc_warns_about_a_short_bound_on_stdout);
	CU_add_test(s, "a media root not writable is one line and a failure",
	            test_a_media_root_not_writable_is_one_line_and_a_failure);
	CU_add_test(s, "the shipped crontab mails stderr only", test_the_shipped_crontab_mails_stderr_only);
	return itest_run_all();
}
