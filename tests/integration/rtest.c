/* rtest.c: helpers of the render programs (test_jobs_api, test_spawner); see rtest.h. */
#include "config.h"

#include "rtest.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_SPAWNERS 8

struct rtest rt;

static const char *prog = "rtest"; /* the program, in messages */
static char work[RTEST_DIR_SZ];    /* this run's folder inside MEDIAD_TEST_DIR */
static char spawner_bin[RTEST_PATH_SZ];
static char bindir[RTEST_DIR_SZ]; /* the build tree: where media-spawner and media-hooks are */
static char outputs[RTEST_DIR_SZ + 16];
static char email_a[128], email_b[128];
static PGconn *db;
static int test_no;

static struct spawner {
	pid_t pid;
	char log[RTEST_PATH_SZ];
} spawners[MAX_SPAWNERS];
static int nspawners;
static unsigned failures_at_setup;

/* ---- small helpers --------------------------------------------------------------------------- */

/* Finds the first job UUID in s and copies it into out; false when there is none. */
static bool find_uuid(const char *s, char out[RTEST_UUID_LEN + 1])
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t n = strlen(s);

	for (size_t i = 0; i + RTEST_UUID_LEN <= n; i++) {
		size_t k;

		for (k = 0; k < RTEST_UUID_LEN; k++) {
			char c = s[i + k];
			if (shape[k] == '-' ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				break;
		}
		if (k == RTEST_UUID_LEN) {
			memcpy(out, s + i, RTEST_UUID_LEN);
			out[RTEST_UUID_LEN] = '\0';
			return true;
		}
	}
	return false;
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

int rtest_spawner_start(const char *const *args, const char *const *over)
{
	return rtest_program_start("media-spawner", args, over);
}

int rtest_program_start(const char *name, const char *const *args, const char *const *over)
{
	const char *argv[16];
	posix_spawn_file_actions_t fa;
	struct spawner *s;
	char bin[RTEST_PATH_SZ];
	char **env;
	int n = 0, rc;

	if (nspawners == MAX_SPAWNERS)
		return -1;
	s = &spawners[nspawners];
	snprintf(bin, sizeof(bin), "%s/%s", bindir, name);
	snprintf(s->log, sizeof(s->log), "%s/%s-%d-%d.log", work, name, test_no, nspawners);
	argv[n++] = bin;
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
	rc = posix_spawn(&s->pid, bin, &fa, NULL, (char *const *)(uintptr_t)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc != 0) {
		fprintf(stderr, "%s: cannot start %s: %s\n", prog, bin, strerror(rc));
		return -1;
	}
	return nspawners++;
}

/* Waits up to timeout_ms for spawner i to exit; returns its wait status, or -1 if it still runs. */
int rtest_spawner_wait(int i, int timeout_ms)
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
	st = rtest_spawner_wait(i, 30000);
	if (st == -1) {
		fprintf(stderr, "%s: spawner %d ignored SIGTERM for 30 s; SIGKILL\n", prog,
		        (int)spawners[i].pid);
		kill(spawners[i].pid, SIGKILL);
		st = rtest_spawner_wait(i, 5000);
		return st == -1 ? -1 : -2;
	}
	return st;
}

/* Runs media-spawner --once to the end (bounded); returns its wait status, or -1. */
int rtest_spawner_once(const char *const *over, const char *concurrency)
{
	const char *args[] = { "--once", "--concurrency", concurrency, NULL };
	int i = rtest_spawner_start(args, over), st;

	if (i < 0)
		return -1;
	st = rtest_spawner_wait(i, 90000);
	if (st == -1) {
		fprintf(stderr, "%s: media-spawner --once still runs after 90 s\n", prog);
		spawner_stop(i);
	}
	return st;
}

/* itest_proc_scan's test for rtest_fake_procs: our fake running, or a zombie of it under one of our spawners. */
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
		return strcmp(exe, rt.fake) == 0;
	}
	/* A zombie has no exe: match its name and parent instead. */
	if (strcmp(p->comm, "fake-ffmpeg") == 0 && p->state == 'Z')
		for (int i = 0; i < nspawners; i++)
			ours = ours || (spawners[i].pid > 0 && spawners[i].pid == p->ppid);
	return ours;
}

/* Pids of live processes running our fake ffmpeg, and zombies of it left to one of our spawners. */
int rtest_fake_procs(pid_t *pids, int max)
{
	return itest_proc_scan(is_our_fake, NULL, pids, max);
}

/* ---- the fake's control file and log ---------------------------------------------------------- */

/* Writes the fake's control file (atomically: a reader never sees half of it). */
void rtest_fake_mode(const char *fmt, ...)
{
	char tmp[RTEST_PATH_SZ + 16], path[RTEST_PATH_SZ + 16];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s.mode", rt.fake);
	snprintf(tmp, sizeof(tmp), "%s.mode.tmp", rt.fake);
	f = fopen(tmp, "we");
	CU_ASSERT_FATAL(f != NULL);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_FATAL(rename(tmp, path) == 0);
}

/* Reads the fake's log into runs (by pid). Returns how many, or -1. */
int rtest_read_runs(struct rtest_run *runs, int max)
{
	FILE *f = fopen(rt.fake_log, "re");
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
int rtest_runs_of(const char *uuid)
{
	static struct rtest_run runs[RTEST_MAX_RUNS];
	int n = rtest_read_runs(runs, RTEST_MAX_RUNS), c = 0;

	for (int i = 0; i < n; i++)
		c += strcmp(runs[i].uuid, uuid) == 0;
	return c;
}

/* Waits until the fake has started job uuid; false after timeout_ms. */
bool rtest_wait_run_started(const char *uuid, int timeout_ms)
{
	long long until = itest_now_ms() + timeout_ms;

	while (rtest_runs_of(uuid) == 0) {
		if (itest_now_ms() > until)
			return false;
		itest_sleep_ms(20);
	}
	return true;
}

/* Entries of MEDIA_ROOT/outputs whose name holds uuid (temporary names included). */
int rtest_outputs_of(const char *uuid)
{
	return itest_dir_count(outputs, uuid);
}

/* ---- the API ----------------------------------------------------------------------------------- */

/* Uploads fixture name as an asset of project pid; returns the asset id and its path in rel. */
long long rtest_upload_asset(const char *tok, long long pid, const char *name, char *rel, size_t rlen)
{
	char path[64], file[512];
	const struct itest_req q = {
		.method = "POST", .path = path, .token = tok, .file = file, .field = "asset"
	};
	struct itest_resp r;
	long long id = -1;

	snprintf(file, sizeof(file), "%s/%s", rt.fixtures, name);
	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	(void)itest_send(&q, &r);
	if (r.status == 201) {
		id = itest_member_int(itest_member(r.json, "asset"), "id");
		if (rel != NULL)
			snprintf(rel, rlen, "%s",
			         itest_member_str(r.json, "path") ? itest_member_str(r.json, "path") : "");
	} else {
		fprintf(stderr, "%s: upload of %s: %ld %s\n", prog, name, r.status, r.body ? r.body : "");
	}
	itest_resp_free(&r);
	return id;
}

/* A project of user A holding one asset made from fixture name. */
long long rtest_project_with(const char *name, long long *asset, char *rel, size_t rlen)
{
	long long pid = itest_new_project(rt.tok_a, name, NULL), aid;

	CU_ASSERT_FATAL(pid > 0);
	aid = rtest_upload_asset(rt.tok_a, pid, name, rel, rlen);
	CU_ASSERT_FATAL(aid > 0);
	if (asset != NULL)
		*asset = aid;
	return pid;
}

/* POST /projects/pid/render with body (may be NULL); on 202 the job id goes into uuid. */
long rtest_enqueue(const char *tok, long long pid, const char *body, char uuid[RTEST_UUID_LEN + 1],
                   struct itest_resp *r)
{
	char path[64];

	snprintf(path, sizeof(path), "/projects/%lld/render", pid);
	/* No body is an empty one: "Content-Length: 0" (lighttpd answers 411 to a POST without it). */
	if (itest_json("POST", path, tok, body != NULL ? body : "", r) != 0)
		return -1;
	if (r->status == 202 && uuid != NULL)
		snprintf(uuid, RTEST_UUID_LEN + 1, "%s",
		         itest_jstr(r, "jobId") ? itest_jstr(r, "jobId") : "");
	return r->status;
}

/* Enqueues a job that must be accepted; returns nothing, fails the test otherwise. */
void rtest_enqueue_ok(long long pid, const char *body, char uuid[RTEST_UUID_LEN + 1])
{
	struct itest_resp r;

	long st = rtest_enqueue(rt.tok_a, pid, body, uuid, &r);

	if (st != 202)
		fprintf(stderr, "%s: POST /projects/%lld/render: %ld %s\n", prog, pid, st,
		        r.body ? r.body : "");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(st == 202);
	CU_ASSERT_FATAL(strlen(uuid) == RTEST_UUID_LEN);
}

int rtest_get_job(const char *tok, const char *uuid, struct itest_resp *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	return itest_json("GET", path, tok, NULL, r);
}

bool rtest_terminal(const char *state)
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
		if (rtest_get_job(rt.tok_a, uuid, r) == 0 && r->status == 200 &&
		    rtest_terminal(itest_jstr(r, "state")))
			return true;
		if (itest_now_ms() > until) {
			fprintf(stderr, "%s: job %s not finished after %d ms: %s\n", prog, uuid, timeout_ms,
			        r->body ? r->body : "(no answer)");
			return false;
		}
		itest_resp_free(r);
		itest_sleep_ms(50);
	}
}

/* Asserts job uuid finished with state want, and hands back the last answer in r. */
void rtest_expect_job(const char *uuid, const char *want, int timeout_ms, struct itest_resp *r)
{
	CU_ASSERT_FATAL(wait_job(uuid, timeout_ms, r));
	CU_ASSERT_STRING_EQUAL(itest_jstr(r, "state"), want);
	if (strcmp(itest_jstr(r, "state"), want) != 0)
		fprintf(stderr, "%s: job %s: wanted %s, got %s\n", prog, uuid, want, r->body);
}

/* ---- PostgreSQL --------------------------------------------------------------------------------- */

bool rtest_sql(const char *q, int n, const char *const *params, char *out, size_t outlen)
{
	PGresult *res = PQexecParams(db, q, n, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	          (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "%s: %s: %s", prog, q, PQerrorMessage(db));
	if (out != NULL && outlen > 0)
		snprintf(out, outlen, "%s", ok && PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return ok;
}

/* The first cell of a one-parameter query, copied into out; false on an error or no row. */
static bool sql1(const char *q, const char *p1, char *out, size_t outlen)
{
	const char *params[1] = { p1 };

	return rtest_sql(q, p1 ? 1 : 0, params, out, outlen);
}

long long rtest_sql_count(const char *q, const char *p1)
{
	char v[32];

	return sql1(q, p1, v, sizeof(v)) ? strtoll(v, NULL, 10) : -1;
}

/* ---- fixtures, setup and teardown --------------------------------------------------------------- */

static int make_fixtures(void)
{
	char png[300], mp4[300], wav[300];

	snprintf(rt.fixtures, sizeof(rt.fixtures), "/tmp/mediad-render-XXXXXX");
	if (mkdtemp(rt.fixtures) == NULL)
		return -1;
	snprintf(png, sizeof(png), "%s/still.png", rt.fixtures);
	snprintf(mp4, sizeof(mp4), "%s/clip.mp4", rt.fixtures);
	snprintf(wav, sizeof(wav), "%s/tone.wav", rt.fixtures);
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
			fprintf(stderr, "%s: ffmpeg could not make the fixtures\n", prog);
			return -1;
		}
	}
	return 0;
}

/* Copies the built fake into this run's folder, so its control file is ours alone. */
static int install_fake(void)
{
	const char *top = getenv("abs_top_builddir");
	char self[RTEST_DIR_SZ], built[RTEST_PATH_SZ];
	const char *cp[] = { "cp", built, rt.fake, NULL };
	ssize_t n;

	if (top != NULL && *top != '\0') {
		snprintf(self, sizeof(self), "%s", top);
	} else {
		/* BUILDDIR/tests/integration/test_<name> */
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
	snprintf(bindir, sizeof(bindir), "%s", self);
	if (access(built, X_OK) != 0 || access(spawner_bin, X_OK) != 0) {
		fprintf(stderr, "%s: %s or %s is not built\n", prog, built, spawner_bin);
		return -1;
	}
	snprintf(work, sizeof(work), "%s/render-%d", getenv("MEDIAD_TEST_DIR"), (int)getpid());
	if (mkdir(work, 0755) != 0)
		return -1;
	snprintf(rt.fake, sizeof(rt.fake), "%s/fake-ffmpeg", work);
	snprintf(rt.fake_log, sizeof(rt.fake_log), "%s/fake.log", work);
	snprintf(rt.fake_record, sizeof(rt.fake_record), "%s/fake.record", work);
	if (itest_run(cp) != 0 || chmod(rt.fake, 0755) != 0)
		return -1;
	return 0;
}

/* The harness's environment, libpq, the fake's copy and the fixtures. Returns 0 or -1. */
static int setup(void)
{
	const char *root = getenv("MEDIA_ROOT"), *url = getenv("DATABASE_URL");

	if (root == NULL || url == NULL || getenv("MEDIAD_TEST_DIR") == NULL) {
		fprintf(stderr, "%s: run through the harness (tests/integration/run-lighttpd.sh)\n", prog);
		return -1;
	}
	snprintf(rt.media_root, sizeof(rt.media_root), "%s", root);
	snprintf(outputs, sizeof(outputs), "%s/outputs", root);
	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "%s: %s", prog, PQerrorMessage(db));
		return -1;
	}
	if (install_fake() != 0 || make_fixtures() != 0)
		return -1;
	return 0;
}

/* Removes the fixtures and closes libpq. */
static int clean(void)
{
	const char *names[] = { "still.png", "clip.mp4", "tone.wav", NULL };
	char p[PATH_MAX];

	for (int i = 0; names[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", rt.fixtures, names[i]);
		unlink(p);
	}
	rmdir(rt.fixtures);
	PQfinish(db);
	return 0;
}

void rtest_test_setup(void)
{
	test_no++;
	nspawners = 0;
	unlink(rt.fake_log);
	unlink(rt.fake_record);
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
void rtest_test_teardown(void)
{
	PGresult *res;
	pid_t left[32];
	int n;

	for (int i = 0; i < nspawners; i++) {
		int st = spawner_stop(i);

		/* Spawners that already ended (--once, kill -9) were checked by their test. */
		if (st != 0) {
			fprintf(stderr, "%s: %s did not exit 0 on SIGTERM (status %d)\n", prog,
			        spawners[i].log, st);
			CU_FAIL("media-spawner and media-hooks exit 0 on SIGTERM");
		}
	}
	n = rtest_fake_procs(left, 32);
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
		if (itest_json("DELETE", path, rt.tok_a, NULL, &r) == 0)
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

int rtest_init(const char *name)
{
	prog = name;
	if (itest_init() != 0)
		return -1;
	if (setup() != 0) {
		fprintf(stderr, "%s: set-up failed\n", prog);
		return -1;
	}
	return 0;
}

int rtest_run_and_clean(void)
{
	int rc = itest_run_all();

	clean();
	return rc;
}

pid_t rtest_spawner_pid(int i)
{
	return i >= 0 && i < nspawners ? spawners[i].pid : 0;
}

const char *rtest_spawner_log(int i)
{
	return i >= 0 && i < nspawners ? spawners[i].log : "";
}

void rtest_setup_users(void)
{
	itest_login(rt.tok_a, sizeof(rt.tok_a), email_a, sizeof(email_a), "render-a");
	itest_login(rt.tok_b, sizeof(rt.tok_b), email_b, sizeof(email_b), "render-b");
	snprintf(rt.ffmpeg_env, sizeof(rt.ffmpeg_env), "FFMPEG_PATH=%s", rt.fake);
}
