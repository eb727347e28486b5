/* status.c: `mediactl status`: queue depth, active jobs, spawners and recent failures. */
#include "config.h"

#include "admin/status.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define STATUS_STR_(x) #x
#define STATUS_STR(x) STATUS_STR_(x)
/* Whole seconds from a timestamp column to now() (NULL stays NULL; negative on a clock step). */
#define STATUS_AGE(col) "extract(epoch FROM now() - " col ")::bigint"

/* The states of render_jobs.state, in the order printed. */
static const char *const status_states[] = { "waiting", "active", "completed", "failed", "cancelled" };
#define STATUS_NSTATES ((int)(sizeof(status_states) / sizeof(status_states[0])))

/* clang-format off */
const struct db_stmt status_statements[] = {
	{ "status_counts", "SELECT state, count(*) FROM render_jobs GROUP BY state", 0 },
	/* The oldest ready job, and (before the LIMIT) how many are ready. */
	{ "status_ready",
	  "SELECT id::text, " STATUS_AGE("created_at") ", count(*) OVER () "
	  "FROM render_jobs WHERE state = 'waiting' AND run_after <= now() "
	  "ORDER BY created_at, id LIMIT 1", 0 },
	{ "status_active",
	  "SELECT id::text, lease_owner, attempts, " STATUS_AGE("coalesce(heartbeat_at, started_at)") ", "
	  "preset FROM render_jobs WHERE state = 'active' ORDER BY started_at, id", 0 },
	{ "status_spawners",
	  "SELECT name, host, pid, version, slots, running, " STATUS_AGE("seen_at") ", last_error, "
	  STATUS_AGE("last_error_at") " FROM spawners "
	  "WHERE seen_at > now() - interval '" STATUS_STR(STATUS_SEEN_S) " seconds' ORDER BY name", 0 },
	{ "status_spawners_all",
	  "SELECT count(*), "
	  "count(*) FILTER (WHERE seen_at > now() - interval '" STATUS_STR(STATUS_STALE_S) " seconds'), "
	  STATUS_AGE("max(seen_at)") " FROM spawners", 0 },
	{ "status_failures",
	  "SELECT coalesce(failed_reason, ''), count(*) FROM render_jobs WHERE state = 'failed' "
	  "AND finished_at > now() - interval '1 hour' GROUP BY 1 ORDER BY 2 DESC, 1", 0 },
};
/* clang-format on */
const int status_statements_count = (int)(sizeof(status_statements) / sizeof(status_statements[0]));

/* Prints s with control characters as '?', so one value never becomes two lines; "" as dflt. */
static void status_put(FILE *out, const char *s, const char *dflt)
{
	if (s == NULL || s[0] == '\0')
		s = dflt;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

/* A cell as a count or an age in seconds; -1 when NULL or not a number. */
static long long status_num(struct pg_result *r, int row, int col)
{
	char *end;
	long long v;

	if (PQgetisnull(r, row, col))
		return -1;
	v = strtoll(PQgetvalue(r, row, col), &end, 10);
	return *end == '\0' ? v : -1;
}

/* An age in seconds as "42s", "5m12s", "3h05m" or "2d04h"; "-" when unknown (negative). */
static void status_age(long long s, char *out, size_t n)
{
	if (s < 0)
		snprintf(out, n, "-");
	else if (s < 60)
		snprintf(out, n, "%llds", s);
	else if (s < 3600)
		snprintf(out, n, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, n, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, n, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

/* A clock step can make now() - seen_at negative: that is "just now", not unknown. */
static long long status_clamp(long long age_or_null, bool isnull)
{
	if (isnull)
		return -1;
	return age_or_null < 0 ? 0 : age_or_null;
}

static struct pg_result *status_query(struct db *db, const char *name, enum merr *err)
{
	return db_exec(db, name, 0, NULL, err);
}

static int status_jobs(struct db *db, FILE *out, enum merr *err)
{
	long long n[STATUS_NSTATES] = { 0 };
	struct pg_result *r = status_query(db, "status_counts", err);
	int i, k;

	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++)
		for (k = 0; k < STATUS_NSTATES; k++)
			if (strcmp(PQgetvalue(r, i, 0), status_states[k]) == 0)
				n[k] = status_num(r, i, 1);
	db_clear(r);
	fprintf(out, "jobs:");
	for (k = 0; k < STATUS_NSTATES; k++)
		fprintf(out, "%s %s %lld", k ? "," : "", status_states[k], n[k]);
	fputc('\n', out);
	return 0;
}

/* Prints the oldest ready job; *ready gets how many jobs are ready. */
static int status_ready(struct db *db, FILE *out, long long *ready, enum merr *err)
{
	struct pg_result *r = status_query(db, "status_ready", err);
	char age[32];

	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		*ready = 0;
		fprintf(out, "oldest waiting: none (0 ready)\n");
	} else {
		*ready = status_num(r, 0, 2);
		status_age(status_clamp(status_num(r, 0, 1), PQgetisnull(r, 0, 1)), age, sizeof(age));
		fprintf(out, "oldest waiting: %s (job %s, %lld ready)\n", age, PQgetvalue(r, 0, 0), *ready);
	}
	db_clear(r);
	return 0;
}

static int status_active(struct db *db, FILE *out, enum merr *err)
{
	struct pg_result *r = status_query(db, "status_active", err);
	int i;

	if (r == NULL)
		return -1;
	fprintf(out, "active: %d\n", PQntuples(r));
	for (i = 0; i < PQntuples(r); i++) {
		char age[32];

		status_age(status_clamp(status_num(r, i, 3), PQgetisnull(r, i, 3)), age, sizeof(age));
		fprintf(out, "  job %s owner ", PQgetvalue(r, i, 0));
		status_put(out, PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1), "-");
		fprintf(out, " attempts %s lease age %s preset ", PQgetvalue(r, i, 2), age);
		status_put(out, PQgetvalue(r, i, 4), "-");
		fputc('\n', out);
	}
	db_clear(r);
	return 0;
}

/* Prints the spawners seen lately; *fresh gets how many were seen within STATUS_STALE_S. */
static int status_spawners(struct db *db, FILE *out, long long *fresh, enum merr *err)
{
	struct pg_result *all = NULL, *r = NULL;
	char age[32];
	long long known;
	int i, rc = -1;

	all = status_query(db, "status_spawners_all", err);
	if (all == NULL)
		goto out;
	r = status_query(db, "status_spawners", err);
	if (r == NULL)
		goto out;
	known = status_num(all, 0, 0);
	*fresh = status_num(all, 0, 1);
	fprintf(out, "spawners: %d seen in the last minute (%lld known", PQntuples(r), known);
	if (known > 0) {
		status_age(status_clamp(status_num(all, 0, 2), PQgetisnull(all, 0, 2)), age, sizeof(age));
		fprintf(out, ", last seen %s ago", age);
	}
	fprintf(out, ")\n");
	for (i = 0; i < PQntuples(r); i++) {
		status_age(status_clamp(status_num(r, i, 6), PQgetisnull(r, i, 6)), age, sizeof(age));
		fprintf(out, "  spawner ");
		status_put(out, PQgetvalue(r, i, 0), "-");
		fprintf(out, " host ");
		status_put(out, PQgetvalue(r, i, 1), "-");
		fprintf(out, " pid %s version ", PQgetvalue(r, i, 2));
		status_put(out, PQgetvalue(r, i, 3), "-");
		fprintf(out, " slots %s running %s seen %s ago", PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
		        age);
		if (!PQgetisnull(r, i, 7)) {
			if (PQgetisnull(r, i, 8)) {
				fprintf(out, " last error: ");
			} else {
				status_age(status_clamp(status_num(r, i, 8), false), age, sizeof(age));
				fprintf(out, " last error %s ago: ", age);
			}
			status_put(out, PQgetvalue(r, i, 7), "-");
		}
		fputc('\n', out);
	}
	rc = 0;
out:
	db_clear(all);
	db_clear(r);
	return rc;
}

static int status_failures(struct db *db, FILE *out, enum merr *err)
{
	struct pg_result *r = status_query(db, "status_failures", err);
	long long total = 0;
	int i;

	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++)
		total += status_num(r, i, 1);
	fprintf(out, "failures in the last hour: %lld\n", total);
	for (i = 0; i < PQntuples(r); i++) {
		fprintf(out, "  %s ", PQgetvalue(r, i, 1));
		status_put(out, PQgetvalue(r, i, 0), "(no reason)");
		fputc('\n', out);
	}
	db_clear(r);
	return 0;
}

int status_run(struct db *db, FILE *out)
{
	struct pg_result *r;
	long long ready = 0, fresh = 0;
	enum merr err;
	bool in_tx = false;
	int rc = 1;

	err = db_begin(db);
	if (err != MERR_OK)
		goto out;
	in_tx = true;
	/* One snapshot (and one now()) for every section: the counts and the lists agree. */
	r = db_exec_sql(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL, &err);
	if (r == NULL)
		goto out;
	db_clear(r);
	if (status_jobs(db, out, &err) != 0 || status_ready(db, out, &ready, &err) != 0 ||
	    status_active(db, out, &err) != 0 || status_spawners(db, out, &fresh, &err) != 0 ||
	    status_failures(db, out, &err) != 0)
		goto out;
	rc = 0;
	if (ready > 0 && fresh == 0) {
		fprintf(out, "ALERT: %lld job(s) waiting and no spawner seen for %d minutes\n", ready,
		        STATUS_STALE_S / 60);
		rc = STATUS_ALERT;
	}
out:
	if (in_tx)
		db_rollback(db); /* read only: nothing to keep */
	if (rc == 1)
		fprintf(stderr, "mediactl: status: database error (%s)\n", merr_code(err));
	return rc;
}
