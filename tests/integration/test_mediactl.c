/* test_mediactl.c: `mediactl gc` and `mediactl status` against the harness's PostgreSQL and media root;
 * `mediactl config --env-names` and `mediactl presets`. */
#include "config.h"

/*
 * Rows go in with libpq (DATABASE_URL) under a user and a project of this run; files are made in
 * MEDIA_ROOT with their mtime set by utimensat; $MEDIACTL runs as a child with the harness's
 * environment (MEDIAD_CONFIG and the variables that repeat it), its stdout and stderr captured.
 * gc works on the whole media root and status on the whole queue, which other programs share:
 * assertions look for this run's own names, gc tests that count use an age bound only this run's
 * files exceed, and status tests empty the spawners table (the test database's) first.
 * Each test's rows and files are removed in the teardown.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

extern char **environ;

#define MAX_MADE 64
#define DIR_SZ 1024                  /* MEDIA_ROOT, our work folder */
#define REL_SZ 256                   /* a path relative to the media root */
#define ABS_SZ (DIR_SZ + REL_SZ + 8) /* one of them joined */
#define OUT_SZ (256 * 1024)
#define DAY (86400L)

static PGconn *db;
static const char *mediactl;
static char media_root[DIR_SZ];
static char work[DIR_SZ];
static char user_id[32], project_id[32];
static int seq;
static unsigned failures_at_setup;

/* What the last run of mediactl printed. */
static char out_buf[OUT_SZ], err_buf[OUT_SZ];

/* Paths (absolute) this test made, removed by the teardown; dirs[i] says rmdir. */
static char made[MAX_MADE][ABS_SZ];
static bool made_dir[MAX_MADE];
static int nmade;

/* ---- PostgreSQL ------------------------------------------------------------------------------- */

/*
 * Runs q with n text parameters; the first cell of the first row (if any) goes into out (may be
 * NULL). Returns false, with the error printed, when the statement fails.
 */
static bool sql(const char *q, int n, const char *const *params, char *out, size_t outlen)
{
	PGresult *res = PQexecParams(db, q, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "test_mediactl: %s: %s", q, PQerrorMessage(db));
	if (ok && out != NULL)
		snprintf(out, outlen, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return ok;
}

static long long sql_count(const char *q)
{
	char v[32];

	return sql(q, 0, NULL, v, sizeof(v)) ? strtoll(v, NULL, 10) : -1;
}

/* Inserts a media row of our user at path rel. Its id goes into id. */
static void media_row(const char *rel, char *id, size_t idlen)
{
	const char *p[2] = { user_id, rel };

	CU_ASSERT_FATAL(sql("INSERT INTO media (user_id, title, kind, mime, path, size_bytes) "
	                    "VALUES ($1, 'gc test', 'image', 'image/png', $2, 1) RETURNING id",
	                    2, p, id, idlen));
}

/*
 * Inserts a render job of our project with state and output_path; extra_cols names more columns
 * and extra_vals gives their values as SQL written by the test, where $5 is x (when x is not
 * NULL). Its id goes into id.
 */
static void job_row(const char *state, const char *output, const char *extra_cols, const char *extra_vals,
                    const char *x, char *id, size_t idlen)
{
	char q[2048];
	const char *p[5] = { user_id, project_id, output, state, x };

	snprintf(q, sizeof(q),
	         "INSERT INTO render_jobs (user_id, project_id, input_path, output_path, preset, state%s%s) "
	         "VALUES ($1, $2, 'uploads/none.png', $3, 'mp4', $4%s%s) RETURNING id::text",
	         extra_cols ? ", " : "", extra_cols ? extra_cols : "", extra_vals ? ", " : "",
	         extra_vals ? extra_vals : "");
	CU_ASSERT_FATAL(sql(q, x ? 5 : 4, p, id, idlen));
}

/* A fresh output_path for a job. */
static void output_name(char *out, size_t n)
{
	snprintf(out, n, "outputs/itest-%d-%d-rendered.mp4", (int)getpid(), ++seq);
}

/* ---- files -------------------------------------------------------------------------------------- */

static void remember(const char *abs, bool dir)
{
	CU_ASSERT_FATAL(nmade < MAX_MADE);
	snprintf(made[nmade], sizeof(made[0]), "%s", abs);
	made_dir[nmade++] = dir;
}

static void abs_of(const char *rel, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", media_root, rel);
}

/* Sets the mtime (and atime) of abs, a link itself when it is one, to age_s seconds ago. */
static void set_age(const char *abs, long age_s)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age_s;
	ts[1] = ts[0];
	CU_ASSERT_FATAL(utimensat(AT_FDCWD, abs, ts, AT_SYMLINK_NOFOLLOW) == 0);
}

/* Makes the file rel (under the media root) of size bytes, last modified age_s seconds ago. */
static void make_file(const char *rel, long age_s, size_t size)
{
	char abs[ABS_SZ], buf[256];
	int fd;

	abs_of(rel, abs, sizeof(abs));
	fd = open(abs, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	CU_ASSERT_FATAL(fd >= 0);
	remember(abs, false);
	memset(buf, 'x', sizeof(buf));
	while (size > 0) {
		size_t n = size < sizeof(buf) ? size : sizeof(buf);

		CU_ASSERT_FATAL(write(fd, buf, n) == (ssize_t)n);
		size -= n;
	}
	close(fd);
	set_age(abs, age_s);
}

/* A name of this run in dir: "<dir>/<prefix>itest-<pid>-<n><suffix>". */
static void name_in(char *out, size_t n, const char *dir, const char *prefix, const char *suffix)
{
	snprintf(out, n, "%s/%sitest-%d-%d%s", dir, prefix, (int)getpid(), ++seq, suffix);
}

static bool exists_rel(const char *rel)
{
	char abs[ABS_SZ];
	struct stat st;

	abs_of(rel, abs, sizeof(abs));
	return lstat(abs, &st) == 0;
}

/* ---- running mediactl ------------------------------------------------------------------------- */

/* Reads file path into buf (NUL-terminated, cut to n - 1 bytes). */
static void slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");
	size_t len = 0;

	buf[0] = '\0';
	if (f == NULL)
		return;
	len = fread(buf, 1, n - 1, f);
	buf[len] = '\0';
	fclose(f);
}

/*
 * Runs $MEDIACTL with args (NULL-terminated) and, when set_env is not NULL, one "KEY=value" that
 * replaces or adds to our environment. Its stdout goes into out_buf and its stderr into err_buf.
 * Returns its exit code, or -1 when it could not run or was killed.
 */
static int ctl(const char *const *args, const char *set_env)
{
	char out_path[ABS_SZ], err_path[ABS_SZ];
	const char *argv[16];
	char **env = environ;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int n = 0, st, rc;

	argv[n++] = mediactl;
	while (args[n - 1] != NULL && n < 15) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	if (set_env != NULL) {
		size_t k = 0, klen = (size_t)(strchr(set_env, '=') - set_env);
		size_t total = 0;

		while (environ[total] != NULL)
			total++;
		env = calloc(total + 2, sizeof(*env));
		CU_ASSERT_FATAL(env != NULL);
		for (size_t i = 0; i < total; i++)
			if (!(strncmp(environ[i], set_env, klen) == 0 && environ[i][klen] == '='))
				env[k++] = environ[i];
		env[k++] = (char *)(uintptr_t)set_env;
	}
	snprintf(out_path, sizeof(out_path), "%s/ctl.out", work);
	snprintf(err_path, sizeof(err_path), "%s/ctl.err", work);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	rc = posix_spawn(&pid, mediactl, &fa, NULL, (char *const *)(uintptr_t)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	if (env != environ)
		free(env);
	if (rc != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	slurp(out_path, out_buf, sizeof(out_buf));
	slurp(err_path, err_buf, sizeof(err_buf));
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* True when text has a line equal to line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len == n && memcmp(p, line, n) == 0)
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

/* True when a line of text matches the POSIX extended regular expression re (anchor it). */
static bool has_line_re(const char *text, const char *re)
{
	char line[4096];

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (itest_matches(line, re))
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

/* "removed temp uploads/..." and the like, built for has_line. */
static bool said(const char *verb, const char *what, const char *rel)
{
	char line[REL_SZ + 64];

	snprintf(line, sizeof(line), "%s %s %s", verb, what, rel);
	return has_line(out_buf, line);
}

/* ---- set-up ----------------------------------------------------------------------------------- */

static int suite_init(void)
{
	const char *root = getenv("MEDIA_ROOT"), *url = getenv("DATABASE_URL"),
	           *dir = getenv("MEDIAD_TEST_DIR");
	char email[128];
	const char *p[1] = { email };

	mediactl = getenv("MEDIACTL");
	if (root == NULL || url == NULL || dir == NULL || mediactl == NULL ||
	    getenv("MEDIAD_CONFIG") == NULL) {
		fprintf(stderr,
		        "test_mediactl: run through the harness (tests/integration/run-lighttpd.sh)\n");
		return -1;
	}
	snprintf(media_root, sizeof(media_root), "%s", root);
	snprintf(work, sizeof(work), "%s/mediactl-%d", dir, (int)getpid());
	if (mkdir(work, 0755) != 0) {
		perror("test_mediactl: mkdir");
		return -1;
	}
	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "test_mediactl: %s", PQerrorMessage(db));
		return -1;
	}
	itest_unique_email(email, sizeof(email), "mediactl");
	if (!sql("INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id", 1, p, user_id,
	         sizeof(user_id)))
		return -1;
	p[0] = user_id;
	if (!sql("INSERT INTO projects (user_id, title) VALUES ($1, 'mediactl') RETURNING id", 1, p,
	         project_id, sizeof(project_id)))
		return -1;
	return 0;
}

static void suite_clean(void)
{
	const char *p[1] = { user_id };
	char path[ABS_SZ];

	(void)sql("DELETE FROM users WHERE id = $1", 1, p, NULL, 0);
	PQfinish(db);
	snprintf(path, sizeof(path), "%s/ctl.out", work);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ctl.err", work);
	unlink(path);
	rmdir(work);
}

static void test_setup(void)
{
	nmade = 0;
	out_buf[0] = err_buf[0] = '\0';
	failures_at_setup = CU_get_number_of_failures();
}

static void test_teardown(void)
{
	const char *p[1] = { user_id };

	for (int i = nmade - 1; i >= 0; i--)
		(void)(made_dir[i] ? rmdir(made[i]) : unlink(made[i]));
	(void)sql("DELETE FROM render_jobs WHERE user_id = $1", 1, p, NULL, 0);
	(void)sql("DELETE FROM media WHERE user_id = $1", 1, p, NULL, 0);
	(void)sql("DELETE FROM spawners WHERE name LIKE 'itest-%'", 0, NULL, NULL, 0);
	if (CU_get_number_of_failures() != failures_at_setup)
		fprintf(stderr, "----- mediactl stdout -----\n%.4000s----- mediactl stderr -----\n%.4000s\n",
		        out_buf, err_buf);
}

/* ---- gc ----------------------------------------------------------------------------------------- */

static void test_gc_removes_old_temp_files(void)
{
	char up[REL_SZ], out[REL_SZ], uuid[64];

	CU_ASSERT_FATAL(sql("SELECT gen_random_uuid()::text", 0, NULL, uuid, sizeof(uuid)));
	name_in(up, sizeof(up), "uploads", ".tmp-", ".part");
	snprintf(out, sizeof(out), "outputs/.tmp-%s-a1.mp4", uuid); /* no such job */
	make_file(up, 2 * 3600, 10);
	make_file(out, 2 * 3600, 10);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "1h", NULL }, NULL), 0);
	CU_ASSERT_FALSE(exists_rel(up));
	CU_ASSERT_FALSE(exists_rel(out));
	CU_ASSERT_TRUE(said("removed", "temp", up));
	CU_ASSERT_TRUE(said("removed", "temp", out));
	CU_ASSERT_TRUE(has_line_re(out_buf, "^gc: [0-9]+ removed \\([0-9]+ bytes\\), [0-9]+ missing rows$"));
}

/* Makes the folder rel under the media root, aged like make_file. */
static void make_dir(const char *rel, long age_s)
{
	char abs[ABS_SZ];

	abs_of(rel, abs, sizeof(abs));
	CU_ASSERT_FATAL(mkdir(abs, 0750) == 0);
	remember(abs, true);
	set_age(abs, age_s);
}

static void test_gc_removes_rendition_folders_nothing_protects(void)
{
	char uuid[64], uuid2[64], tmp[REL_SZ], sub[REL_SZ], seg[REL_SZ], orphan[REL_SZ], jpg[REL_SZ];

	CU_ASSERT_FATAL(sql("SELECT gen_random_uuid()::text", 0, NULL, uuid, sizeof(uuid)));
	CU_ASSERT_FATAL(sql("SELECT gen_random_uuid()::text", 0, NULL, uuid2, sizeof(uuid2)));
	/* A killed spawner's temp folder of an hls job (no such job), and the folder of a
	 * rendition no row names: both go, with what they hold. */
	snprintf(tmp, sizeof(tmp), "outputs/.tmp-%s-a1", uuid);
	snprintf(sub, sizeof(sub), "outputs/.tmp-%.40s-a1/240p", uuid);
	snprintf(seg, sizeof(seg), "outputs/.tmp-%.40s-a1/240p/seg_00000.m4s", uuid);
	snprintf(orphan, sizeof(orphan), "outputs/%.40s", uuid2);
	snprintf(jpg, sizeof(jpg), "outputs/%.40s/poster.jpg", uuid2);
	make_dir(tmp, 2 * 3600);
	make_dir(sub, 2 * 3600);
	make_file(seg, 2 * 3600, 10);
	make_dir(orphan, 2 * 3600);
	make_file(jpg, 2 * 3600, 10);
	{
		char abs[ABS_SZ];

		abs_of(tmp, abs, sizeof(abs));
		set_age(abs, 2 * 3600);
		abs_of(orphan, abs, sizeof(abs));
		set_age(abs, 2 * 3600);
	}
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "1h", NULL }, NULL), 0);
	CU_ASSERT_FALSE(exists_rel(tmp));
	CU_ASSERT_FALSE(exists_rel(orphan));
	CU_ASSERT_TRUE(said("removed", "temp", tmp));
	CU_ASSERT_TRUE(said("removed", "orphan", orphan));
}

static void test_gc_removes_old_orphans_in_both_folders(void)
{
	char up[REL_SZ], out[REL_SZ];

	name_in(up, sizeof(up), "uploads", "", ".png");
	name_in(out, sizeof(out), "outputs", "", "-rendered.mp4");
	make_file(up, 2 * 3600, 10);
	make_file(out, 2 * 3600, 10);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "1h", NULL }, NULL), 0);
	CU_ASSERT_FALSE(exists_rel(up));
	CU_ASSERT_FALSE(exists_rel(out));
	CU_ASSERT_TRUE(said("removed", "orphan", up));
	CU_ASSERT_TRUE(said("removed", "orphan", out));
}

static void test_gc_summary_counts_files_and_bytes(void)
{
	char a[REL_SZ], b[REL_SZ];

	/* Older than any other program's file: only these two count. */
	name_in(a, sizeof(a), "uploads", "", ".png");
	name_in(b, sizeof(b), "outputs", ".tmp-", ".part");
	make_file(a, 400 * DAY, 100);
	make_file(b, 400 * DAY, 23);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "365d", NULL }, NULL), 0);
	CU_ASSERT_TRUE(has_line_re(out_buf, "^gc: 2 removed \\(123 bytes\\), [0-9]+ missing rows$"));
}

static void test_gc_keeps_files_younger_than_the_bound(void)
{
	char tmp[REL_SZ], orphan[REL_SZ];

	name_in(tmp, sizeof(tmp), "outputs", ".tmp-", ".part");
	name_in(orphan, sizeof(orphan), "uploads", "", ".png");
	make_file(tmp, 30 * 60, 10);
	make_file(orphan, 30 * 60, 10);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "1h", NULL }, NULL), 0);
	CU_ASSERT_TRUE(exists_rel(tmp));
	CU_ASSERT_TRUE(exists_rel(orphan));
	CU_ASSERT_PTR_NULL(strstr(out_buf, tmp));
	CU_ASSERT_PTR_NULL(strstr(out_buf, orphan));
}

static void test_gc_default_bound_is_one_hour(void)
{
	char old[REL_SZ], young[REL_SZ];

	name_in(old, sizeof(old), "uploads", "", ".png");
	name_in(young, sizeof(young), "uploads", "", ".png");
	make_file(old, 3600 + 120, 10);
	make_file(young, 3600 - 120, 10);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", NULL }, NULL), 0);
	CU_ASSERT_FALSE(exists_rel(old));
	CU_ASSERT_TRUE(exists_rel(young));
}

static void test_gc_keeps_a_file_a_media_row_names_however_old(void)
{
	char plain[REL_SZ], tmpname[REL_SZ], id[32];

	name_in(plain, sizeof(plain), "uploads", "", ".png");
	name_in(tmpname, sizeof(tmpname), "outputs", ".tmp-", ".part"); /* a row may name even that */
	make_file(plain, 3650 * DAY, 10);
	make_file(tmpname, 3650 * DAY, 10);
	media_row(plain, id, sizeof(id));
	media_row(tmpname, id, sizeof(id));
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "60", NULL }, NULL), 0);
	CU_ASSERT_TRUE(exists_rel(plain));
	CU_ASSERT_TRUE(exists_rel(tmpname));
	CU_ASSERT_PTR_NULL(strstr(out_buf, plain));
	CU_ASSERT_PTR_NULL(strstr(out_buf, tmpname));
}

static void test_gc_keeps_output_of_waiting_and_active_jobs_until_they_end(void)
{
	char waiting_out[REL_SZ], active_out[REL_SZ], active_tmp[REL_SZ];
	char waiting_id[64], active_id[64];
	const char *p[2] = { waiting_id, active_id };

	output_name(waiting_out, sizeof(waiting_out));
	output_name(active_out, sizeof(active_out));
	job_row("waiting", waiting_out, NULL, NULL, NULL, waiting_id, sizeof(waiting_id));
	job_row("active", active_out, "started_at", "now()", NULL, active_id, sizeof(active_id));
	/* The spawner's temp file of the active job's attempt. */
	snprintf(active_tmp, sizeof(active_tmp), "outputs/.tmp-%s-a1.mp4", active_id);
	make_file(waiting_out, 2 * DAY, 10);
	make_file(active_out, 2 * DAY, 10);
	make_file(active_tmp, 2 * DAY, 10);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "1h", NULL }, NULL), 0);
	CU_ASSERT_TRUE(exists_rel(waiting_out));
	CU_ASSERT_TRUE(exists_rel(active_out));
	CU_ASSERT_TRUE(exists_rel(active_tmp));

	/* Once the jobs ended without a media row, the same files are orphans. */
	CU_ASSERT_FATAL(sql("UPDATE render_jobs SET state = 'failed', finished_at = now() "
	                    "WHERE id IN ($1::uuid, $2::uuid)",
	                    2, p, NULL, 0));
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "1h", NULL }, NULL), 0);
	CU_ASSERT_FALSE(exists_rel(waiting_out));
	CU_ASSERT_FALSE(exists_rel(active_out));
	CU_ASSERT_FALSE(exists_rel(active_tmp));
	CU_ASSERT_TRUE(said("removed", "orphan", waiting_out));
	CU_ASSERT_TRUE(said("removed", "temp", active_tmp));
}

static void test_gc_never_follows_or_removes_symlinks(void)
{
	char target[ABS_SZ], link_rel[REL_SZ], tmp_link_rel[REL_SZ], abs[ABS_SZ];
	struct stat st;
	int fd;

	/* An old file outside the media folders: a followed link would expose it. */
	snprintf(target, sizeof(target), "%s/target-%d", work, ++seq);
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	remember(target, false);
	set_age(target, 30 * DAY);
	name_in(link_rel, sizeof(link_rel), "uploads", "", ".png");
	name_in(tmp_link_rel, sizeof(tmp_link_rel), "outputs", ".tmp-", ".part");
	abs_of(link_rel, abs, sizeof(abs));
	CU_ASSERT_FATAL(symlink(target, abs) == 0);
	remember(abs, false);
	set_age(abs, 30 * DAY);
	abs_of(tmp_link_rel, abs, sizeof(abs));
	CU_ASSERT_FATAL(symlink(target, abs) == 0);
	remember(abs, false);
	set_age(abs, 30 * DAY);

	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "1h", NULL }, NULL), 0);
	CU_ASSERT_TRUE(exists_rel(link_rel));
	CU_ASSERT_TRUE(exists_rel(tmp_link_rel));
	CU_ASSERT_EQUAL(stat(target, &st), 0);
	CU_ASSERT_PTR_NULL(strstr(out_buf, link_rel));
	CU_ASSERT_PTR_NULL(strstr(out_buf, tmp_link_rel));
}

static void test_gc_leaves_folders_hidden_and_odd_names(void)
{
	char dir_rel[REL_SZ], abs[ABS_SZ];
	char odd[REL_SZ], hidden[REL_SZ];

	name_in(dir_rel, sizeof(dir_rel), "uploads", "", ".d");
	abs_of(dir_rel, abs, sizeof(abs));
	CU_ASSERT_FATAL(mkdir(abs, 0755) == 0);
	remember(abs, true);
	set_age(abs, 30 * DAY);
	snprintf(odd, sizeof(odd), "uploads/itest %d odd name.png", (int)getpid());
	name_in(hidden, sizeof(hidden), "outputs", ".", ".part"); /* hidden, not ".tmp-" */
	make_file(odd, 30 * DAY, 10);
	make_file(hidden, 30 * DAY, 10);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "1h", NULL }, NULL), 0);
	CU_ASSERT_TRUE(exists_rel(dir_rel));
	CU_ASSERT_TRUE(exists_rel(odd));
	CU_ASSERT_TRUE(exists_rel(hidden));
}

static void test_gc_dry_run_lists_and_removes_nothing(void)
{
	char tmp[REL_SZ], orphan[REL_SZ];

	name_in(tmp, sizeof(tmp), "uploads", ".tmp-", ".part");
	name_in(orphan, sizeof(orphan), "outputs", "", ".mp4");
	make_file(tmp, 400 * DAY, 7);
	make_file(orphan, 400 * DAY, 5);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--dry-run", "--older-than", "365d", NULL }, NULL),
	                0);
	CU_ASSERT_TRUE(exists_rel(tmp));
	CU_ASSERT_TRUE(exists_rel(orphan));
	CU_ASSERT_TRUE(said("would remove", "temp", tmp));
	CU_ASSERT_TRUE(said("would remove", "orphan", orphan));
	CU_ASSERT_TRUE(has_line_re(out_buf, "^gc: 2 would be removed \\(12 bytes\\), [0-9]+ missing rows$"));
	CU_ASSERT_PTR_NULL(strstr(out_buf, "removed temp"));
	CU_ASSERT_PTR_NULL(strstr(out_buf, "removed orphan"));
}

static void test_gc_reports_rows_whose_file_is_missing(void)
{
	char rel[REL_SZ], present[REL_SZ], id[32], id2[32], line[REL_SZ + 64];
	const char *p[1] = { id };

	name_in(rel, sizeof(rel), "uploads", "", ".png");
	name_in(present, sizeof(present), "uploads", "", ".png");
	make_file(present, 10, 10);
	media_row(rel, id, sizeof(id));
	media_row(present, id2, sizeof(id2));
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", NULL }, NULL), 0);
	snprintf(line, sizeof(line), "missing: media %s %s", id, rel);
	CU_ASSERT_TRUE(has_line(out_buf, line));
	CU_ASSERT_PTR_NULL(strstr(out_buf, present));
	CU_ASSERT_TRUE(
	        has_line_re(out_buf, "^gc: [0-9]+ removed \\([0-9]+ bytes\\), [1-9][0-9]* missing rows$"));
	/* Reported, not fixed. */
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM media WHERE path LIKE 'uploads/itest-%'"), 2);
	CU_ASSERT_TRUE(sql("SELECT 1 FROM media WHERE id = $1", 1, p, NULL, 0));
}

static void test_gc_refuses_a_bad_older_than_with_exit_2(void)
{
	static const struct {
		const char *arg;
		const char *says; /* a part of the message */
	} cases[] = {
		{ "59", "at least 60s" },      { "30s", "at least 60s" },
		{ "0", "at least 60s" },       { "abc", "not a duration" },
		{ "5x", "not a duration" },    { "", "not a duration" },
		{ "-100", "not a duration" },  { " 100", "not a duration" },
		{ "1m30s", "not a duration" }, { "2hh", "not a duration" },
		{ "3651d", "not a duration" }, { "99999999999999999999", "not a duration" },
	};
	char orphan[REL_SZ];

	name_in(orphan, sizeof(orphan), "uploads", "", ".png");
	make_file(orphan, 400 * DAY, 10);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ctl((const char *const[]){ "gc", "--older-than", cases[i].arg, NULL }, NULL);

		if (rc != 2 || strstr(err_buf, cases[i].says) == NULL)
			fprintf(stderr, "test_mediactl: --older-than '%s': exit %d, stderr %s\n",
			        cases[i].arg, rc, err_buf);
		CU_ASSERT_EQUAL(rc, 2);
		CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, cases[i].says));
		CU_ASSERT_EQUAL(out_buf[0], '\0');
	}
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", NULL }, NULL), 2);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than=10", NULL }, NULL), 2);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--bogus", NULL }, NULL), 2);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "extra", NULL }, NULL), 2);
	/* Nothing ran: the orphan is still there. The floor itself is accepted, and removes it. */
	CU_ASSERT_TRUE(exists_rel(orphan));
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than", "1m", NULL }, NULL), 0);
	CU_ASSERT_FALSE(exists_rel(orphan));
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "gc", "--older-than=60", "--dry-run", NULL }, NULL), 0);
}

static void test_gc_exits_1_and_removes_nothing_without_the_database(void)
{
	char orphan[REL_SZ];

	name_in(orphan, sizeof(orphan), "uploads", "", ".png");
	make_file(orphan, 400 * DAY, 10);
	CU_ASSERT_EQUAL(
	        ctl((const char *const[]){ "gc", NULL }, "DATABASE_URL=host=/nonexistent dbname=none"), 1);
	CU_ASSERT_TRUE(exists_rel(orphan));
	CU_ASSERT_NOT_EQUAL(err_buf[0], '\0');
	CU_ASSERT_PTR_NULL(strstr(out_buf, "gc: "));
}

/* ---- status ------------------------------------------------------------------------------------- */

/* Empties the spawners table (the test database's) so the test decides which ones exist. */
static void no_spawners(void)
{
	CU_ASSERT_FATAL(sql("DELETE FROM spawners", 0, NULL, NULL, 0));
}

static void spawner_row(const char *name, const char *seen_ago, const char *last_error, const char *error_ago)
{
	const char *p[4] = { name, seen_ago, last_error, error_ago };

	CU_ASSERT_FATAL(
	        sql("INSERT INTO spawners (name, host, pid, version, slots, running, seen_at, last_error, "
	            "last_error_at) VALUES ($1, 'h1', 4242, '9.9.9', 4, 1, now() - $2::interval, $3, "
	            "now() - $4::interval)",
	            4, p, NULL, 0));
}

static void test_status_counts_jobs_per_state(void)
{
	static const char *const states[] = { "waiting", "active", "completed", "failed", "cancelled" };
	char id[64], out[REL_SZ], want[256];
	long long n[5];

	for (int i = 0; i < 5; i++) {
		output_name(out, sizeof(out));
		job_row(states[i], out, NULL, NULL, NULL, id, sizeof(id));
	}
	output_name(out, sizeof(out));
	job_row("failed", out, NULL, NULL, NULL, id, sizeof(id));
	for (int i = 0; i < 5; i++) {
		char v[32];

		CU_ASSERT_FATAL(sql("SELECT count(*) FROM render_jobs WHERE state = $1", 1, &states[i], v,
		                    sizeof(v)));
		n[i] = strtoll(v, NULL, 10);
	}
	CU_ASSERT_TRUE(n[3] >= 2);
	CU_ASSERT_TRUE(ctl((const char *const[]){ "status", NULL }, NULL) >= 0);
	snprintf(want, sizeof(want),
	         "jobs: waiting %lld, active %lld, completed %lld, failed %lld, cancelled %lld", n[0], n[1],
	         n[2], n[3], n[4]);
	CU_ASSERT_TRUE(has_line(out_buf, want));
}

static void test_status_shows_the_oldest_ready_job(void)
{
	char old_id[64], future_id[64], new_id[64], out[REL_SZ], re[256];

	output_name(out, sizeof(out));
	job_row("waiting", out, "created_at, run_after",
	        "now() - interval '100 days', now() - interval '1 hour'", NULL, old_id, sizeof(old_id));
	/* Older, but not ready: its run_after is ahead. */
	output_name(out, sizeof(out));
	job_row("waiting", out, "created_at, run_after",
	        "now() - interval '200 days', now() + interval '1 hour'", NULL, future_id, sizeof(future_id));
	output_name(out, sizeof(out));
	job_row("waiting", out, NULL, NULL, NULL, new_id, sizeof(new_id));
	CU_ASSERT_TRUE(ctl((const char *const[]){ "status", NULL }, NULL) >= 0);
	snprintf(re, sizeof(re), "^oldest waiting: 100d00h \\(job %s, [0-9]+ ready\\)$", old_id);
	CU_ASSERT_TRUE(has_line_re(out_buf, re));
	CU_ASSERT_PTR_NULL(strstr(out_buf, future_id));
}

static void test_status_lists_active_jobs_with_lease_age(void)
{
	char beat_id[64], nobeat_id[64], out[REL_SZ], re[512], owner[64];

	snprintf(owner, sizeof(owner), "itest-owner-%d", (int)getpid());
	output_name(out, sizeof(out));
	job_row("active", out, "attempts, heartbeat_at, started_at, lease_owner, lease_until",
	        "2, now() - interval '7 seconds', now() - interval '1 hour', $5, now() + interval '30 seconds'",
	        owner, beat_id, sizeof(beat_id));
	/* No heartbeat yet: the lease's age counts from started_at. */
	output_name(out, sizeof(out));
	job_row("active", out, "attempts, started_at, lease_owner",
	        "1, now() - interval '2 hours', 'itest-other'", NULL, nobeat_id, sizeof(nobeat_id));
	CU_ASSERT_TRUE(ctl((const char *const[]){ "status", NULL }, NULL) >= 0);
	snprintf(re, sizeof(re), "^  job %s owner %s attempts 2 lease age ([7-9]|1[0-9])s preset mp4$",
	         beat_id, owner);
	CU_ASSERT_TRUE(has_line_re(out_buf, re));
	snprintf(re, sizeof(re), "^  job %s owner itest-other attempts 1 lease age 2h00m preset mp4$",
	         nobeat_id);
	CU_ASSERT_TRUE(has_line_re(out_buf, re));
	CU_ASSERT_TRUE(has_line_re(out_buf, "^active: [0-9]+$"));
}

static void test_status_alerts_when_jobs_wait_and_no_spawner_is_seen(void)
{
	char id[64], out[REL_SZ], want[128];
	long long ready;

	no_spawners();
	spawner_row("itest-gone", "3 minutes", NULL, NULL);
	output_name(out, sizeof(out));
	job_row("waiting", out, "run_after", "now() - interval '5 minutes'", NULL, id, sizeof(id));
	ready = sql_count("SELECT count(*) FROM render_jobs WHERE state = 'waiting' AND run_after <= now()");
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "status", NULL }, NULL), 3);
	snprintf(want, sizeof(want), "ALERT: %lld job(s) waiting and no spawner seen for 2 minutes", ready);
	CU_ASSERT_TRUE(has_line(out_buf, want));
	CU_ASSERT_TRUE(has_line_re(
	        out_buf, "^spawners: 0 seen in the last minute \\(1 known, last seen 3m0[0-9]s ago\\)$"));
}

static void test_status_spawner_seen_within_2_minutes_means_no_alert(void)
{
	char id[64], out[REL_SZ];

	no_spawners();
	spawner_row("itest-quiet", "90 seconds", NULL, NULL);
	output_name(out, sizeof(out));
	job_row("waiting", out, NULL, NULL, NULL, id, sizeof(id));
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "status", NULL }, NULL), 0);
	CU_ASSERT_PTR_NULL(strstr(out_buf, "ALERT"));
	/* Seen, but not within the last minute: not listed. */
	CU_ASSERT_PTR_NULL(strstr(out_buf, "spawner itest-quiet"));
}

static void test_status_lists_a_fresh_spawner_and_exits_0(void)
{
	char id[64], out[REL_SZ], name[64], re[512];

	no_spawners();
	snprintf(name, sizeof(name), "itest-sp-%d", (int)getpid());
	spawner_row(name, "1 second", "disk\nfull", "5 minutes");
	spawner_row("itest-old", "10 minutes", NULL, NULL);
	output_name(out, sizeof(out));
	job_row("waiting", out, NULL, NULL, NULL, id, sizeof(id));
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "status", NULL }, NULL), 0);
	snprintf(re, sizeof(re),
	         "^  spawner %s host h1 pid 4242 version 9\\.9\\.9 slots 4 running 1 seen [0-9]s ago "
	         "last error 5m0[0-9]s ago: disk\\?full$",
	         name);
	CU_ASSERT_TRUE(has_line_re(out_buf, re));
	CU_ASSERT_TRUE(has_line_re(
	        out_buf, "^spawners: 1 seen in the last minute \\(2 known, last seen [0-9]s ago\\)$"));
	CU_ASSERT_PTR_NULL(strstr(out_buf, "itest-old"));
	CU_ASSERT_PTR_NULL(strstr(out_buf, "ALERT"));
}

static void test_status_groups_last_hour_failures_by_reason(void)
{
	char id[64], out[REL_SZ], reason[64], odd[64], want[128];

	snprintf(reason, sizeof(reason), "itest reason %d", (int)getpid());
	snprintf(odd, sizeof(odd), "itest\nodd %d", (int)getpid());
	for (int i = 0; i < 3; i++) {
		output_name(out, sizeof(out));
		/* Two within the hour; the third is older and not counted. */
		job_row("failed", out, "failed_reason, finished_at",
		        i < 2 ? "$5, now() - interval '10 minutes'" : "$5, now() - interval '2 hours'",
		        reason, id, sizeof(id));
	}
	output_name(out, sizeof(out));
	job_row("failed", out, "failed_reason, finished_at", "$5, now() - interval '1 minute'", odd, id,
	        sizeof(id));
	CU_ASSERT_TRUE(ctl((const char *const[]){ "status", NULL }, NULL) >= 0);
	snprintf(want, sizeof(want), "  2 %s", reason);
	CU_ASSERT_TRUE(has_line(out_buf, want));
	/* One line per reason, whatever it holds. */
	snprintf(want, sizeof(want), "  1 itest?odd %d", (int)getpid());
	CU_ASSERT_TRUE(has_line(out_buf, want));
	CU_ASSERT_TRUE(has_line_re(out_buf, "^failures in the last hour: [0-9]+$"));
}

static void test_status_exits_1_without_the_database(void)
{
	CU_ASSERT_EQUAL(
	        ctl((const char *const[]){ "status", NULL }, "DATABASE_URL=host=/nonexistent dbname=none"),
	        1);
	CU_ASSERT_NOT_EQUAL(err_buf[0], '\0');
}

/* ---- config --env-names, presets --------------------------------------------------------------- */

/* The first line of text into out. */
static void first_line(const char *text, char *out, size_t n)
{
	snprintf(out, n, "%.*s", (int)strcspn(text, "\n"), text);
}

static void test_config_env_names_lists_every_setting_whatever_the_environment_holds(void)
{
	char config_out[OUT_SZ], line[128];
	int lines = 0;

	CU_ASSERT_EQUAL_FATAL(ctl((const char *const[]){ "config", NULL }, NULL), 0);
	snprintf(config_out, sizeof(config_out), "%s", out_buf);
	/* A value mediactl config would refuse does not matter: nothing is read. */
	CU_ASSERT_EQUAL_FATAL(ctl((const char *const[]){ "config", "--env-names", NULL }, "TOKEN_TTL=abc"),
	                      0);
	CU_ASSERT_EQUAL(err_buf[0], '\0');
	CU_ASSERT_TRUE(has_line(out_buf, "DATABASE_URL"));
	CU_ASSERT_TRUE(has_line(out_buf, "STREAM_MODE"));
	CU_ASSERT_TRUE(has_line(out_buf, "CORS_ORIGINS"));
	CU_ASSERT_TRUE(has_line(out_buf, "CORS_ORIGIN")); /* the deprecated name is read too */
	CU_ASSERT_FALSE(has_line(out_buf, "MEDIAD_CONFIG"));
	/* Each name is one mediactl config names, and each setting it prints is listed. */
	for (const char *p = out_buf; *p != '\0'; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0')) {
		char env[160];

		first_line(p, line, sizeof(line));
		CU_ASSERT_TRUE(itest_matches(line, "^[A-Z][A-Z0-9_]*$"));
		snprintf(env, sizeof(env), "env %s:", line);
		if (strcmp(line, "CORS_ORIGIN") != 0)
			CU_ASSERT_PTR_NOT_NULL(strstr(config_out, env));
		lines++;
	}
	for (const char *p = config_out; *p != '\0'; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0'))
		lines--;
	CU_ASSERT_EQUAL(lines, 1); /* the settings, and CORS_ORIGIN */
}

static void test_presets_lists_each_preset_with_its_inputs(void)
{
	CU_ASSERT_EQUAL_FATAL(ctl((const char *const[]){ "presets", NULL }, "MEDIAD_CONFIG=/nonexistent"), 0);
	CU_ASSERT_TRUE(has_line(out_buf, "mp4 mp4 video image,video,audio"));
	CU_ASSERT_TRUE(has_line(out_buf, "thumbnail jpg image image,video"));
}

/* A PCM WAV (8 kHz, mono, 16 bit) of ms milliseconds of silence at abs. */
static void make_wav(const char *abs, unsigned ms)
{
	unsigned data = ms * 16, i;
	unsigned char h[44] =
	        "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data";
	FILE *f = fopen(abs, "wb");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	remember(abs, false);
	for (i = 0; i < 4; i++) {
		h[4 + i] = (unsigned char)((data + 36) >> (8 * i));
		h[40 + i] = (unsigned char)(data >> (8 * i));
	}
	CU_ASSERT_EQUAL(fwrite(h, 1, sizeof(h), f), sizeof(h));
	for (i = 0; i < data; i++)
		fputc(0, f);
	CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
}

static void test_presets_argv_prints_the_spawners_argv_one_argument_a_line(void)
{
	char in[ABS_SZ], out[ABS_SZ], want[ABS_SZ + 8], line[ABS_SZ];

	snprintf(in, sizeof(in), "%s/in.png", work);
	snprintf(out, sizeof(out), "%s/out.mp4", work);
	/* --kind: no ffprobe (the file need not exist). */
	CU_ASSERT_EQUAL_FATAL(
	        ctl((const char *const[]){ "presets", "--argv", "mp4", in, out, "--kind", "image", NULL },
	            NULL),
	        0);
	first_line(out_buf, line, sizeof(line));
	CU_ASSERT_TRUE(itest_matches(line, "^(/.*/)?ffmpeg$"));
	snprintf(want, sizeof(want), "file:%s", in);
	CU_ASSERT_TRUE(has_line(out_buf, want));
	CU_ASSERT_TRUE(has_line(out_buf, "-loop"));
	CU_ASSERT_TRUE(has_line(out_buf, "-progress"));
	snprintf(want, sizeof(want), "%s\n", out);
	CU_ASSERT_TRUE(strlen(out_buf) >= strlen(want) &&
	               strcmp(out_buf + strlen(out_buf) - strlen(want), want) == 0);
	/* The input probed, as an upload is: a 1.5 s WAV is audio, and its length bounds the output. */
	snprintf(in, sizeof(in), "%s/in.wav", work);
	make_wav(in, 1500);
	CU_ASSERT_EQUAL_FATAL(ctl((const char *const[]){ "presets", "--argv", "mp4", in, out, NULL }, NULL),
	                      0);
	CU_ASSERT_TRUE(has_line(out_buf, "color=c=black:s=640x360:r=25"));
	CU_ASSERT_TRUE(has_line(out_buf, "1.500"));
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "presets", "--argv", "mp4", in, out, "--duration-ms",
	                                           "2000", NULL },
	                    NULL),
	                0);
	CU_ASSERT_TRUE(has_line(out_buf, "2.000"));
}

static void test_presets_argv_refuses_what_it_cannot_build(void)
{
	char in[ABS_SZ];

	snprintf(in, sizeof(in), "%s/in.wav", work);
	make_wav(in, 500);
	/* The command line: exit 2. */
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "presets", "--argv", "nosuch", in, "/tmp/o", NULL }, NULL),
	                2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "mp4, thumbnail"));
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "presets", "--argv", "mp4", in, NULL }, NULL), 2);
	CU_ASSERT_EQUAL(
	        ctl((const char *const[]){ "presets", "--argv", "mp4", in, "/tmp/o", "--kind", "text", NULL },
	            NULL),
	        2);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "presets", "--argv", "mp4", in, "/tmp/o", "--duration-ms",
	                                           "-1", NULL },
	                    NULL),
	                2);
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "presets", "--argv", "mp4", in, "/tmp/o\nx", NULL }, NULL),
	                2);
	/* The input or the preset: exit 1, nothing printed. */
	CU_ASSERT_EQUAL(
	        ctl((const char *const[]){ "presets", "--argv", "thumbnail", in, "/tmp/o", NULL }, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_buf, "does not take audio"));
	CU_ASSERT_EQUAL(out_buf[0], '\0');
	CU_ASSERT_EQUAL(ctl((const char *const[]){ "presets", "--argv", "mp4", "/nonexistent/in.png",
	                                           "/tmp/o", NULL },
	                    NULL),
	                1);
	CU_ASSERT_EQUAL(out_buf[0], '\0');
}

int main(void)
{
	CU_pSuite s;
	int rc;

	if (itest_init() != 0)
		return 1;
	/* Here, not as the suite's init: CUnit does not count a failed suite init as a failure. */
	if (suite_init() != 0) {
		fprintf(stderr, "test_mediactl: set-up failed\n");
		return 1;
	}
	s = CU_add_suite_with_setup_and_teardown("mediactl", NULL, NULL, test_setup, test_teardown);
	CU_add_test(s, "gc removes old temp files", test_gc_removes_old_temp_files);
	CU_add_test(s, "gc removes old orphans in uploads/ and outputs/",
	            test_gc_removes_old_orphans_in_both_folders);
	CU_add_test(s, "gc removes rendition folders nothing protects",
	            test_gc_removes_rendition_folders_nothing_protects);
	CU_add_test(s, "gc's summary counts files and bytes", test_gc_summary_counts_files_and_bytes);
	CU_add_test(s, "gc keeps files younger than the bound", test_gc_keeps_files_younger_than_the_bound);
	CU_add_test(s, "gc's default bound is one hour", test_gc_default_bound_is_one_hour);
	CU_add_test(s, "gc keeps a file a media row names, however old",
	            test_gc_keeps_a_file_a_media_row_names_however_old);
	CU_add_test(s, "gc keeps the output of waiting and active jobs until they end",
	            test_gc_keeps_output_of_waiting_and_active_jobs_until_they_end);
	CU_add_test(s, "gc never follows or removes symbolic links",
	            test_gc_never_follows_or_removes_symlinks);
	CU_add_test(s, "gc leaves folders, hidden and odd names",
	            test_gc_leaves_folders_hidden_and_odd_names);
	CU_add_test(s, "gc --dry-run lists and removes nothing", test_gc_dry_run_lists_and_removes_nothing);
	CU_add_test(s, "gc reports rows whose file is missing", test_gc_reports_rows_whose_file_is_missing);
	CU_add_test(s, "gc refuses a bad --older-than with exit 2",
	            test_gc_refuses_a_bad_older_than_with_exit_2);
	CU_add_test(s, "gc exits 1 and removes nothing without the database",
	            test_gc_exits_1_and_removes_nothing_without_the_database);
	CU_add_test(s, "status counts jobs per state", test_status_counts_jobs_per_state);
	CU_add_test(s, "status shows the oldest ready job", test_status_shows_the_oldest_ready_job);
	CU_add_test(s, "status lists active jobs with their lease age",
	            test_status_lists_active_jobs_with_lease_age);
	CU_add_test(s, "status alerts (exit 3) when jobs wait and no spawner is seen",
	            test_status_alerts_when_jobs_wait_and_no_spawner_is_seen);
	CU_add_test(s, "status: a spawner seen within 2 minutes means no alert",
	            test_status_spawner_seen_within_2_minutes_means_no_alert);
	CU_add_test(s, "status lists a fresh spawner and exits 0",
	            test_status_lists_a_fresh_spawner_and_exits_0);
	CU_add_test(s, "status groups the last hour's failures by reason",
	            test_status_groups_last_hour_failures_by_reason);
	CU_add_test(s, "status exits 1 without the database", test_status_exits_1_without_the_database);
	CU_add_test(s, "config --env-names lists every setting, whatever the environment holds",
	            test_config_env_names_lists_every_setting_whatever_the_environment_holds);
	CU_add_test(s, "presets lists each preset with its inputs",
	            test_presets_lists_each_preset_with_its_inputs);
	CU_add_test(s, "presets --argv prints the spawner's argv, one argument a line",
	            test_presets_argv_prints_the_spawners_argv_one_argument_a_line);
	CU_add_test(s, "presets --argv refuses what it cannot build",
	            test_presets_argv_refuses_what_it_cannot_build);
	rc = itest_run_all();
	suite_clean();
	return rc;
}
