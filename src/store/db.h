/* db.h: the per-process PostgreSQL connection, prepared statements and reconnection. */
#ifndef MEDIAD_DB_H
#define MEDIAD_DB_H

#include <stdbool.h>

#include "core/err.h"

struct db;
struct pg_result;

/* A prepared statement: registered once, prepared on every (re)connection. */
struct db_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

/*
 * Creates a handle for conninfo; connects lazily. stmts (may be NULL) is a table of n statements
 * that must outlive the handle. Returns NULL on out of memory.
 */
struct db *db_new(const char *conninfo, int connect_timeout, const struct db_stmt *stmts, int n);
void db_free(struct db *db);
/* Connects (or reconnects after a server restart) and prepares. Returns 0 or -1 (logged). */
int db_ensure(struct db *db) __attribute__((warn_unused_result));

/*
 * Runs prepared statement name with text parameters (NULL = SQL NULL). On success returns the
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK), which the caller frees with db_clear.
 * On failure returns NULL and sets *err: MERR_UNAVAILABLE when the server cannot be reached
 * (after one reconnect attempt), MERR_CONFLICT on a unique violation, MERR_NOT_FOUND on a
 * foreign-key violation, MERR_BAD_REQUEST on a check or data error, MERR_INTERNAL otherwise.
 * Only store modules call this: handlers never see libpq types.
 */
struct pg_result *db_exec(struct db *db, const char *name, int nparams, const char *const *params,
                          enum merr *err);
/* Runs literal SQL with parameters (for migrations and one-off statements). Same contract. */
struct pg_result *db_exec_sql(struct db *db, const char *sql, int nparams, const char *const *params,
                              enum merr *err);
void db_clear(struct pg_result *res);
/* Begin/commit/rollback on the current connection. Return MERR_OK or an error as db_exec. */
enum merr db_begin(struct db *db);
enum merr db_commit(struct db *db);
void db_rollback(struct db *db);
/* Round trip to the server: MERR_OK or MERR_UNAVAILABLE. */
enum merr db_ping(struct db *db);
/* The underlying PGconn for modules that need LISTEN or COPY (the spawner). May be NULL. */
struct pg_conn *db_conn(struct db *db);

#endif
