/* migrate.c: the schema migration runner behind `mediactl migrate`. */
#include "config.h"

#include "store/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/db.h"
#include "util/buf.h"

#define MIGRATE_MAX_FILES 1000
#define MIGRATE_MAX_BYTES (4 * 1024 * 1024)
/* An arbitrary constant shared by every migrator of this schema. */
#define MIGRATE_LOCK_KEY "732166001"
/* How long a migration waits for a lock (another migrator's, or a table's), milliseconds. */
#define MIGRATE_LOCK_WAIT_MS "60000"

/* NNN_name.sql: three or more digits, an underscore, [a-z0-9_], ".sql". */
static bool migrate_name_ok(const char *n)
{
	size_t i = 0, len = strlen(n);

	while (n[i] >= '0' && n[i] <= '9')
		i++;
	if (i < 3 || n[i] != '_' || len < 5 || strcmp(n + len - 4, ".sql") != 0)
		return false;
	for (; i < len - 4; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "r");
	char chunk[8192];
	size_t n;
	int rc = -1;

	if (f == NULL) {
		log_error("migrate: %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->len + n > MIGRATE_MAX_BYTES || buf_append(out, chunk, n) != 0) {
			log_error("migrate: %s: too large or out of memory", path);
			goto out;
		}
	}
	rc = ferror(f) ? -1 : 0;
out:
	fclose(f);
	return rc;
}

static bool exec_ok(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		log_error("migrate: %s: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

/*
 * Opens a transaction that holds the migration lock. The lock is the transaction's
 * (pg_advisory_xact_lock): COMMIT or ROLLBACK releases it, so migrating needs no session of its
 * own (it works through a transaction pooler) and a migrator that dies leaves no lock behind. The
 * bounds are the transaction's too: no statement limit (a migration may rewrite a big table), lock
 * waits MIGRATE_LOCK_WAIT_MS, whatever the role or the session says.
 */
static bool tx_begin_locked(PGconn *c)
{
	return exec_ok(c, "BEGIN", "begin") &&
	       exec_ok(c,
	               "SELECT set_config('statement_timeout', '0', true), "
	               "set_config('lock_timeout', '" MIGRATE_LOCK_WAIT_MS "', true)",
	               "bounds") &&
	       exec_ok(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", "lock");
}

int migrate_run(struct db *db, const char *dir, FILE *out)
{
	DIR *d = NULL;
	struct dirent *de;
	char *names[MIGRATE_MAX_FILES];
	size_t nnames = 0, i;
	struct buf path = BUF_INIT, sql = BUF_INIT;
	PGconn *c;
	int applied = 0, rc = -1;

	if (db_ensure(db) != 0)
		return -1;
	c = db_conn(db);
	d = opendir(dir);
	if (d == NULL) {
		log_error("migrate: %s: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!migrate_name_ok(de->d_name))
			continue;
		if (nnames == MIGRATE_MAX_FILES) {
			log_error("migrate: more than %d migrations", MIGRATE_MAX_FILES);
			goto out;
		}
		names[nnames] = strdup(de->d_name);
		if (names[nnames] == NULL)
			goto out;
		nnames++;
	}
	qsort(names, nnames, sizeof(names[0]), cmp_str);

	if (!tx_begin_locked(c) ||
	    !exec_ok(c,
	             "CREATE TABLE IF NOT EXISTS schema_migrations ("
	             " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
	             "schema_migrations") ||
	    !exec_ok(c, "COMMIT", "commit")) {
		exec_ok(c, "ROLLBACK", "rollback");
		goto out;
	}
	for (i = 0; i < nnames; i++) {
		const char *params[1] = { names[i] };
		PGresult *r;
		bool done, failed;

		buf_reset(&path);
		buf_reset(&sql);
		buf_printf(&path, "%s/%s", dir, names[i]);
		if (path.failed || read_file(path.data, &sql) != 0)
			goto out;
		/* Checked under the lock, in the transaction that applies it: a migrator that ran
		 * meanwhile is seen, and the file is applied once. */
		if (!tx_begin_locked(c))
			goto rollback;
		r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, params,
		                 NULL, NULL, 0);
		done = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		failed = PQresultStatus(r) != PGRES_TUPLES_OK;
		PQclear(r);
		if (failed) {
			log_error("migrate: cannot read schema_migrations: %s", PQerrorMessage(c));
			goto rollback;
		}
		if (done) {
			if (!exec_ok(c, "COMMIT", "commit"))
				goto rollback;
			continue;
		}
		/* The file is trusted SQL shipped with the program; it may hold many statements. */
		if (!exec_ok(c, sql.data, names[i]))
			goto rollback;
		r = PQexecParams(c, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, NULL, params,
		                 NULL, NULL, 0);
		failed = PQresultStatus(r) != PGRES_COMMAND_OK;
		PQclear(r);
		if (failed || !exec_ok(c, "COMMIT", "commit"))
			goto rollback;
		fprintf(out, "applied %s\n", names[i]);
		applied++;
	}
	rc = applied;
	goto out;
rollback:
	exec_ok(c, "ROLLBACK", "rollback");
out:
	if (d != NULL)
		closedir(d);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	buf_free(&path);
	buf_free(&sql);
	return rc;
}
