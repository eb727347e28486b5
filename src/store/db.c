/* db.c: one lazily opened libpq connection per process, its prepared statements, reconnection. */
#include "config.h"

#include "store/db.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct db {
	char *conninfo;
	int connect_timeout;
	const struct db_stmt *stmts;
	int nstmts;
	PGconn *conn;
	bool in_tx;
};

struct db *db_new(const char *conninfo, int connect_timeout, const struct db_stmt *stmts, int n)
{
	struct db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	db->conninfo = strdup(conninfo);
	if (db->conninfo == NULL) {
		free(db);
		return NULL;
	}
	db->connect_timeout = connect_timeout;
	db->stmts = stmts;
	db->nstmts = n;
	return db;
}

static void db_disconnect(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->in_tx = false;
}

void db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db->conninfo);
	free(db);
}

/* Prepared on every connection, whatever the program's table holds: db_ping uses it. */
static const struct db_stmt db_ping_stmt = { "db_ping", "SELECT 1", 0 };

static int db_prepare_all(struct db *db)
{
	int i;

	for (i = -1; i < db->nstmts; i++) {
		const struct db_stmt *st = i < 0 ? &db_ping_stmt : &db->stmts[i];
		PGresult *res = PQprepare(db->conn, st->name, st->sql, st->nparams, NULL);
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

		if (!ok)
			log_error("db: prepare %s: %s", st->name, PQresultErrorMessage(res));
		PQclear(res);
		if (!ok)
			return -1;
	}
	return 0;
}

/* Server NOTICEs ("relation already exists, skipping") are not errors: drop them. */
static void db_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int db_ensure(struct db *db)
{
	char timeout[16];
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { db->conninfo, timeout, "mediad", NULL };

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	db_disconnect(db);
	snprintf(timeout, sizeof(timeout), "%d", db->connect_timeout);
	/* expand_dbname: conninfo may be a URL or "key=value" string; it fills the other keys. */
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		/* libpq's message names host and port but never the password. */
		log_error("db: connect: %s", db->conn ? PQerrorMessage(db->conn) : "out of memory");
		db_disconnect(db);
		return -1;
	}
	PQsetNoticeProcessor(db->conn, db_notice, NULL);
	if (db_prepare_all(db) != 0) {
		db_disconnect(db);
		return -1;
	}
	return 0;
}

/* Maps a failed result to our error enum by SQLSTATE class. */
static enum merr db_map_error(PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (state == NULL)
		return MERR_UNAVAILABLE;
	if (strcmp(state, "23505") == 0)
		return MERR_CONFLICT;
	if (strcmp(state, "23503") == 0)
		return MERR_NOT_FOUND;
	if (strncmp(state, "22", 2) == 0 || strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0)
		return MERR_BAD_REQUEST;
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0)
		return MERR_UNAVAILABLE;
	return MERR_INTERNAL;
}

static PGresult *db_run(struct db *db, const char *name, const char *sql, int nparams,
                        const char *const *params, enum merr *err)
{
	PGresult *res = NULL;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		ExecStatusType st;

		if (db_ensure(db) != 0) {
			*err = MERR_UNAVAILABLE;
			return NULL;
		}
		if (name != NULL)
			res = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
		else
			res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
		st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			*err = MERR_OK;
			return res;
		}
		if (PQstatus(db->conn) == CONNECTION_BAD) {
			/* The server restarted or the socket broke. Retry once on a fresh connection, but
			 * never inside a transaction: its earlier statements are gone with the session. */
			bool was_tx = db->in_tx;

			PQclear(res);
			res = NULL;
			db_disconnect(db);
			if (was_tx || attempt == 1) {
				*err = MERR_UNAVAILABLE;
				return NULL;
			}
			continue;
		}
		*err = db_map_error(res);
		if (*err == MERR_INTERNAL)
			log_error("db: %s: %s", name ? name : "query", PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	*err = MERR_UNAVAILABLE;
	return NULL;
}

PGresult *db_exec(struct db *db, const char *name, int nparams, const char *const *params, enum merr *err)
{
	return db_run(db, name, NULL, nparams, params, err);
}

PGresult *db_exec_sql(struct db *db, const char *sql, int nparams, const char *const *params, enum merr *err)
{
	return db_run(db, NULL, sql, nparams, params, err);
}

void db_clear(PGresult *res)
{
	PQclear(res);
}

enum merr db_begin(struct db *db)
{
	enum merr err;
	PGresult *res = db_exec_sql(db, "BEGIN", 0, NULL, &err);

	if (res == NULL)
		return err;
	PQclear(res);
	db->in_tx = true;
	return MERR_OK;
}

enum merr db_commit(struct db *db)
{
	enum merr err;
	PGresult *res = db_exec_sql(db, "COMMIT", 0, NULL, &err);

	db->in_tx = false;
	if (res == NULL)
		return err;
	PQclear(res);
	return MERR_OK;
}

void db_rollback(struct db *db)
{
	PGresult *res;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db->in_tx = false;
		return;
	}
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
	db->in_tx = false;
}

enum merr db_ping(struct db *db)
{
	enum merr err;
	PGresult *res = db_exec(db, db_ping_stmt.name, 0, NULL, &err);

	if (res == NULL)
		return MERR_UNAVAILABLE;
	PQclear(res);
	return MERR_OK;
}

PGconn *db_conn(struct db *db)
{
	return db->conn;
}
