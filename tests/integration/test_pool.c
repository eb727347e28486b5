/* test_pool.c: `mediad --listen` as a pre-fork pool, spoken to in FastCGI directly: it answers,
 * restarts a worker that dies, and on SIGTERM finishes the request in flight before exiting. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

extern char **environ;

static char sock_path[108];
static pid_t master = -1;

static int fcgi_connect(void)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Sends one GET request for uri; returns the connection, or -1. */
static int fcgi_send(const char *uri)
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 }; /* role RESPONDER, no keep-conn */
	unsigned char params[1024];
	size_t n = 0;
	char path[256];
	const char *q = strchr(uri, '?');
	int fd = fcgi_connect();

	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "%.*s", (int)(q ? q - uri : (long)strlen(uri)), uri);
	n += itest_fcgi_pair(params + n, "REQUEST_METHOD", "GET");
	n += itest_fcgi_pair(params + n, "REQUEST_URI", uri);
	n += itest_fcgi_pair(params + n, "SCRIPT_NAME", path);
	n += itest_fcgi_pair(params + n, "QUERY_STRING", q ? q + 1 : "");
	n += itest_fcgi_pair(params + n, "REMOTE_ADDR", "127.0.0.1");
	if (itest_fcgi_put(fd, 1, begin, 8) != 0 || itest_fcgi_put(fd, 4, params, n) != 0 ||
	    itest_fcgi_put(fd, 4, NULL, 0) != 0 || itest_fcgi_put(fd, 5, NULL, 0) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads STDOUT records until END_REQUEST into out; returns 0 or -1. Closes fd. */
static int fcgi_read(int fd, char *out, size_t outlen)
{
	unsigned char h[8], body[65536 + 256];
	size_t o = 0;
	int rc = -1;

	for (;;) {
		size_t len, got = 0;

		if (read(fd, h, 8) != 8)
			break;
		len = (size_t)h[4] << 8 | h[5];
		len += h[6];
		while (got < len) {
			ssize_t r = read(fd, body + got, len - got);
			if (r <= 0)
				goto out;
			got += (size_t)r;
		}
		if (h[1] == 6) {
			size_t k = (size_t)h[4] << 8 | h[5];
			if (o + k >= outlen)
				k = outlen - o - 1;
			memcpy(out + o, body, k);
			o += k;
		} else if (h[1] == 3) {
			rc = 0;
			break;
		}
	}
out:
	out[o] = '\0';
	close(fd);
	return rc;
}

/* itest_proc_scan's test for children_of: ud points to the parent's pid. */
static bool is_child_of(const struct itest_proc *p, void *ud)
{
	return p->ppid == *(const pid_t *)ud;
}

/* The pids whose parent is ppid. */
static int children_of(pid_t ppid, pid_t *out, int max)
{
	return itest_proc_scan(is_child_of, &ppid, out, max);
}

/* True when pid's kernel wait channel names a sleep (it is inside the slow request). */
static bool sleeping_in_request(pid_t pid)
{
	char p[64], w[128] = "";
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%ld/wchan", (long)pid);
	f = fopen(p, "r");
	if (f == NULL)
		return false;
	if (fgets(w, sizeof(w), f) == NULL)
		w[0] = '\0';
	fclose(f);
	return strstr(w, "nanosleep") != NULL;
}

static int start_pool(void)
{
	const char *bdir = getenv("abs_top_builddir"), *tdir = getenv("MEDIAD_TEST_DIR");
	char bin[4096];
	const char *argv[] = { bin, "--listen", NULL, "--workers", "2", NULL };
	char listen[128];
	int i;

	if (bdir == NULL || tdir == NULL)
		return -1;
	snprintf(bin, sizeof(bin), "%s/mediad", bdir);
	snprintf(sock_path, sizeof(sock_path), "%s/pool.sock", tdir);
	snprintf(listen, sizeof(listen), "unix:%s", sock_path);
	argv[2] = listen;
	if (posix_spawn(&master, bin, NULL, NULL, (char *const *)(uintptr_t)argv, environ) != 0)
		return -1;
	/* Ready when a request is answered. */
	for (i = 0; i < 100; i++) {
		char out[4096];
		int fd = fcgi_send("/healthz");

		if (fd >= 0 && fcgi_read(fd, out, sizeof(out)) == 0 && strstr(out, "Status: 200") != NULL)
			return 0;
		itest_sleep_ms(100);
	}
	return -1;
}

static void test_pool_answers_healthz(void)
{
	char out[4096];
	int fd = fcgi_send("/healthz");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(fcgi_read(fd, out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 200"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"postgres\":\"ok\""));
}

/* The socket is the web server's and ours, not everyone's: 0660 (listen_group picks the group). */
static void test_socket_is_not_world_writable(void)
{
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(stat(sock_path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0660);
}

static void test_master_restarts_a_killed_worker(void)
{
	pid_t kids[8], again[8];
	int n = children_of(master, kids, 8), i, m = 0;
	bool replaced = false;

	CU_ASSERT_FATAL(n == 2);
	CU_ASSERT_FATAL(kill(kids[0], SIGKILL) == 0);
	for (i = 0; i < 50 && !replaced; i++) {
		itest_sleep_ms(100);
		m = children_of(master, again, 8);
		replaced = m == 2 && again[0] != kids[0] && again[1] != kids[0];
	}
	CU_ASSERT_TRUE(replaced);
	test_pool_answers_healthz();
}

static void test_sighup_replaces_the_workers_and_keeps_serving(void)
{
	pid_t before[8], after[8];
	int n = children_of(master, before, 8), m = 0, i;
	bool replaced = false;

	CU_ASSERT_FATAL(n == 2);
	CU_ASSERT_FATAL(kill(master, SIGHUP) == 0);
	for (i = 0; i < 60 && !replaced; i++) {
		itest_sleep_ms(100);
		m = children_of(master, after, 8);
		replaced = m == 2;
		for (int a = 0; a < m; a++)
			for (int b = 0; b < n; b++)
				if (after[a] == before[b])
					replaced = false;
	}
	CU_ASSERT_TRUE(replaced);
	CU_ASSERT_EQUAL(kill(master, 0), 0);
	test_pool_answers_healthz();
}

static void test_sigterm_finishes_the_request_in_flight(void)
{
	pid_t kids[8];
	char out[4096];
	int fd = fcgi_send("/_test/sleep?ms=1500"), i, n, st = 0;
	bool in_flight = false;

	CU_ASSERT_FATAL(fd >= 0);
	/* Wait until a worker is inside the request (sleeping in it), by polling. */
	for (i = 0; i < 50 && !in_flight; i++) {
		n = children_of(master, kids, 8);
		for (int k = 0; k < n; k++)
			in_flight = in_flight || sleeping_in_request(kids[k]);
		if (!in_flight)
			itest_sleep_ms(20);
	}
	CU_ASSERT_FATAL(in_flight);
	CU_ASSERT_FATAL(kill(master, SIGTERM) == 0);
	CU_ASSERT_EQUAL(fcgi_read(fd, out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 200"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"slept_ms\":1500"));
	/* The master exits once its workers have, with status 0, in bounded time. */
	for (i = 0; i < 100 && waitpid(master, &st, WNOHANG) == 0; i++)
		itest_sleep_ms(50);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (i < 100)
		master = -1;
	/* Nobody accepts any more. */
	fd = fcgi_connect();
	CU_ASSERT_EQUAL(fd, -1);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	CU_pSuite s;
	int rc;

	if (itest_init() != 0)
		return 1;
	if (start_pool() != 0) {
		fprintf(stderr, "test_pool: mediad --listen did not come up\n");
		if (master > 0)
			kill(master, SIGKILL);
		return 1;
	}
	s = CU_add_suite("pool", NULL, NULL);
	CU_add_test(s, "pool answers healthz", test_pool_answers_healthz);
	CU_add_test(s, "the socket is not world-writable (0660)", test_socket_is_not_world_writable);
	CU_add_test(s, "master restarts a killed worker", test_master_restarts_a_killed_worker);
	CU_add_test(s, "SIGHUP replaces the workers and keeps serving",
	            test_sighup_replaces_the_workers_and_keeps_serving);
	CU_add_test(s, "SIGTERM finishes the request in flight", test_sigterm_finishes_the_request_in_flight);
	rc = itest_run_all();
	if (master > 0) {
		kill(master, SIGKILL);
		waitpid(master, NULL, 0);
	}
	return rc;
}
