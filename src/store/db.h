/* db.h: the per-process PostgreSQL connection, its statements and reconnection. */
#ifndef MEDIAD_DB_H
#define MEDIAD_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct db;
struct pg_result;

/*
 * A statement of a program's table, run by name. With db_prepared on (the default) every one is
 * prepared on each (re)connection; off, none is: db_exec sends the named statement's SQL unnamed
 * (PQsendQueryParams), which a transaction pooler (PgBouncer < 1.21, pool_mode = transaction)
 * passes through, where a statement prepared on one server connection is missing on the next.
 */
struct db_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

/*
 * Creates a handle for conninfo; connects lazily; prepares statements (db_set_prepared). stmts
 * (may be NULL) is a table of n statements, with distinct names, that must outlive the handle; it
 * is indexed by name here. Returns NULL on out of memory.
 */
struct db *db_new(const char *conninfo, int connect_timeout, const struct db_stmt *stmts, int n);
void db_free(struct db *db);

/*
 * The bounds every connection gets (issue 10: nothing may wait on PostgreSQL without a limit).
 * The first three are set in the session on connect; 0 there means "no limit" (migrations).
 * Behind a transaction pooler (PgBouncer, pool_mode = transaction) the session is not ours: the
 * settings land on whichever server connection served that statement, and the next statement may
 * run on another one. They are still sent (the same values on each, so harmless), but there the
 * bounds belong on the server side as well: PgBouncer's per-database connect_query, or
 * ALTER ROLE ... SET statement_timeout (and lock_timeout, idle_in_transaction_session_timeout).
 * Our own reply deadline below bounds every wait either way.
 * Besides them, a statement's reply is awaited at most statement_timeout_ms + DB_REPLY_SLACK_MS on
 * our side (a stalled backend cannot cancel itself), and never more than DB_REPLY_MAX_MS when
 * statement_timeout_ms is 0; the connection is then dropped and the call fails MERR_UNAVAILABLE.
 * tcp_timeout_s sets TCP keepalives and tcp_user_timeout (TCP connections only).
 */
struct db_limits {
	long long statement_timeout_ms;
	long long lock_timeout_ms;
	long long idle_tx_timeout_ms;
	long long tcp_timeout_s;
};
#define DB_REPLY_SLACK_MS 1000
#define DB_REPLY_MAX_MS (6LL * 3600 * 1000)
/* The defaults db_new starts with: 5 s statements, 2 s lock waits, 10 s idle transactions, 10 s TCP. */
extern const struct db_limits db_default_limits;
/* Sets the bounds; they apply from the next (re)connection, so call it before the first query. */
void db_set_limits(struct db *db, const struct db_limits *lim);
struct config;
/* Prepared statements (true, db_new's default) or unnamed ones; from the next (re)connection,
 * so call it before the first query. */
void db_set_prepared(struct db *db, bool prepared);
/* Whether each new connection sets the db_limits bounds as session settings (db_new: yes;
 * db_open: not when db_prepared is off, i.e. through a transaction pooler). */
void db_set_session_limits(struct db *db, bool on);
/* db_new with the program's settings: database_url, db_connect_timeout, db_prepared and the db_*
 * bounds. */
struct db *db_open(const struct config *cfg, const struct db_stmt *stmts, int n);
/* The URL of work that needs a session of its own (LISTEN, session advisory locks: migrations):
 * db_direct_url, or database_url when that is empty. Borrowed from cfg. */
const char *db_session_url(const struct config *cfg);
/* db_open on db_session_url: for migrations, which hold a session advisory lock. */
struct db *db_open_direct(const struct config *cfg, const struct db_stmt *stmts, int n);
/* Connects (or reconnects after a server restart) and prepares. Returns 0 or -1 (logged). */
int db_ensure(struct db *db) __attribute__((warn_unused_result));

/*
 * Runs statement name of the table with text parameters (NULL = SQL NULL). On success returns the
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK), which the caller frees with db_clear.
 * On failure returns NULL and sets *err: MERR_UNAVAILABLE when the server cannot be reached, a
 * bound above ran out (statement or lock timeout, or no reply in time), MERR_CONFLICT on a unique
 * violation, MERR_NOT_FOUND on a foreign-key violation, MERR_BAD_REQUEST on a check or data
 * error, MERR_INTERNAL otherwise (a name missing from the table among them: logged). Only store modules call this: handlers never see libpq types.
 *
 * A statement is sent at most once. Before sending, a connection the server has closed while we
 * were idle (a restart) is noticed without a round trip and replaced; a send that fails is retried
 * once on a new connection, since the server never got it. But once a statement has gone out, a
 * lost reply is MERR_UNAVAILABLE and nothing is re-sent: the server may have committed it, and a
 * second send would record a view twice or claim a second job. The caller decides; after a COMMIT
 * whose reply was lost the outcome is unknown and must be read back.
 */
struct pg_result *db_exec(struct db *db, const char *name, int nparams, const char *const *params,
                          enum merr *err) __attribute__((warn_unused_result));
/* Runs literal SQL with parameters (for migrations and one-off statements). Same contract. */
struct pg_result *db_exec_sql(struct db *db, const char *sql, int nparams, const char *const *params,
                              enum merr *err) __attribute__((warn_unused_result));
void db_clear(struct pg_result *res);
/* Room for a db_error_summary line (longer ones are cut). */
#define DB_ERROR_SUMMARY_MAX 512
/*
 * What a failed result says, for a log line: its primary message, SQLSTATE and constraint name,
 * never its DETAIL, which quotes row values ("Failing row contains (...)": a webhook's secret,
 * a user's data). Every log line of db.c is made by it. res NULL: "no error message".
 */
void db_error_summary(const struct pg_result *res, char *out, size_t outlen);
/* Begin/commit/rollback on the current connection. Return MERR_OK or an error as db_exec. */
enum merr db_begin(struct db *db) __attribute__((warn_unused_result));
enum merr db_commit(struct db *db) __attribute__((warn_unused_result));
void db_rollback(struct db *db);
/* Ends the transaction db_begin opened: COMMIT when err is MERR_OK, and its outcome is returned
 * (MERR_UNAVAILABLE: unknown, read it back); ROLLBACK otherwise, and err is returned. */
enum merr db_end(struct db *db, enum merr err) __attribute__((warn_unused_result));
/* Round trip to the server: MERR_OK or MERR_UNAVAILABLE. */
enum merr db_ping(struct db *db) __attribute__((warn_unused_result));
/* db_ping in two halves, so a caller can do something else while the server answers (GET /healthz
 * pings Redis meanwhile). Call db_ping_wait only after db_ping_send returned MERR_OK, and nothing
 * else on db in between. */
enum merr db_ping_send(struct db *db) __attribute__((warn_unused_result));
enum merr db_ping_wait(struct db *db) __attribute__((warn_unused_result));
/* The underlying PGconn for modules that need LISTEN or COPY (the spawner). May be NULL. */
struct pg_conn *db_conn(struct db *db);

#endif
