/* test_render.c: render jobs end to end: the job API, media-spawner with the real ffmpeg and a fake one. */
#include "config.h"

/*
 * The stack (PostgreSQL, Redis, lighttpd + mediad) comes from the harness; this program starts
 * media-spawner itself, as a daemon or with --once, and stops every spawner it started in the
 * per-test teardown. Real renders use the ffmpeg of the generated config; the others use a copy of
 * tests/fake-ffmpeg in this run's own folder (FFMPEG_PATH), steered through "<copy>.mode": the
 * spawner gives ffmpeg a minimal environment, so the fake reads nothing from ours. The fake appends
 * start/end lines to a log that the tests read to see which runs happened, when, and under which
 * spawner. libpq (DATABASE_URL) is used for bulk assertions and for cleaning up between tests.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

extern char **environ;

#define MAX_SPAWNERS 4
#define MAX_RUNS 512
#define UUID_LEN 36
#define DIR_SZ 512   /* a folder we build paths under */
#define PATH_SZ 1024 /* a path under one of them */

static char fixtures[256]; /* inputs made by ffmpeg at test time */
static char work[DIR_SZ];  /* this run's folder inside MEDIAD_TEST_DIR */
static char fake[PATH_SZ]; /* the fake ffmpeg copy the spawner runs */
static char fake_log[PATH_SZ];
static char fake_record[PATH_SZ];
static char spawner_bin[PATH_SZ];
static char media_root[DIR_SZ];
static char outputs[DIR_SZ + 16];
static char tok_a[4096], tok_b[4096];
static char email_a[128], email_b[128];
static PGconn *db;
static int test_no;

static struct spawner {
	pid_t pid;
	char log[PATH_SZ];
} spawners[MAX_SPAWNERS];
static int nspawners;
static unsigned failures_at_setup;

/* A finished render from the PNG test, reused by the stream link test. */
static char png_job[UUID_LEN + 1];

/* ---- small helpers --------------------------------------------------------------------------- */

/* Finds the first job UUID in s and copies it into out; false when there is none. */
static bool find_uuid(const char *s, char out[UUID_LEN + 1])
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t n = strlen(s);

	for (size_t i = 0; i + UUID_LEN <= n; i++) {
		size_t k;

		for (k = 0; k < UUID_LEN; k++) {
			char c = s[i + k];
			if (shape[k] == '-' ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				break;
		}
		if (k == UUID_LEN) {
			memcpy(out, s + i, UUID_LEN);
			out[UUID_LEN] = '\0';
			return true;
		}
	}
	return false;
}

/* A reason fit for a client: no absolute path (a '/' that starts a word and has another '/'). */
static bool has_abs_path(const char *s)
{
	return itest_matches(s, "(^|[^A-Za-z0-9._~-])/[A-Za-z0-9._~-]+/");
}

/* ---- child processes ------------------------------------------------------------------------- */

/*
 * Our environment with over ("KEY=value" strings, NULL-terminated) replacing or adding entries.
 * The array is malloc'd; its strings are borrowed.
 */
static char **env_with(const char *const *over)
{
	size_t n = 0, k = 0, nover = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	while (over != NULL && over[nover] != NULL)
		nover++;
	env = calloc(n + nover + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		bool replaced = false;

		for (size_t j = 0; j < nover && !replaced; j++)
			replaced = strncmp(over[j], environ[i], klen) == 0 && over[j][klen] == '=';
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < nover; j++)
		env[k++] = (char *)(uintptr_t)over[j];
	return env;
}

/*
 * Starts media-spawner with args (after argv[0]) and env overrides; stdin is /dev/null, stdout and
 * stderr go to a log of its own, and no descriptor of ours leaks into it. Registers it for the
 * teardown. Returns its index, or -1.
 */
static int spawner_start(const char *const *args, const char *const *over)
{
	const char *argv[16];
	posix_spawn_file_actions_t fa;
	struct spawner *s;
	char **env;
	int n = 0, rc;

	if (nspawners == MAX_SPAWNERS)
		return -1;
	s = &spawners[nspawners];
	snprintf(s->log, sizeof(s->log), "%s/spawner-%d-%d.log", work, test_no, nspawners);
	argv[n++] = spawner_bin;
	for (; args != NULL && *args != NULL && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	env = env_with(over);
	if (env == NULL)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	rc = posix_spawn(&s->pid, spawner_bin, &fa, NULL, (char *const *)(uintptr_t)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc != 0) {
		fprintf(stderr, "test_render: cannot start %s: %s\n", spawner_bin, strerror(rc));
		return -1;
	}
	return nspawners++;
}

/* Waits up to timeout_ms for spawner i to exit; returns its wait status, or -1 if it still runs. */
static int spawner_wait(int i, int timeout_ms)
{
	long long until = itest_now_ms() + timeout_ms;
	int st;

	if (spawners[i].pid <= 0)
		return -1;
	for (;;) {
		pid_t r = waitpid(spawners[i].pid, &st, WNOHANG);

		if (r == spawners[i].pid) {
			spawners[i].pid = 0;
			return st;
		}
		if (r < 0 || itest_now_ms() > until)
			return -1;
		itest_sleep_ms(20);
	}
}

/* SIGTERM, then a bounded wait (the spawner's grace period), then SIGKILL. Returns the status. */
static int spawner_stop(int i)
{
	int st;

	if (spawners[i].pid <= 0)
		return 0;
	kill(spawners[i].pid, SIGTERM);
	st = spawner_wait(i, 30000);
	if (st == -1) {
		fprintf(stderr, "test_render: spawner %d ignored SIGTERM for 30 s; SIGKILL\n",
		        (int)spawners[i].pid);
		kill(spawners[i].pid, SIGKILL);
		st = spawner_wait(i, 5000);
		return st == -1 ? -1 : -2;
	}
	return st;
}

/* Runs media-spawner --once to the end (bounded); returns its wait status, or -1. */
static int spawner_once(const char *const *over, const char *concurrency)
{
	const char *args[] = { "--once", "--concurrency", concurrency, NULL };
	int i = spawner_start(args, over), st;

	if (i < 0)
		return -1;
	st = spawner_wait(i, 90000);
	if (st == -1) {
		fprintf(stderr, "test_render: media-spawner --once still runs after 90 s\n");
		spawner_stop(i);
	}
	return st;
}

/* itest_proc_scan's test for fake_procs: our fake running, or a zombie of it under one of our spawners. */
static bool is_our_fake(const struct itest_proc *p, void *ud)
{
	char path[64], exe[PATH_MAX];
	ssize_t len;
	bool ours = false;

	(void)ud;
	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)p->pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		return strcmp(exe, fake) == 0;
	}
	/* A zombie has no exe: match its name and parent instead. */
	if (strcmp(p->comm, "fake-ffmpeg") == 0 && p->state == 'Z')
		for (int i = 0; i < nspawners; i++)
			ours = ours || (spawners[i].pid > 0 && spawners[i].pid == p->ppid);
	return ours;
}

/* Pids of live processes running our fake ffmpeg, and zombies of it left to one of our spawners. */
static int fake_procs(pid_t *pids, int max)
{
	return itest_proc_scan(is_our_fake, NULL, pids, max);
}

/* ---- the fake's control file and log ---------------------------------------------------------- */

/* Writes the fake's control file (atomically: a reader never sees half of it). */
__attribute__((format(printf, 1, 2))) static void fake_mode(const char *fmt, ...)
{
	char tmp[PATH_SZ + 16], path[PATH_SZ + 16];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s.mode", fake);
	snprintf(tmp, sizeof(tmp), "%s.mode.tmp", fake);
	f = fopen(tmp, "we");
	CU_ASSERT_FATAL(f != NULL);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_FATAL(rename(tmp, path) == 0);
}

struct run {
	char uuid[UUID_LEN + 1];
	long long start_ns, end_ns; /* end_ns 0: no end line (killed) */
	int pid, ppid;
	char how[16];
	bool term; /* a SIGTERM was noted */
};

/* Reads the fake's log into runs (by pid). Returns how many, or -1. */
static int read_runs(struct run *runs, int max)
{
	FILE *f = fopen(fake_log, "re");
	char line[PATH_MAX + 256];
	int n = 0;

	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char what[16], out[PATH_MAX], extra[32] = "";
		long long ns;
		int pid, k;

		if (sscanf(line, "%15s %4095s %lld %d %31s", what, out, &ns, &pid, extra) < 4)
			continue;
		if (strcmp(what, "start") == 0) {
			if (n == max)
				continue;
			memset(&runs[n], 0, sizeof(runs[n]));
			if (!find_uuid(out, runs[n].uuid))
				snprintf(runs[n].uuid, sizeof(runs[n].uuid), "?");
			runs[n].start_ns = ns;
			runs[n].pid = pid;
			runs[n].ppid = (int)strtol(extra, NULL, 10);
			n++;
			continue;
		}
		for (k = n - 1; k >= 0 && runs[k].pid != pid; k--)
			;
		if (k < 0)
			continue;
		if (strcmp(what, "end") == 0) {
			runs[k].end_ns = ns;
			snprintf(runs[k].how, sizeof(runs[k].how), "%s", extra);
		} else if (strcmp(what, "term") == 0) {
			runs[k].term = true;
		}
	}
	fclose(f);
	return n;
}

/* How many runs of job uuid the fake has logged. */
static int runs_of(const char *uuid)
{
	static struct run runs[MAX_RUNS];
	int n = read_runs(runs, MAX_RUNS), c = 0;

	for (int i = 0; i < n; i++)
		c += strcmp(runs[i].uuid, uuid) == 0;
	return c;
}

/* Waits until the fake has started job uuid; false after timeout_ms. */
static bool wait_run_started(const char *uuid, int timeout_ms)
{
	long long until = itest_now_ms() + timeout_ms;

	while (runs_of(uuid) == 0) {
		if (itest_now_ms() > until)
			return false;
		itest_sleep_ms(20);
	}
	return true;
}

/* Entries of MEDIA_ROOT/outputs whose name holds uuid (temporary names included). */
static int outputs_of(const char *uuid)
{
	return itest_dir_count(outputs, uuid);
}

/* ---- the API ----------------------------------------------------------------------------------- */

/* Uploads fixture name as an asset of project pid; returns the asset id and its path in rel. */
static long long upload_asset(const char *tok, long long pid, const char *name, char *rel, size_t rlen)
{
	char path[64], file[512];
	const struct itest_req q = {
		.method = "POST", .path = path, .token = tok, .file = file, .field = "asset"
	};
	struct itest_resp r;
	long long id = -1;

	snprintf(file, sizeof(file), "%s/%s", fixtures, name);
	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	(void)itest_send(&q, &r);
	if (r.status == 201) {
		id = itest_member_int(itest_member(r.json, "asset"), "id");
		if (rel != NULL)
			snprintf(rel, rlen, "%s",
			         itest_member_str(r.json, "path") ? itest_member_str(r.json, "path") : "");
	} else {
		fprintf(stderr, "test_render: upload of %s: %ld %s\n", name, r.status, r.body ? r.body : "");
	}
	itest_resp_free(&r);
	return id;
}

/* A project of user A holding one asset made from fixture name. */
static long long project_with(const char *name, long long *asset, char *rel, size_t rlen)
{
	long long pid = itest_new_project(tok_a, name, NULL), aid;

	CU_ASSERT_FATAL(pid > 0);
	aid = upload_asset(tok_a, pid, name, rel, rlen);
	CU_ASSERT_FATAL(aid > 0);
	if (asset != NULL)
		*asset = aid;
	return pid;
}

/* POST /projects/pid/render with body (may be NULL); on 202 the job id goes into uuid. */
static long enqueue(const char *tok, long long pid, const char *body, char uuid[UUID_LEN + 1],
                    struct itest_resp *r)
{
	char path[64];

	snprintf(path, sizeof(path), "/projects/%lld/render", pid);
	/* No body is an empty one: "Content-Length: 0" (lighttpd answers 411 to a POST without it). */
	if (itest_json("POST", path, tok, body != NULL ? body : "", r) != 0)
		return -1;
	if (r->status == 202 && uuid != NULL)
		snprintf(uuid, UUID_LEN + 1, "%s", itest_jstr(r, "jobId") ? itest_jstr(r, "jobId") : "");
	return r->status;
}

/* Enqueues a job that must be accepted; returns nothing, fails the test otherwise. */
static void enqueue_ok(long long pid, const char *body, char uuid[UUID_LEN + 1])
{
	struct itest_resp r;

	long st = enqueue(tok_a, pid, body, uuid, &r);

	if (st != 202)
		fprintf(stderr, "test_render: POST /projects/%lld/render: %ld %s\n", pid, st,
		        r.body ? r.body : "");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(st == 202);
	CU_ASSERT_FATAL(strlen(uuid) == UUID_LEN);
}

static int get_job(const char *tok, const char *uuid, struct itest_resp *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	return itest_json("GET", path, tok, NULL, r);
}

static bool terminal(const char *state)
{
	return state != NULL && (strcmp(state, "completed") == 0 || strcmp(state, "failed") == 0 ||
	                         strcmp(state, "cancelled") == 0);
}

/*
 * Polls GET /jobs/uuid (user A) until its state is terminal or timeout_ms passes; r holds the last
 * answer (free it). Returns true when the state is terminal.
 */
static bool wait_job(const char *uuid, int timeout_ms, struct itest_resp *r)
{
	long long until = itest_now_ms() + timeout_ms;

	for (;;) {
		if (get_job(tok_a, uuid, r) == 0 && r->status == 200 && terminal(itest_jstr(r, "state")))
			return true;
		if (itest_now_ms() > until) {
			fprintf(stderr, "test_render: job %s not finished after %d ms: %s\n", uuid,
			        timeout_ms, r->body ? r->body : "(no answer)");
			return false;
		}
		itest_resp_free(r);
		itest_sleep_ms(50);
	}
}

/* Asserts job uuid finished with state want, and hands back the last answer in r. */
static void expect_job(const char *uuid, const char *want, int timeout_ms, struct itest_resp *r)
{
	CU_ASSERT_FATAL(wait_job(uuid, timeout_ms, r));
	CU_ASSERT_STRING_EQUAL(itest_jstr(r, "state"), want);
	if (strcmp(itest_jstr(r, "state"), want) != 0)
		fprintf(stderr, "test_render: job %s: wanted %s, got %s\n", uuid, want, r->body);
}

/* ---- PostgreSQL --------------------------------------------------------------------------------- */

/* The first cell of a one-parameter query, copied into out; false on an error or no row. */
static bool sql1(const char *q, const char *p1, char *out, size_t outlen)
{
	const char *params[1] = { p1 };
	PGresult *res = PQexecParams(db, q, p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;

	if (!ok && PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "test_render: %s: %s", q, PQerrorMessage(db));
	if (ok)
		snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return ok;
}

static long long sql_count(const char *q, const char *p1)
{
	char v[32];

	return sql1(q, p1, v, sizeof(v)) ? strtoll(v, NULL, 10) : -1;
}

/* ---- ffprobe ------------------------------------------------------------------------------------ */

/* ffprobe of MEDIA_ROOT/rel as JSON (streams and format), or NULL. The caller puts it. */
static struct json_object *probe(const char *rel)
{
	static char out[65536];
	char file[PATH_MAX + 300];
	const char *argv[] = { "ffprobe",
		               "-v",
		               "error",
		               "-show_entries",
		               "stream=codec_type,codec_name,width,height,pix_fmt:format=duration",
		               "-of",
		               "json",
		               file,
		               NULL };

	snprintf(file, sizeof(file), "%s/%s", media_root, rel);
	if (itest_run_capture(argv, out, sizeof(out)) != 0)
		return NULL;
	return json_tokener_parse(out);
}

/* The first stream of type kind ("video", "audio") in a probe, or NULL. */
static struct json_object *stream_of(struct json_object *p, const char *kind)
{
	struct json_object *streams = itest_member(p, "streams");
	size_t n = streams ? json_object_array_length(streams) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(streams, i);
		const char *t = itest_member_str(s, "codec_type");
		if (t != NULL && strcmp(t, kind) == 0)
			return s;
	}
	return NULL;
}

static double probe_duration(struct json_object *p)
{
	const char *d = itest_member_str(itest_member(p, "format"), "duration");

	return d ? strtod(d, NULL) : -1.0;
}

/* ---- fixtures, setup and teardown --------------------------------------------------------------- */

static int make_fixtures(void)
{
	char png[300], mp4[300], wav[300];

	snprintf(fixtures, sizeof(fixtures), "/tmp/mediad-render-XXXXXX");
	if (mkdtemp(fixtures) == NULL)
		return -1;
	snprintf(png, sizeof(png), "%s/still.png", fixtures);
	snprintf(mp4, sizeof(mp4), "%s/clip.mp4", fixtures);
	snprintf(wav, sizeof(wav), "%s/tone.wav", fixtures);
	{
		const char *a[] = {
			"ffmpeg",    "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=1",
			"-frames:v", "1",        png,  NULL
		};
		/* 2 s of 640x360 H.264 + AAC: the MP4 input, the thumbnail source and what the fake copies. */
		const char *b[] = { "ffmpeg",
			            "-nostdin",
			            "-y",
			            "-f",
			            "lavfi",
			            "-i",
			            "testsrc=size=640x360:rate=25",
			            "-f",
			            "lavfi",
			            "-i",
			            "sine=frequency=440:sample_rate=44100",
			            "-t",
			            "2",
			            "-pix_fmt",
			            "yuv420p",
			            "-c:v",
			            "libx264",
			            "-preset",
			            "ultrafast",
			            "-c:a",
			            "aac",
			            "-shortest",
			            mp4,
			            NULL };
		const char *c[] = {
			"ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
			wav,      NULL
		};
		if (itest_run(a) != 0 || itest_run(b) != 0 || itest_run(c) != 0) {
			fprintf(stderr, "test_render: ffmpeg could not make the fixtures\n");
			return -1;
		}
	}
	return 0;
}

/* Copies the built fake into this run's folder, so its control file is ours alone. */
static int install_fake(void)
{
	const char *top = getenv("abs_top_builddir");
	char self[DIR_SZ], built[PATH_SZ];
	const char *cp[] = { "cp", built, fake, NULL };
	ssize_t n;

	if (top != NULL && *top != '\0') {
		snprintf(self, sizeof(self), "%s", top);
	} else {
		/* BUILDDIR/tests/integration/test_render */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return -1;
		self[n] = '\0';
		for (int i = 0; i < 3; i++) {
			char *slash = strrchr(self, '/');
			if (slash == NULL)
				return -1;
			*slash = '\0';
		}
	}
	snprintf(built, sizeof(built), "%s/tests/fake-ffmpeg", self);
	snprintf(spawner_bin, sizeof(spawner_bin), "%s/media-spawner", self);
	if (access(built, X_OK) != 0 || access(spawner_bin, X_OK) != 0) {
		fprintf(stderr, "test_render: %s or %s is not built\n", built, spawner_bin);
		return -1;
	}
	snprintf(work, sizeof(work), "%s/render-%d", getenv("MEDIAD_TEST_DIR"), (int)getpid());
	if (mkdir(work, 0755) != 0)
		return -1;
	snprintf(fake, sizeof(fake), "%s/fake-ffmpeg", work);
	snprintf(fake_log, sizeof(fake_log), "%s/fake.log", work);
	snprintf(fake_record, sizeof(fake_record), "%s/fake.record", work);
	if (itest_run(cp) != 0 || chmod(fake, 0755) != 0)
		return -1;
	return 0;
}

static int suite_init(void)
{
	const char *root = getenv("MEDIA_ROOT"), *url = getenv("DATABASE_URL");

	if (root == NULL || url == NULL || getenv("MEDIAD_TEST_DIR") == NULL) {
		fprintf(stderr, "test_render: run through the harness (tests/integration/run-lighttpd.sh)\n");
		return -1;
	}
	snprintf(media_root, sizeof(media_root), "%s", root);
	snprintf(outputs, sizeof(outputs), "%s/outputs", root);
	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "test_render: %s", PQerrorMessage(db));
		return -1;
	}
	if (install_fake() != 0 || make_fixtures() != 0)
		return -1;
	return 0;
}

static int suite_clean(void)
{
	const char *names[] = { "still.png", "clip.mp4", "tone.wav", NULL };
	char p[PATH_MAX];

	for (int i = 0; names[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", fixtures, names[i]);
		unlink(p);
	}
	rmdir(fixtures);
	PQfinish(db);
	return 0;
}

static void test_setup(void)
{
	test_no++;
	nspawners = 0;
	unlink(fake_log);
	unlink(fake_record);
	failures_at_setup = CU_get_number_of_failures();
}

/* Prints the last lines of a spawner's log, for a failed test. */
static void dump_tail(const char *path)
{
	FILE *f = fopen(path, "re");
	static char lines[40][512];
	int n = 0;

	if (f == NULL)
		return;
	while (fgets(lines[n % 40], sizeof(lines[0]), f) != NULL)
		n++;
	fclose(f);
	fprintf(stderr, "----- last lines of %s -----\n", path);
	for (int i = n > 40 ? n - 40 : 0; i < n; i++)
		fputs(lines[i % 40], stderr);
}

/*
 * Stops every spawner the test started (a daemon must exit 0 on SIGTERM), kills any fake it left
 * behind, and cancels what the test left unfinished, so the next test's spawners do not pick it up.
 */
static void test_teardown(void)
{
	PGresult *res;
	pid_t left[32];
	int n;

	for (int i = 0; i < nspawners; i++) {
		int st = spawner_stop(i);

		/* Spawners that already ended (--once, kill -9) were checked by their test. */
		if (st != 0) {
			fprintf(stderr, "test_render: spawner %d did not exit 0 on SIGTERM (status %d)\n", i,
			        st);
			CU_FAIL("media-spawner exits 0 on SIGTERM");
		}
	}
	n = fake_procs(left, 32);
	for (int i = 0; i < n; i++)
		kill(left[i], SIGKILL);
	res = PQexecParams(db,
	                   "SELECT j.id::text FROM render_jobs j JOIN users u ON u.id = j.user_id "
	                   "WHERE u.email IN ($1, $2) AND j.state IN ('waiting', 'active')",
	                   2, NULL, (const char *const[]){ email_a, email_b }, NULL, NULL, 0);
	for (int i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res); i++) {
		struct itest_resp r;
		char path[96];
		const char *id = PQgetvalue(res, i, 0);

		snprintf(path, sizeof(path), "/jobs/%s", id);
		if (itest_json("DELETE", path, tok_a, NULL, &r) == 0)
			itest_resp_free(&r);
		/* An active job with no spawner left cannot be stopped through the API: close it here. */
		PQclear(PQexecParams(db,
		                     "UPDATE render_jobs SET state = 'cancelled' "
		                     "WHERE id = $1::uuid AND state IN ('waiting', 'active')",
		                     1, NULL, &id, NULL, NULL, 0));
	}
	PQclear(res);
	if (CU_get_number_of_failures() != failures_at_setup)
		for (int i = 0; i < nspawners; i++)
			dump_tail(spawners[i].log);
}

/* Env overrides for a spawner that runs the fake: FAKE_ENV("KEY=value", ..., NULL). */
#define FAKE_ENV(...) ((const char *const[]){ ffmpeg_env, "RENDER_POLL_INTERVAL=1", __VA_ARGS__ })

static char ffmpeg_env[PATH_MAX + 16];

/* ---- tests: the job API ------------------------------------------------------------------------- */

static void test_setup_users(void)
{
	itest_login(tok_a, sizeof(tok_a), email_a, sizeof(email_a), "render-a");
	itest_login(tok_b, sizeof(tok_b), email_b, sizeof(email_b), "render-b");
	snprintf(ffmpeg_env, sizeof(ffmpeg_env), "FFMPEG_PATH=%s", fake);
}

static void test_enqueue_answers_202_and_job_is_waiting(void)
{
	char png[256], wav[256], uuid[UUID_LEN + 1], want[128], path[96];
	struct itest_resp r;
	long long png_id, pid = project_with("still.png", &png_id, png, sizeof(png)), wav_id;

	wav_id = upload_asset(tok_a, pid, "tone.wav", wav, sizeof(wav));
	CU_ASSERT_FATAL(wav_id > 0);
	/* No body: the project's newest asset (the WAV) and the mp4 preset. */
	CU_ASSERT_FATAL(enqueue(tok_a, pid, NULL, uuid, &r) == 202);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "message"), "Render job enqueued");
	CU_ASSERT_TRUE(itest_matches(uuid, ITEST_UUID_RE));
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "inputFile"), wav);
	snprintf(want, sizeof(want), "outputs/%s-rendered.mp4", uuid);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "outputFile"), want);
	itest_resp_free(&r);

	CU_ASSERT_FATAL(get_job(tok_a, uuid, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "id"), uuid);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "waiting");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "progress"), 0);
	CU_ASSERT_TRUE(itest_member_null(r.json, "result"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "failedReason"));
	CU_ASSERT_EQUAL(itest_member_int(r.json, "projectId"), pid);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "preset"), "mp4");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 0);
	CU_ASSERT_TRUE(itest_matches(itest_jstr(&r, "createdAt"),
	                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z$"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "startedAt"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "finishedAt"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "outputMediaId"));
	itest_resp_free(&r);

	/* An explicit asset and preset. */
	snprintf(want, sizeof(want), "{\"assetId\":%lld,\"preset\":\"mp4\"}", png_id);
	CU_ASSERT_FATAL(enqueue(tok_a, pid, want, uuid, &r) == 202);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "inputFile"), png);
	itest_resp_free(&r);

	snprintf(path, sizeof(path), "/projects/%lld/jobs?limit=1", pid);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 2);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "limit"), 1);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "offset"), 0);
	CU_ASSERT_EQUAL(
	        itest_member(r.json, "items") ? json_object_array_length(itest_member(r.json, "items")) : 99,
	        1);
	itest_resp_free(&r);
}

static void test_enqueue_refuses_bad_requests(void)
{
	char uuid[UUID_LEN + 1], body[128];
	struct itest_resp r;
	long long empty = itest_new_project(tok_a, "empty", NULL), asset, other_asset, b_asset;
	long long pid = project_with("still.png", &asset, NULL, 0);
	long long other = project_with("still.png", &other_asset, NULL, 0);
	long long b_pid = itest_new_project(tok_b, "b's", NULL);
	long st;

	(void)other;
	CU_ASSERT_FATAL(empty > 0 && b_pid > 0);
	b_asset = upload_asset(tok_b, b_pid, "still.png", NULL, 0);
	CU_ASSERT_FATAL(b_asset > 0);

	st = enqueue(tok_a, empty, NULL, uuid, &r);
	CU_ASSERT_TRUE(st >= 400 && st < 500);
	CU_ASSERT_TRUE(r.body != NULL && strcasestr(r.body, "asset") != NULL);
	itest_resp_free(&r);

	snprintf(body, sizeof(body), "{\"assetId\":%lld}", other_asset);
	CU_ASSERT_EQUAL(enqueue(tok_a, pid, body, uuid, &r), 404);
	itest_resp_free(&r);
	snprintf(body, sizeof(body), "{\"assetId\":%lld}", b_asset);
	CU_ASSERT_EQUAL(enqueue(tok_a, pid, body, uuid, &r), 404);
	itest_resp_free(&r);

	CU_ASSERT_EQUAL(enqueue(tok_a, pid, "{\"preset\":\"gif\"}", uuid, &r), 400);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "field"), "preset");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(enqueue(tok_a, pid, "{\"preset\":", uuid, &r), 400);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(enqueue(tok_a, 999999999, NULL, uuid, &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(enqueue(NULL, pid, NULL, uuid, &r), 401);
	itest_resp_free(&r);
	/* Nothing was queued by any of these. */
	snprintf(body, sizeof(body), "%lld", pid);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM render_jobs WHERE project_id = $1::bigint", body), 0);
}

static void test_other_users_job_and_project_are_404(void)
{
	char uuid[UUID_LEN + 1], path[96];
	struct itest_resp r;
	long long pid = project_with("still.png", NULL, NULL, 0);

	enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_FATAL(get_job(tok_b, uuid, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	CU_ASSERT_FATAL(itest_json("DELETE", path, tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(get_job(tok_a, uuid, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "waiting");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(enqueue(tok_b, pid, NULL, uuid, &r), 404);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/projects/%lld/jobs", pid);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(get_job(tok_a, "not-a-uuid", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(get_job(tok_a, "0b0e3e0a-1a23-4e98-b3d5-04c97e2c1f1g", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(get_job(tok_a, "f84a2c4c-1a23-4e98-b3d5-04c97e2c1f10", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
}

static void test_cancel_waiting_job_is_immediate_and_never_runs(void)
{
	char uuid[UUID_LEN + 1], path[96], copy[PATH_MAX + 16];
	struct itest_resp r;
	long long pid = project_with("still.png", NULL, NULL, 0);

	enqueue_ok(pid, NULL, uuid);
	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	CU_ASSERT_FATAL(itest_json("DELETE", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_TRUE(r.status == 200 || r.status == 202 || r.status == 204);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(get_job(tok_a, uuid, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "cancelled");
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "finishedAt"));
	itest_resp_free(&r);
	/* A spawner that comes later leaves it alone. */
	snprintf(copy, sizeof(copy), "%s/clip.mp4", fixtures);
	fake_mode("mode=ok\ncopy=%s\nlog=%s\n", copy, fake_log);
	CU_ASSERT_EQUAL(spawner_once(FAKE_ENV(NULL), "2"), 0);
	CU_ASSERT_EQUAL(runs_of(uuid), 0);
	CU_ASSERT_FATAL(get_job(tok_a, uuid, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "cancelled");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 0);
	itest_resp_free(&r);
}

/* ---- tests: the real ffmpeg ------------------------------------------------------------------- */

/* Renders the newest asset of pid with the real ffmpeg (--once) and checks the job's answer. */
static void render_real(long long pid, const char *body, char uuid[UUID_LEN + 1], char *result, size_t rlen)
{
	struct itest_resp r;
	char want[128];
	const char *ext = body != NULL && strstr(body, "thumbnail") != NULL ? "jpg" : "mp4";

	enqueue_ok(pid, body, uuid);
	CU_ASSERT_EQUAL(spawner_once(NULL, "2"), 0);
	expect_job(uuid, "completed", 5000, &r);
	snprintf(want, sizeof(want), "outputs/%s-rendered.%s", uuid, ext);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "result"), want);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "progress"), 100);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 1);
	CU_ASSERT_TRUE(itest_member_null(r.json, "failedReason"));
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "startedAt"));
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "finishedAt"));
	CU_ASSERT_TRUE(itest_member_int(r.json, "outputMediaId") > 0);
	snprintf(result, rlen, "%s", itest_jstr(&r, "result") ? itest_jstr(&r, "result") : "");
	itest_resp_free(&r);
	/* The temporary name is gone; only the final file holds the job's id. */
	CU_ASSERT_EQUAL(outputs_of(uuid), 1);
}

static void test_real_png_becomes_5s_h264_mp4(void)
{
	char uuid[UUID_LEN + 1], result[256];
	struct json_object *p, *v;
	long long pid = project_with("still.png", NULL, NULL, 0);

	render_real(pid, NULL, uuid, result, sizeof(result));
	p = probe(result);
	CU_ASSERT_FATAL(p != NULL);
	v = stream_of(p, "video");
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "codec_name"), "h264");
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "pix_fmt"), "yuv420p");
	CU_ASSERT_EQUAL(itest_member_int(v, "width"), 320);
	CU_ASSERT_EQUAL(itest_member_int(v, "height"), 240);
	CU_ASSERT_TRUE(probe_duration(p) >= 4.9 && probe_duration(p) <= 5.1);
	if (!(probe_duration(p) >= 4.9 && probe_duration(p) <= 5.1))
		fprintf(stderr, "test_render: PNG render lasts %.3f s\n", probe_duration(p));
	json_object_put(p);
	snprintf(png_job, sizeof(png_job), "%s", uuid);
}

static void test_real_mp4_becomes_h264_aac_mp4(void)
{
	char uuid[UUID_LEN + 1], result[256];
	struct json_object *p, *v, *a;
	long long pid = project_with("clip.mp4", NULL, NULL, 0);

	render_real(pid, NULL, uuid, result, sizeof(result));
	p = probe(result);
	CU_ASSERT_FATAL(p != NULL);
	v = stream_of(p, "video");
	a = stream_of(p, "audio");
	CU_ASSERT_FATAL(v != NULL && a != NULL);
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "codec_name"), "h264");
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "pix_fmt"), "yuv420p");
	CU_ASSERT_EQUAL(itest_member_int(v, "width"), 640);
	CU_ASSERT_EQUAL(itest_member_int(v, "height"), 360);
	CU_ASSERT_STRING_EQUAL(itest_member_str(a, "codec_name"), "aac");
	CU_ASSERT_TRUE(probe_duration(p) >= 1.85 && probe_duration(p) <= 2.15);
	json_object_put(p);
}

static void test_real_wav_becomes_mp4_with_video_and_aac(void)
{
	char uuid[UUID_LEN + 1], result[256];
	struct json_object *p, *v, *a;
	long long pid = project_with("tone.wav", NULL, NULL, 0);

	render_real(pid, NULL, uuid, result, sizeof(result));
	p = probe(result);
	CU_ASSERT_FATAL(p != NULL);
	v = stream_of(p, "video");
	a = stream_of(p, "audio");
	CU_ASSERT_FATAL(v != NULL && a != NULL);
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "codec_name"), "h264");
	CU_ASSERT_STRING_EQUAL(itest_member_str(a, "codec_name"), "aac");
	CU_ASSERT_TRUE(probe_duration(p) >= 2.8 && probe_duration(p) <= 3.2);
	if (!(probe_duration(p) >= 2.8 && probe_duration(p) <= 3.2))
		fprintf(stderr, "test_render: WAV render lasts %.3f s (input 3 s)\n", probe_duration(p));
	json_object_put(p);
}

static void test_real_thumbnail_of_mp4_is_320_wide_jpeg(void)
{
	char uuid[UUID_LEN + 1], result[256], body[96];
	struct json_object *p, *v;
	long long asset, pid = project_with("clip.mp4", &asset, NULL, 0);

	snprintf(body, sizeof(body), "{\"assetId\":%lld,\"preset\":\"thumbnail\"}", asset);
	render_real(pid, body, uuid, result, sizeof(result));
	p = probe(result);
	CU_ASSERT_FATAL(p != NULL);
	v = stream_of(p, "video");
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "codec_name"), "mjpeg");
	CU_ASSERT_EQUAL(itest_member_int(v, "width"), 320);
	CU_ASSERT_EQUAL(itest_member_int(v, "height"), 180);
	json_object_put(p);
}

static void test_render_output_is_media_with_working_stream_link(void)
{
	char path[96], url_path[1024], file[PATH_MAX + 300];
	const char *url, *base = itest_base();
	struct itest_resp r;
	struct stat st;
	long long mid;
	char result[256];

	CU_ASSERT_FATAL(png_job[0] != '\0');
	CU_ASSERT_FATAL(get_job(tok_a, png_job, &r) == 0 && r.status == 200);
	mid = itest_member_int(r.json, "outputMediaId");
	snprintf(result, sizeof(result), "%s", itest_jstr(&r, "result") ? itest_jstr(&r, "result") : "");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(mid > 0);
	snprintf(path, sizeof(path), "/media/%lld", mid);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "path"), result);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "kind"), "video");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/media/%lld/stream-url", mid);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	url = itest_jstr(&r, "url");
	CU_ASSERT_FATAL(url != NULL && strncmp(url, base, strlen(base)) == 0);
	snprintf(url_path, sizeof(url_path), "%s", url + strlen(base));
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_request("GET", url_path, NULL, NULL, 0, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	snprintf(file, sizeof(file), "%s/%s", media_root, result);
	CU_ASSERT_FATAL(stat(file, &st) == 0);
	CU_ASSERT_EQUAL((long long)r.body_len, (long long)st.st_size);
	CU_ASSERT_TRUE(r.body_len > 8 && memcmp(r.body + 4, "ftyp", 4) == 0);
	itest_resp_free(&r);
}

/* ---- tests: the fake ffmpeg ------------------------------------------------------------------- */

static void test_ffmpeg_gets_contract_argv_minimal_env_no_fds(void)
{
	char uuid[UUID_LEN + 1], input[256], copy[PATH_MAX + 16], line[PATH_SZ + 64], want_in[DIR_SZ + 300];
	char args[64][PATH_SZ + 64];
	char real_a[PATH_MAX], real_b[PATH_MAX], *out;
	static const char *const secrets[] = { "DATABASE_URL", "MEDIAD_CONFIG", "REDIS_URL",
		                               "REDIS_SOCKET", "JWT_SECRET",    "STREAM_KEY",
		                               "PGHOST",       "PGPASSWORD",    NULL };
	struct itest_resp r;
	FILE *f;
	int argc = 0, fds = 0, leaked = 0;
	bool in_ok = false;
	long long pid = project_with("still.png", NULL, input, sizeof(input));

	snprintf(copy, sizeof(copy), "%s/clip.mp4", fixtures);
	fake_mode("mode=ok\ncopy=%s\nrecord=%s\n", copy, fake_record);
	enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_EQUAL(spawner_once(FAKE_ENV(NULL), "1"), 0);
	expect_job(uuid, "completed", 5000, &r);
	itest_resp_free(&r);
	f = fopen(fake_record, "re");
	CU_ASSERT_FATAL(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "argv ", 5) == 0 && argc < 64) {
			snprintf(args[argc++], sizeof(args[0]), "%s", line + 5);
		} else if (strncmp(line, "env ", 4) == 0) {
			for (int i = 0; secrets[i] != NULL; i++)
				if (strcmp(line + 4, secrets[i]) == 0) {
					fprintf(stderr, "test_render: ffmpeg's environment has %s\n",
					        secrets[i]);
					leaked++;
				}
		} else if (strncmp(line, "fd ", 3) == 0) {
			fprintf(stderr, "test_render: ffmpeg inherited descriptor %s\n", line + 3);
			fds++;
		}
	}
	fclose(f);
	CU_ASSERT_EQUAL(leaked, 0);
	CU_ASSERT_EQUAL(fds, 0);
	CU_ASSERT_FATAL(argc >= 12);
	{
		bool nostdin = false, y = false, hide = false, loglevel = false, progress = false,
		     nostats = false;

		for (int i = 1; i < argc - 1; i++) {
			nostdin = nostdin || strcmp(args[i], "-nostdin") == 0;
			y = y || strcmp(args[i], "-y") == 0;
			hide = hide || strcmp(args[i], "-hide_banner") == 0;
			nostats = nostats || strcmp(args[i], "-nostats") == 0;
			loglevel = loglevel ||
			           (strcmp(args[i], "-loglevel") == 0 && strcmp(args[i + 1], "error") == 0);
			progress = progress ||
			           (strcmp(args[i], "-progress") == 0 && strcmp(args[i + 1], "pipe:1") == 0);
			if (strcmp(args[i], "-i") == 0 && strncmp(args[i + 1], "file:", 5) == 0) {
				snprintf(want_in, sizeof(want_in), "%s/%s", media_root, input);
				in_ok = args[i + 1][5] == '/' && realpath(args[i + 1] + 5, real_a) != NULL &&
				        realpath(want_in, real_b) != NULL && strcmp(real_a, real_b) == 0;
			}
		}
		CU_ASSERT_TRUE(nostdin && y && hide && loglevel && progress && nostats);
		CU_ASSERT_TRUE(in_ok);
	}
	/* The last argument: an absolute temporary name in MEDIA_ROOT/outputs, made from the job id. */
	out = args[argc - 1];
	CU_ASSERT_TRUE(out[0] == '/');
	CU_ASSERT_PTR_NOT_NULL(strstr(out, uuid));
	CU_ASSERT_TRUE(strstr(out, "/outputs/") != NULL);
	snprintf(want_in, sizeof(want_in), "%s/outputs/%s-rendered.mp4", media_root, uuid);
	CU_ASSERT_TRUE(strcmp(out, want_in) != 0);
	CU_ASSERT_EQUAL(access(out, F_OK), -1);
	CU_ASSERT_EQUAL(access(want_in, F_OK), 0);
}

static void test_progress_moves_and_is_100_when_completed(void)
{
	char uuid[UUID_LEN + 1], copy[PATH_MAX + 16];
	const char *args[] = { "--concurrency", "1", NULL };
	struct itest_resp r;
	long long pid = project_with("still.png", NULL, NULL, 0), until;
	int between = 0, last = -1, went_back = 0;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", fixtures);
	/* The still image's fixed length is 5 s: 15 blocks over 3 s walk out_time_us across it. */
	fake_mode("mode=slow\nsteps=15\nstep_ms=200\nduration_us=5000000\ncopy=%s\nlog=%s\n", copy, fake_log);
	CU_ASSERT_FATAL(spawner_start(args, FAKE_ENV(NULL)) >= 0);
	enqueue_ok(pid, NULL, uuid);
	until = itest_now_ms() + 20000;
	for (;;) {
		const char *state;
		long long p;

		CU_ASSERT_FATAL(get_job(tok_a, uuid, &r) == 0 && r.status == 200);
		state = itest_jstr(&r, "state");
		p = itest_member_int(r.json, "progress");
		if (p > 0 && p < 100)
			between++;
		if (p < last)
			went_back++;
		last = (int)p;
		if (terminal(state) || itest_now_ms() > until)
			break;
		itest_resp_free(&r);
		itest_sleep_ms(50);
	}
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "completed");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "progress"), 100);
	itest_resp_free(&r);
	CU_ASSERT_TRUE(between >= 1);
	CU_ASSERT_EQUAL(went_back, 0);
	if (between == 0)
		fprintf(stderr, "test_render: progress never seen strictly between 0 and 100\n");
}

static void test_rejected_input_fails_at_once_with_clean_reason(void)
{
	char uuid[UUID_LEN + 1];
	struct itest_resp r;
	const char *reason;
	long long pid = project_with("still.png", NULL, NULL, 0);

	fake_mode("mode=fail\nlog=%s\n", fake_log);
	enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_EQUAL(spawner_once(FAKE_ENV(NULL), "1"), 0);
	expect_job(uuid, "failed", 5000, &r);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 1);
	CU_ASSERT_TRUE(itest_member_null(r.json, "result"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "outputMediaId"));
	reason = itest_jstr(&r, "failedReason");
	CU_ASSERT_FATAL(reason != NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "Invalid data"));
	CU_ASSERT_PTR_NULL(strstr(reason, "/some/abs"));
	CU_ASSERT_PTR_NULL(strstr(reason, media_root));
	CU_ASSERT_FALSE(has_abs_path(reason));
	CU_ASSERT_TRUE(strlen(reason) <= 500);
	fprintf(stderr, "  failedReason: \"%s\"\n", reason);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(runs_of(uuid), 1);
	CU_ASSERT_EQUAL(outputs_of(uuid), 0);
}

static void test_crash_is_retried_until_max_attempts_then_fails(void)
{
	static struct run runs[MAX_RUNS];
	char uuid[UUID_LEN + 1];
	struct itest_resp r;
	const char *args[] = { "--concurrency", "1", NULL };
	const char *reason;
	long long pid = project_with("still.png", NULL, NULL, 0), first_end = 0, second_start = 0, max;
	int n, seen = 0;

	fake_mode("mode=crash\nlog=%s\n", fake_log);
	CU_ASSERT_FATAL(spawner_start(args, FAKE_ENV("RENDER_MAX_ATTEMPTS=2", NULL)) >= 0);
	enqueue_ok(pid, NULL, uuid);
	expect_job(uuid, "failed", 20000, &r);
	max = sql_count("SELECT max_attempts FROM render_jobs WHERE id = $1::uuid", uuid);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), max);
	/* The spawner's RENDER_MAX_ATTEMPTS is the limit it retries up to. */
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 2);
	if (itest_member_int(r.json, "attempts") != 2)
		fprintf(stderr,
		        "test_render: RENDER_MAX_ATTEMPTS=2 for the spawner, yet %lld attempts (job's max_attempts "
		        "%lld)\n",
		        itest_member_int(r.json, "attempts"), max);
	reason = itest_jstr(&r, "failedReason");
	CU_ASSERT_PTR_NOT_NULL(reason);
	CU_ASSERT_FALSE(reason != NULL && has_abs_path(reason));
	fprintf(stderr, "  failedReason: \"%s\"\n", reason ? reason : "(null)");
	itest_resp_free(&r);
	n = read_runs(runs, MAX_RUNS);
	for (int i = 0; i < n; i++) {
		if (strcmp(runs[i].uuid, uuid) != 0)
			continue;
		if (seen == 0)
			first_end = runs[i].end_ns;
		else if (seen == 1)
			second_start = runs[i].start_ns;
		seen++;
	}
	CU_ASSERT_EQUAL(seen, max);
	/* Backoff: the retry starts about 1 s after the crash, not at once. */
	CU_ASSERT_TRUE(seen >= 2 && second_start - first_end >= 900000000LL);
	if (seen >= 2)
		fprintf(stderr, "  retry started %.2f s after the crash\n",
		        (double)(second_start - first_end) / 1e9);
	/* The partial outputs of both attempts are gone. */
	CU_ASSERT_EQUAL(outputs_of(uuid), 0);
}

static void test_timeout_terms_then_kills_and_fails(void)
{
	static struct run runs[MAX_RUNS];
	char uuid[UUID_LEN + 1];
	struct itest_resp r;
	const char *args[] = { "--concurrency", "1", NULL };
	const char *reason;
	pid_t left[8];
	long long pid = project_with("still.png", NULL, NULL, 0), until, attempts;
	int n, procs = -1, termed = 0;

	fake_mode("mode=hang\nignore_term=1\nlog=%s\n", fake_log);
	CU_ASSERT_FATAL(spawner_start(args, FAKE_ENV("RENDER_TIMEOUT=2", "RENDER_MAX_ATTEMPTS=1", NULL)) >=
	                0);
	enqueue_ok(pid, NULL, uuid);
	expect_job(uuid, "failed", 60000, &r);
	reason = itest_jstr(&r, "failedReason");
	CU_ASSERT_TRUE(reason != NULL && strstr(reason, "timed out after 2 s") != NULL);
	fprintf(stderr, "  failedReason: \"%s\"\n", reason ? reason : "(null)");
	/* A timeout is retryable: it fails once the attempts are used up (the retry count is the crash
	 * test's business). */
	attempts = itest_member_int(r.json, "attempts");
	CU_ASSERT_EQUAL(attempts,
	                sql_count("SELECT max_attempts FROM render_jobs WHERE id = $1::uuid", uuid));
	itest_resp_free(&r);
	/* Gone, and reaped: no live fake and no zombie of it under our spawner. */
	until = itest_now_ms() + 2000;
	while ((procs = fake_procs(left, 8)) > 0 && itest_now_ms() < until)
		itest_sleep_ms(50);
	CU_ASSERT_EQUAL(procs, 0);
	n = read_runs(runs, MAX_RUNS);
	for (int i = 0; i < n; i++)
		if (strcmp(runs[i].uuid, uuid) == 0)
			termed += runs[i].term && runs[i].end_ns == 0;
	/* Each run got SIGTERM first (the fake noted and ignored it), then SIGKILL ended it. */
	CU_ASSERT_EQUAL(termed, attempts);
	CU_ASSERT_EQUAL(runs_of(uuid), attempts);
	CU_ASSERT_EQUAL(outputs_of(uuid), 0);
}

static void test_cancel_active_job_stops_ffmpeg_within_2s(void)
{
	char uuid[UUID_LEN + 1], path[96], copy[PATH_MAX + 16];
	struct itest_resp r;
	const char *args[] = { "--concurrency", "1", NULL };
	const char *state = NULL;
	pid_t left[8];
	long long pid = project_with("still.png", NULL, NULL, 0), t0, until, took = -1;
	int procs = -1, files = -1;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", fixtures);
	fake_mode("mode=slow\nsteps=100\nstep_ms=100\ncopy=%s\nlog=%s\n", copy, fake_log);
	CU_ASSERT_FATAL(spawner_start(args, FAKE_ENV(NULL)) >= 0);
	enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_FATAL(wait_run_started(uuid, 10000));
	/* The scan sees the running fake, and its partial output has a name made from the job id. */
	CU_ASSERT_EQUAL(fake_procs(left, 8), 1);
	CU_ASSERT_TRUE(outputs_of(uuid) >= 1);
	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	t0 = itest_now_ms();
	CU_ASSERT_FATAL(itest_json("DELETE", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_TRUE(r.status == 200 || r.status == 202 || r.status == 204);
	itest_resp_free(&r);
	until = t0 + 2000;
	for (;;) {
		CU_ASSERT_FATAL(get_job(tok_a, uuid, &r) == 0);
		state = itest_jstr(&r, "state");
		procs = fake_procs(left, 8);
		files = outputs_of(uuid);
		if ((state != NULL && strcmp(state, "cancelled") == 0 && procs == 0 && files == 0) ||
		    itest_now_ms() > until) {
			took = itest_now_ms() - t0;
			break;
		}
		itest_resp_free(&r);
		itest_sleep_ms(25);
	}
	fprintf(stderr, "  after %lld ms: state %s, %d fake process(es), %d output file(s)\n", took,
	        state ? state : "(none)", procs, files);
	CU_ASSERT_STRING_EQUAL(state, "cancelled");
	CU_ASSERT_TRUE(itest_member_null(r.json, "result"));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(procs, 0);
	CU_ASSERT_EQUAL(files, 0);
	/* And it stays cancelled: not retried, not overwritten by a late "completed". */
	itest_sleep_ms(1500);
	CU_ASSERT_FATAL(get_job(tok_a, uuid, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "cancelled");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(runs_of(uuid), 1);
	CU_ASSERT_EQUAL(outputs_of(uuid), 0);
}

static int cmp_start(const void *a, const void *b)
{
	const struct run *x = a, *y = b;
	int c = strcmp(x->uuid, y->uuid);

	if (c != 0)
		return c;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* The most runs in flight at once among runs[0..n) whose ppid is ppid (0: all). */
static int max_in_flight(const struct run *runs, int n, int ppid)
{
	int best = 0;

	for (int i = 0; i < n; i++) {
		int c = 0;

		if (ppid != 0 && runs[i].ppid != ppid)
			continue;
		for (int j = 0; j < n; j++)
			if ((ppid == 0 || runs[j].ppid == ppid) && runs[j].start_ns <= runs[i].start_ns &&
			    (runs[j].end_ns == 0 || runs[j].end_ns > runs[i].start_ns))
				c++;
		if (c > best)
			best = c;
	}
	return best;
}

static void test_two_spawners_run_50_jobs_exactly_once(void)
{
	static struct run runs[MAX_RUNS];
	static char uuids[50][UUID_LEN + 1];
	char copy[PATH_MAX + 16], pidtxt[32];
	const char *a1[] = { "--concurrency", "2", "--name", "it-a", NULL };
	const char *a2[] = { "--concurrency", "2", "--name", "it-b", NULL };
	long long pid = project_with("still.png", NULL, NULL, 0), until, done = -1;
	int n, s1, s2, by1 = 0, by2 = 0, overlaps = 0, bad = 0;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", fixtures);
	snprintf(pidtxt, sizeof(pidtxt), "%lld", pid);
	fake_mode("mode=ok\nsteps=3\nstep_ms=40\ncopy=%s\nlog=%s\n", copy, fake_log);
	s1 = spawner_start(a1, FAKE_ENV(NULL));
	s2 = spawner_start(a2, FAKE_ENV(NULL));
	CU_ASSERT_FATAL(s1 >= 0 && s2 >= 0);
	for (int i = 0; i < 50; i++)
		enqueue_ok(pid, NULL, uuids[i]);
	until = itest_now_ms() + 90000;
	while ((done = sql_count("SELECT count(*) FROM render_jobs WHERE project_id = $1::bigint AND "
	                         "state IN ('completed', 'failed', 'cancelled')",
	                         pidtxt)) < 50 &&
	       itest_now_ms() < until)
		itest_sleep_ms(100);
	CU_ASSERT_EQUAL_FATAL(done, 50);
	CU_ASSERT_EQUAL(
	        sql_count("SELECT count(*) FROM render_jobs WHERE project_id = $1::bigint AND state = "
	                  "'completed' AND attempts = 1 AND progress = 100 AND output_media_id IS NOT NULL",
	                  pidtxt),
	        50);
	CU_ASSERT_EQUAL(
	        sql_count("SELECT count(DISTINCT output_media_id) FROM render_jobs WHERE project_id = "
	                  "$1::bigint",
	                  pidtxt),
	        50);
	n = read_runs(runs, MAX_RUNS);
	qsort(runs, (size_t)n, sizeof(runs[0]), cmp_start);
	for (int i = 0; i < 50; i++) {
		int c = 0;

		for (int k = 0; k < n; k++)
			if (strcmp(runs[k].uuid, uuids[i]) == 0)
				c += strcmp(runs[k].how, "ok") == 0 ? 1 : 100;
		if (c != 1) {
			fprintf(stderr,
			        "test_render: job %s ran %d time(s) (100 per run that did not end ok)\n",
			        uuids[i], c);
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(n, 50);
	/* No two runs of one output overlap (runs sorted by job, then start). */
	for (int k = 1; k < n; k++)
		if (strcmp(runs[k].uuid, runs[k - 1].uuid) == 0 &&
		    (runs[k - 1].end_ns == 0 || runs[k - 1].end_ns > runs[k].start_ns))
			overlaps++;
	CU_ASSERT_EQUAL(overlaps, 0);
	for (int k = 0; k < n; k++) {
		by1 += runs[k].ppid == (int)spawners[s1].pid;
		by2 += runs[k].ppid == (int)spawners[s2].pid;
	}
	fprintf(stderr,
	        "  runs: %d by spawner a, %d by spawner b, at most %d at once (%d and %d per spawner)\n", by1,
	        by2, max_in_flight(runs, n, 0), max_in_flight(runs, n, (int)spawners[s1].pid),
	        max_in_flight(runs, n, (int)spawners[s2].pid));
	CU_ASSERT_TRUE(by1 > 0 && by2 > 0);
	CU_ASSERT_TRUE(max_in_flight(runs, n, (int)spawners[s1].pid) <= 2);
	CU_ASSERT_TRUE(max_in_flight(runs, n, (int)spawners[s2].pid) <= 2);
	CU_ASSERT_TRUE(max_in_flight(runs, n, 0) <= 4);
}

static void test_killed_spawner_job_finishes_on_another_attempt(void)
{
	static struct run runs[MAX_RUNS];
	char uuid[UUID_LEN + 1], copy[PATH_MAX + 16];
	const char *a1[] = { "--concurrency", "1", "--name", "it-doomed", NULL };
	const char *a2[] = { "--concurrency", "1", "--name", "it-heir", NULL };
	struct itest_resp r;
	long long pid = project_with("still.png", NULL, NULL, 0);
	int s1, s2, n, seen = 0, by2 = 0;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", fixtures);
	fake_mode("mode=slow\nsteps=20\nstep_ms=100\ncopy=%s\nlog=%s\n", copy, fake_log);
	s1 = spawner_start(a1, FAKE_ENV("RENDER_LEASE=5", NULL));
	CU_ASSERT_FATAL(s1 >= 0);
	enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_FATAL(wait_run_started(uuid, 10000));
	CU_ASSERT_FATAL(kill(spawners[s1].pid, SIGKILL) == 0);
	CU_ASSERT_FATAL(spawner_wait(s1, 5000) != -1);
	s2 = spawner_start(a2, FAKE_ENV("RENDER_LEASE=5", NULL));
	CU_ASSERT_FATAL(s2 >= 0);
	expect_job(uuid, "completed", 40000, &r);
	/* The killed run was the infrastructure's fault: counted as an interruption, not an attempt. */
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 1);
	CU_ASSERT_EQUAL(sql_count("SELECT interruptions FROM render_jobs WHERE id = $1::uuid", uuid), 1);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "progress"), 100);
	itest_resp_free(&r);
	n = read_runs(runs, MAX_RUNS);
	for (int i = 0; i < n; i++)
		if (strcmp(runs[i].uuid, uuid) == 0) {
			seen++;
			by2 += runs[i].ppid == (int)spawners[s2].pid && strcmp(runs[i].how, "ok") == 0;
		}
	CU_ASSERT_EQUAL(seen, 2);
	CU_ASSERT_EQUAL(by2, 1);
	/* The final output is there (a temporary file of the killed attempt may be left for gc). */
	CU_ASSERT_TRUE(outputs_of(uuid) >= 1);
}

static void test_sigterm_releases_running_job_to_another_spawner(void)
{
	char first[UUID_LEN + 1], second[UUID_LEN + 1], copy[PATH_MAX + 16];
	const char *a1[] = { "--concurrency", "1", "--name", "it-leaving", NULL };
	const char *a2[] = { "--concurrency", "1", "--name", "it-staying", NULL };
	struct itest_resp r;
	pid_t left[8];
	long long pid = project_with("still.png", NULL, NULL, 0), t0;
	int s1, st;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", fixtures);
	/* 20 s: longer than any reasonable grace period. */
	fake_mode("mode=slow\nsteps=200\nstep_ms=100\ncopy=%s\nlog=%s\n", copy, fake_log);
	/* A long lease: the job must come back because it was released, not because the lease ran out. */
	s1 = spawner_start(a1, FAKE_ENV("RENDER_LEASE=60", NULL));
	CU_ASSERT_FATAL(s1 >= 0);
	enqueue_ok(pid, NULL, first);
	CU_ASSERT_FATAL(wait_run_started(first, 10000));
	t0 = itest_now_ms();
	CU_ASSERT_FATAL(kill(spawners[s1].pid, SIGTERM) == 0);
	itest_sleep_ms(300);
	/* Enqueued while it stops: it must not claim this one. */
	enqueue_ok(pid, NULL, second);
	st = spawner_wait(s1, 30000);
	fprintf(stderr, "  the spawner exited %.1f s after SIGTERM\n",
	        (double)(itest_now_ms() - t0) / 1000.0);
	CU_ASSERT_FATAL(st != -1);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(fake_procs(left, 8), 0);
	CU_ASSERT_FATAL(get_job(tok_a, first, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "waiting");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(get_job(tok_a, second, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "waiting");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 0);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(runs_of(second), 0);

	fake_mode("mode=ok\nsteps=3\nstep_ms=20\ncopy=%s\nlog=%s\n", copy, fake_log);
	CU_ASSERT_FATAL(spawner_start(a2, FAKE_ENV("RENDER_LEASE=60", NULL)) >= 0);
	expect_job(first, "completed", 15000, &r);
	itest_resp_free(&r);
	expect_job(second, "completed", 15000, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(runs_of(first), 2);
	CU_ASSERT_EQUAL(runs_of(second), 1);
}

static void test_once_runs_ready_jobs_and_exits_0(void)
{
	char uuids[3][UUID_LEN + 1], copy[PATH_MAX + 16];
	struct itest_resp r;
	long long pid = project_with("still.png", NULL, NULL, 0);
	int st;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", fixtures);
	fake_mode("mode=ok\nsteps=3\nstep_ms=50\ncopy=%s\nlog=%s\n", copy, fake_log);
	for (int i = 0; i < 3; i++)
		enqueue_ok(pid, NULL, uuids[i]);
	st = spawner_once(FAKE_ENV(NULL), "2");
	CU_ASSERT_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_FATAL(get_job(tok_a, uuids[i], &r) == 0);
		CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "completed");
		CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 1);
		itest_resp_free(&r);
		CU_ASSERT_EQUAL(runs_of(uuids[i]), 1);
	}
}

int main(void)
{
	CU_pSuite s;
	int rc;

	if (itest_init() != 0)
		return 1;
	/* Here, not as the suite's init: CUnit does not count a failed suite init as a failure. */
	if (suite_init() != 0) {
		fprintf(stderr, "test_render: set-up failed\n");
		return 1;
	}
	s = CU_add_suite_with_setup_and_teardown("render", NULL, NULL, test_setup, test_teardown);
	CU_add_test(s, "two users register and log in", test_setup_users);
	CU_add_test(s, "enqueue answers 202 and the job is waiting",
	            test_enqueue_answers_202_and_job_is_waiting);
	CU_add_test(s, "enqueue refuses bad requests", test_enqueue_refuses_bad_requests);
	CU_add_test(s, "another user's job and project are 404", test_other_users_job_and_project_are_404);
	CU_add_test(s, "cancelling a waiting job is immediate and it never runs",
	            test_cancel_waiting_job_is_immediate_and_never_runs);
	CU_add_test(s, "real ffmpeg: PNG becomes a 5 s H.264 MP4", test_real_png_becomes_5s_h264_mp4);
	CU_add_test(s, "real ffmpeg: MP4 becomes H.264/AAC MP4", test_real_mp4_becomes_h264_aac_mp4);
	CU_add_test(s, "real ffmpeg: WAV becomes MP4 with video and AAC",
	            test_real_wav_becomes_mp4_with_video_and_aac);
	CU_add_test(s, "real ffmpeg: thumbnail of an MP4 is a 320-wide JPEG",
	            test_real_thumbnail_of_mp4_is_320_wide_jpeg);
	CU_add_test(s, "render output is a media row with a working stream link",
	            test_render_output_is_media_with_working_stream_link);
	CU_add_test(s, "ffmpeg gets the contract's argv, a minimal env and no descriptors",
	            test_ffmpeg_gets_contract_argv_minimal_env_no_fds);
	CU_add_test(s, "progress moves and is 100 when completed",
	            test_progress_moves_and_is_100_when_completed);
	CU_add_test(s, "rejected input fails at once with a clean reason",
	            test_rejected_input_fails_at_once_with_clean_reason);
	CU_add_test(s, "crash is retried until max attempts, then fails",
	            test_crash_is_retried_until_max_attempts_then_fails);
	CU_add_test(s, "timeout: SIGTERM, then SIGKILL, then failed",
	            test_timeout_terms_then_kills_and_fails);
	CU_add_test(s, "cancelling an active job stops ffmpeg within 2 s",
	            test_cancel_active_job_stops_ffmpeg_within_2s);
	CU_add_test(s, "two spawners run 50 jobs exactly once", test_two_spawners_run_50_jobs_exactly_once);
	CU_add_test(s, "kill -9 of a spawner: the job finishes on another attempt",
	            test_killed_spawner_job_finishes_on_another_attempt);
	CU_add_test(s, "SIGTERM: a running job is released to another spawner",
	            test_sigterm_releases_running_job_to_another_spawner);
	CU_add_test(s, "--once runs the ready jobs and exits 0", test_once_runs_ready_jobs_and_exits_0);
	rc = itest_run_all();
	suite_clean();
	return rc;
}
