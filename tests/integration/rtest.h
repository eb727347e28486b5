/* rtest.h: helpers of the render programs (test_jobs_api, test_spawner): fixtures, the fake
 * ffmpeg and its log, media-spawner processes, the job API, and the per-test teardown. */
#ifndef MEDIAD_RTEST_H
#define MEDIAD_RTEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "itest.h"

#define RTEST_MAX_RUNS 512
#define RTEST_UUID_LEN 36
#define RTEST_DIR_SZ 512   /* a folder we build paths under */
#define RTEST_PATH_SZ 1024 /* a path under one of them */

/*
 * The stack (PostgreSQL, Redis, lighttpd + mediad) comes from the harness; the render programs
 * start media-spawner themselves, as a daemon or with --once, and stop every spawner they started
 * in the per-test teardown. Real renders use the ffmpeg of the generated config; the others use a
 * copy of tests/fake-ffmpeg in this run's own folder (FFMPEG_PATH), steered through
 * "<copy>.mode": the spawner gives ffmpeg a minimal environment, so the fake reads nothing from
 * ours. The fake appends start/end lines to a log that the tests read to see which runs happened,
 * when, and under which spawner. libpq (DATABASE_URL) is used for bulk assertions and for
 * cleaning up between tests.
 */
struct rtest {
	char fixtures[256];              /* inputs made by ffmpeg: still.png, clip.mp4, tone.wav */
	char fake[RTEST_PATH_SZ];        /* the fake ffmpeg copy the spawner runs */
	char fake_log[RTEST_PATH_SZ];    /* its start/end/term lines */
	char fake_record[RTEST_PATH_SZ]; /* its argv, environment and descriptors (mode record=) */
	char media_root[RTEST_DIR_SZ];
	char tok_a[4096], tok_b[4096];  /* users A and B (rtest_setup_users) */
	char ffmpeg_env[PATH_MAX + 16]; /* "FFMPEG_PATH=<fake>" */
};

extern struct rtest rt;

/* Env overrides for a spawner that runs the fake: RTEST_FAKE_ENV("KEY=value", ..., NULL). */
#define RTEST_FAKE_ENV(...) ((const char *const[]){ rt.ffmpeg_env, "RENDER_POLL_INTERVAL=1", __VA_ARGS__ })

/* One run of the fake, from its log. */
struct rtest_run {
	char uuid[RTEST_UUID_LEN + 1];
	long long start_ns, end_ns; /* end_ns 0: no end line (killed) */
	int pid, ppid;
	char how[16];
	bool term; /* a SIGTERM was noted */
};

/* ---- set-up and teardown ------------------------------------------------------------------------ */

/*
 * The program's set-up, before its suite is registered (CUnit does not count a failed suite init
 * as a failure): itest_init, libpq, the fake's copy, the fixtures. prog names the program in
 * messages. Returns 0, or -1 with a message printed.
 */
int rtest_init(const char *prog);
/* Runs the registered suites (itest_run_all), then removes the fixtures. Returns the exit code. */
int rtest_run_and_clean(void);
/* CUnit per-test set-up and teardown: the teardown stops every spawner the test started (a daemon
 * must exit 0 on SIGTERM), kills any fake left behind and cancels the jobs left unfinished. */
void rtest_test_setup(void);
void rtest_test_teardown(void);
/* The first test of each program: users A and B register and log in. */
void rtest_setup_users(void);

/* ---- media-spawner ------------------------------------------------------------------------------ */

/*
 * Starts media-spawner with args (after argv[0]) and env overrides ("KEY=value", NULL-terminated);
 * stdin is /dev/null, stdout and stderr go to a log of its own, and no descriptor of ours leaks
 * into it. Registers it for the teardown. Returns its index, or -1.
 */
int rtest_spawner_start(const char *const *args, const char *const *over);
/*
 * rtest_spawner_start for another program of the build tree (name: "media-hooks"): its log is
 * <name>-<test>-<i>.log in this run's folder, and it shares the spawners' table (wait, pid, the
 * teardown's SIGTERM). Returns its index, or -1.
 */
int rtest_program_start(const char *name, const char *const *args, const char *const *over);
/* Waits up to timeout_ms for spawner i to exit; returns its wait status, or -1 if it still runs. */
int rtest_spawner_wait(int i, int timeout_ms);
/* Runs media-spawner --once to the end (bounded); returns its wait status, or -1. */
int rtest_spawner_once(const char *const *over, const char *concurrency);
/* The pid of spawner i (0 once it was reaped). */
pid_t rtest_spawner_pid(int i);
/* The path of spawner i's log (its stdout and stderr). */
const char *rtest_spawner_log(int i);

/* ---- the fake ffmpeg ---------------------------------------------------------------------------- */

/* Writes the fake's control file (atomically: a reader never sees half of it). */
void rtest_fake_mode(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Pids of live processes running our fake ffmpeg, and zombies of it left to one of our spawners. */
int rtest_fake_procs(pid_t *pids, int max);
/* Reads the fake's log into runs (by pid). Returns how many, or -1. */
int rtest_read_runs(struct rtest_run *runs, int max);
/* How many runs of job uuid the fake has logged. */
int rtest_runs_of(const char *uuid);
/* Waits until the fake has started job uuid; false after timeout_ms. */
bool rtest_wait_run_started(const char *uuid, int timeout_ms);
/* Entries of MEDIA_ROOT/outputs whose name holds uuid (temporary names included). */
int rtest_outputs_of(const char *uuid);

/* ---- the API ------------------------------------------------------------------------------------ */

/* Uploads fixture name as an asset of project pid; returns the asset id and its path in rel. */
long long rtest_upload_asset(const char *tok, long long pid, const char *name, char *rel, size_t rlen);
/* A project of user A holding one asset made from fixture name (fatal on failure). */
long long rtest_project_with(const char *name, long long *asset, char *rel, size_t rlen);
/* POST /projects/pid/render with body (may be NULL); on 202 the job id goes into uuid. Returns the
 * status, or -1 on a transport error. */
long rtest_enqueue(const char *tok, long long pid, const char *body, char uuid[RTEST_UUID_LEN + 1],
                   struct itest_resp *r);
/* Enqueues a job of user A that must be accepted; fails the test (fatal) otherwise. */
void rtest_enqueue_ok(long long pid, const char *body, char uuid[RTEST_UUID_LEN + 1]);
/* GET /jobs/uuid as tok. Returns 0 and fills r, or -1. */
int rtest_get_job(const char *tok, const char *uuid, struct itest_resp *r);
/* Whether a job state is final: completed, failed or cancelled. */
bool rtest_terminal(const char *state);
/* Asserts job uuid (user A) finished within timeout_ms with state want; r holds the last answer. */
void rtest_expect_job(const char *uuid, const char *want, int timeout_ms, struct itest_resp *r);

/* ---- PostgreSQL ---------------------------------------------------------------------------------- */

/*
 * Runs q with n text parameters; the first cell of its first row (or "") goes into out (NULL:
 * not wanted). Returns false on an error (printed), or when a query that returns rows returned
 * none.
 */
bool rtest_sql(const char *q, int n, const char *const *params, char *out, size_t outlen);
/* A count from a query with one text parameter, or -1. */
long long rtest_sql_count(const char *q, const char *p1);

#endif
