/* db.c: one lazily opened libpq connection per process, its statements (prepared or unnamed),
 * reconnection. */
#include "config.h"

#include "store/db.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"

struct db {
	char *conninfo;
	int connect_timeout;
	const struct db_stmt *stmts;
	int nstmts;
	/* The table and db_ping_stmt by name (sorted, for bsearch): db_prepared = off sends a
	 * statement's SQL, found here, where on would name a statement prepared on the connection. */
	const struct db_stmt **byname;
	int nbyname;
	bool prepared;
	/* Whether each new connection sets the bounds as session settings: not through a transaction
	 * pooler, where they would stay on a server connection other clients then use. */
	bool session_limits;
	struct db_limits lim;
	PGconn *conn;
	bool in_tx;
	/* While the server cannot be reached: one line when it goes, one a minute while it stays
	 * away, one when it is back (not one per request). */
	bool down;
	long long down_since_ms, down_logged_ms;
	unsigned long down_failures;
};

/* How often "still down" is logged. */
#define DB_DOWN_LOG_MS 60000

const struct db_limits db_default_limits = {
	.statement_timeout_ms = 5000,
	.lock_timeout_ms = 2000,
	.idle_tx_timeout_ms = 10000,
	.tcp_timeout_s = 10,
};

/* Prepared on every connection, whatever the program's table holds: db_ping uses it. */
static const struct db_stmt db_ping_stmt = { "db_ping", "SELECT 1", 0 };

static long long db_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int db_stmt_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct db_stmt *const *)a)->name, (*(const struct db_stmt *const *)b)->name);
}

/* The statement called name, from the table or db_ping_stmt; NULL when there is none. */
static const struct db_stmt *db_stmt_find(const struct db *db, const char *name)
{
	const struct db_stmt key = { name, NULL, 0 };
	const struct db_stmt *kp = &key;
	const struct db_stmt *const *hit;

	hit = bsearch(&kp, db->byname, (size_t)db->nbyname, sizeof(db->byname[0]), db_stmt_cmp);
	return hit != NULL ? *hit : NULL;
}

struct db *db_new(const char *conninfo, int connect_timeout, const struct db_stmt *stmts, int n)
{
	struct db *db = calloc(1, sizeof(*db));
	int i;

	if (db == NULL)
		return NULL;
	if (n < 0 || (stmts == NULL && n > 0))
		n = 0;
	db->conninfo = strdup(conninfo);
	db->byname = calloc((size_t)n + 1, sizeof(db->byname[0]));
	if (db->conninfo == NULL || db->byname == NULL) {
		free(db->conninfo);
		free(db->byname);
		free(db);
		return NULL;
	}
	db->connect_timeout = connect_timeout;
	db->lim = db_default_limits;
	db->prepared = true;
	db->session_limits = true;
	db->stmts = stmts;
	db->nstmts = n;
	db->byname[0] = &db_ping_stmt;
	for (i = 0; i < n; i++)
		db->byname[i + 1] = &stmts[i];
	db->nbyname = n + 1;
	qsort(db->byname, (size_t)db->nbyname, sizeof(db->byname[0]), db_stmt_cmp);
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
	free(db->byname);
	free(db);
}

void db_set_limits(struct db *db, const struct db_limits *lim)
{
	db->lim = *lim;
}

void db_set_prepared(struct db *db, bool prepared)
{
	db->prepared = prepared;
}

void db_set_session_limits(struct db *db, bool on)
{
	db->session_limits = on;
}

/* db_open and db_open_direct: conninfo with the program's settings. */
static struct db *db_open_url(const struct config *cfg, const char *conninfo, const struct db_stmt *stmts,
                              int n)
{
	struct db *db = db_new(conninfo, (int)cfg->db_connect_timeout, stmts, n);
	struct db_limits lim = {
		.statement_timeout_ms = cfg->db_statement_timeout_ms,
		.lock_timeout_ms = cfg->db_lock_timeout_ms,
		.idle_tx_timeout_ms = cfg->db_idle_tx_timeout_ms,
		.tcp_timeout_s = cfg->db_tcp_timeout,
	};

	if (db != NULL) {
		db_set_limits(db, &lim);
		db_set_prepared(db, cfg->db_prepared);
		/* db_prepared off means a transaction pooler may be in front of database_url: the
		 * bounds are then the role's (README "Through PgBouncer"), and ours per reply. */
		db_set_session_limits(db, cfg->db_prepared || conninfo != cfg->database_url);
	}
	return db;
}

struct db *db_open(const struct config *cfg, const struct db_stmt *stmts, int n)
{
	return db_open_url(cfg, cfg->database_url, stmts, n);
}

const char *db_session_url(const struct config *cfg)
{
	return cfg->db_direct_url != NULL && cfg->db_direct_url[0] != '\0' ? cfg->db_direct_url :
	                                                                     cfg->database_url;
}

struct db *db_open_direct(const struct config *cfg, const struct db_stmt *stmts, int n)
{
	return db_open_url(cfg, db_session_url(cfg), stmts, n);
}

void db_error_summary(const struct pg_result *res, char *out, size_t outlen)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *cons = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;

	snprintf(out, outlen, "%s (SQLSTATE %s%s%s)", msg ? msg : "no error message", state ? state : "none",
	         cons ? ", constraint " : "", cons ? cons : "");
}

/* Logs what failed (what) and db_error_summary of res: never the DETAIL. */
static void db_log_failure(const char *what, const PGresult *res)
{
	char summary[DB_ERROR_SUMMARY_MAX];

	db_error_summary(res, summary, sizeof(summary));
	log_error("db: %s: %s", what, summary);
}

static int db_prepare_all(struct db *db)
{
	int i;

	if (!db->prepared) /* each statement goes out unnamed, with its SQL */
		return 0;
	for (i = -1; i < db->nstmts; i++) {
		const struct db_stmt *st = i < 0 ? &db_ping_stmt : &db->stmts[i];
		PGresult *res = PQprepare(db->conn, st->name, st->sql, st->nparams, NULL);
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

		if (!ok) {
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			char what[128];

			snprintf(what, sizeof(what), "prepare %s", st->name);
			db_log_failure(what, res);
			/* 42P05 on a connection we just opened: its server session is shared with
			 * other clients, which only a transaction pooler does. */
			if (state != NULL && strcmp(state, "42P05") == 0)
				log_error(
				        "db: database_url leads to a server session another client "
				        "prepared in: a transaction pooler (PgBouncer without max_prepared_statements)? Set "
				        "db_prepared = off, and db_direct_url for LISTEN and migrations");
		}
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

/* The session's own bounds, as parameters (they are numbers, but SQL is never formatted here). */
static int db_send_session_limits(struct db *db)
{
	char st[24], lk[24], idle[24];
	const char *p[3] = { st, lk, idle };
	PGresult *res;
	bool ok;

	snprintf(st, sizeof(st), "%lld", db->lim.statement_timeout_ms);
	snprintf(lk, sizeof(lk), "%lld", db->lim.lock_timeout_ms);
	snprintf(idle, sizeof(idle), "%lld", db->lim.idle_tx_timeout_ms);
	res = PQexecParams(
	        db->conn,
	        "SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false), "
	        "set_config('idle_in_transaction_session_timeout', $3, false)",
	        3, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		db_log_failure("setting the session's timeouts", res);
	PQclear(res);
	return ok ? 0 : -1;
}

/* Logs a failed connection attempt, rate-limited (libpq's message names host and port, never the
 * password). */
static void db_note_down(struct db *db, const char *msg)
{
	long long now = db_now_ms();
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	if (!db->down) {
		db->down = true;
		db->down_since_ms = db->down_logged_ms = now;
		db->down_failures = 1;
		/* A --once run exits and never reports again. */
		log_error("db: connect: %.*s (the database is down%s)", (int)n, msg,
		          log_once_active() ? "" : "; next report in a minute");
		return;
	}
	db->down_failures++;
	if (now - db->down_logged_ms >= DB_DOWN_LOG_MS) {
		db->down_logged_ms = now;
		log_error("db: still down after %lld s (%lu failed attempts): %.*s",
		          (now - db->down_since_ms) / 1000, db->down_failures, (int)n, msg);
	}
}

int db_ensure(struct db *db)
{
	char timeout[16], idle[24], interval[24], user_timeout[24];
	/* expand_dbname: conninfo may be a URL or "key=value" string; it fills the other keys, and
	 * the keys after it set what the bounds need. libpq ignores the TCP ones on a unix socket. */
	const char *keys[] = { "dbname",           "connect_timeout",  "application_name",
		               "keepalives",       "keepalives_idle",  "keepalives_interval",
		               "keepalives_count", "tcp_user_timeout", NULL };
	const char *vals[] = {
		/* Each program's connections carry its name (pg_stat_activity.application_name). */
		db->conninfo, timeout, log_program(), "1", idle, interval, "3", user_timeout, NULL
	};
	long long tcp = db->lim.tcp_timeout_s > 0 ? db->lim.tcp_timeout_s : 10;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	db_disconnect(db);
	snprintf(timeout, sizeof(timeout), "%d", db->connect_timeout);
	snprintf(idle, sizeof(idle), "%lld", tcp / 2 > 0 ? tcp / 2 : 1);
	snprintf(interval, sizeof(interval), "%lld", tcp / 6 > 0 ? tcp / 6 : 1);
	snprintf(user_timeout, sizeof(user_timeout), "%lld", tcp * 1000);
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db_note_down(db, db->conn ? PQerrorMessage(db->conn) : "out of memory");
		db_disconnect(db);
		return -1;
	}
	if (db->down) {
		log_info("db: connected again after %lld s down (%lu failed attempts)",
		         (db_now_ms() - db->down_since_ms) / 1000, db->down_failures);
		db->down = false;
	}
	PQsetNoticeProcessor(db->conn, db_notice, NULL);
	if ((db->session_limits && db_send_session_limits(db) != 0) || db_prepare_all(db) != 0) {
		db_disconnect(db);
		return -1;
	}
	return 0;
}

/*
 * Notices, without a round trip, a connection the server closed while we were idle (a restart
 * sends a FATAL message and closes): then the socket is readable although we asked nothing.
 * Drops such a connection, so db_ensure opens a new one before anything is sent.
 */
static void db_check_idle(struct db *db)
{
	struct pollfd p;
	int i;

	if (db->conn == NULL || db->in_tx || PQstatus(db->conn) != CONNECTION_OK)
		return;
	p.fd = PQsocket(db->conn);
	p.events = POLLIN;
	/* A few rounds: libpq may take the FATAL message in one read and only see the end of the
	 * connection in the next one (then the first PQconsumeInput still succeeds). */
	for (i = 0; i < 4; i++) {
		PGnotify *n;

		p.revents = 0;
		if (p.fd < 0 || poll(&p, 1, 0) <= 0)
			return;
		if (PQconsumeInput(db->conn) == 0 || PQstatus(db->conn) != CONNECTION_OK) {
			db_disconnect(db);
			return;
		}
		while ((n = PQnotifies(db->conn)) != NULL) /* not ours to act on; LISTEN has its own conn */
			PQfreemem(n);
	}
}

/*
 * Collects the reply to what was just sent, waiting at most until deadline_ms. Returns the last
 * result (the caller frees it), or NULL with *timed_out set when the deadline passed, or NULL
 * when the connection broke.
 */
static PGresult *db_collect(struct db *db, long long deadline_ms, bool *timed_out)
{
	PGresult *last = NULL;

	*timed_out = false;
	for (;;) {
		struct pollfd p;
		long long left;

		while (!PQisBusy(db->conn)) {
			PGresult *r = PQgetResult(db->conn);

			if (r == NULL)
				return last;
			/* Keep an error over a later result; otherwise the newest. */
			if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
				PQclear(r);
				continue;
			}
			PQclear(last);
			last = r;
		}
		left = deadline_ms - db_now_ms();
		if (left <= 0) {
			*timed_out = true;
			PQclear(last);
			return NULL;
		}
		p.fd = PQsocket(db->conn);
		p.events = POLLIN;
		p.revents = 0;
		if (p.fd < 0) {
			PQclear(last);
			return NULL;
		}
		if (poll(&p, 1, left > 1000 ? 1000 : (int)left) < 0 && errno != EINTR) {
			PQclear(last);
			return NULL;
		}
		if (PQconsumeInput(db->conn) == 0) {
			PQclear(last);
			return NULL;
		}
	}
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
	/* 57014: statement_timeout; 55P03: lock_timeout; 25P03: idle transaction ended by the server. */
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0 || strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0 ||
	    strcmp(state, "25P03") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return MERR_UNAVAILABLE;
	return MERR_INTERNAL;
}

/*
 * Sends a statement (name: one of the table, or sql). Returns 0, or -1 with *err. Without
 * prepared statements, name's SQL goes out unnamed; a name the table lacks is then MERR_INTERNAL
 * before anything is sent (prepared, the server says so: MERR_INTERNAL too).
 */
static int db_send(struct db *db, const char *name, const char *sql, int nparams, const char *const *params,
                   enum merr *err)
{
	int sent = 0, attempt;

	if (name != NULL && !db->prepared) {
		const struct db_stmt *st = db_stmt_find(db, name);

		if (st == NULL) {
			log_error("db: %s: no such statement", name);
			*err = MERR_INTERNAL;
			return -1;
		}
		sql = st->sql;
	}
	db_check_idle(db);
	/* A send that fails never reached the server: one more try on a new connection is safe. */
	for (attempt = 0; attempt < 2 && !sent; attempt++) {
		if (db_ensure(db) != 0) {
			*err = MERR_UNAVAILABLE;
			return -1;
		}
		if (name != NULL && db->prepared)
			sent = PQsendQueryPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
		else
			sent = PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
		if (!sent) {
			bool was_tx = db->in_tx;

			log_error("db: %s: send: %s", name ? name : "query", PQerrorMessage(db->conn));
			db_disconnect(db);
			if (was_tx) /* the transaction went with the session */
				break;
		}
	}
	if (!sent) {
		*err = MERR_UNAVAILABLE;
		return -1;
	}
	return 0;
}

/* Waits (bounded) for the reply to what db_send sent. The result, or NULL with *err. */
static PGresult *db_finish(struct db *db, const char *name, enum merr *err)
{
	PGresult *res;
	long long wait_ms;
	bool timed_out;

	wait_ms = db->lim.statement_timeout_ms > 0 ? db->lim.statement_timeout_ms + DB_REPLY_SLACK_MS :
	                                             DB_REPLY_MAX_MS;
	res = db_collect(db, db_now_ms() + wait_ms, &timed_out);
	if (res == NULL) {
		/* No reply in time (a stalled server) or the connection broke after the send: whether
		 * the statement ran is unknown, so it is not sent again. */
		log_error("db: %s: %s", name ? name : "query",
		          timed_out ? "no reply in time; connection dropped" : PQerrorMessage(db->conn));
		db_disconnect(db);
		*err = MERR_UNAVAILABLE;
		return NULL;
	}
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		*err = MERR_OK;
		return res;
	default:
		break;
	}
	*err = db_map_error(res);
	if (*err == MERR_INTERNAL)
		db_log_failure(name ? name : "query", res);
	if (PQstatus(db->conn) != CONNECTION_OK)
		db_disconnect(db);
	PQclear(res);
	return NULL;
}

static PGresult *db_run(struct db *db, const char *name, const char *sql, int nparams,
                        const char *const *params, enum merr *err)
{
	if (db_send(db, name, sql, nparams, params, err) != 0)
		return NULL;
	return db_finish(db, name, err);
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

enum merr db_end(struct db *db, enum merr err)
{
	if (err == MERR_OK)
		return db_commit(db);
	db_rollback(db);
	return err;
}

void db_rollback(struct db *db)
{
	enum merr err;
	PGresult *res;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db->in_tx = false;
		return;
	}
	/* Bounded like any statement; if it fails the connection is dropped, which rolls back too. */
	res = db_run(db, NULL, "ROLLBACK", 0, NULL, &err);
	PQclear(res);
	db->in_tx = false;
}

enum merr db_ping_send(struct db *db)
{
	enum merr err = MERR_OK;

	db_send(db, db_ping_stmt.name, NULL, 0, NULL, &err);
	return err;
}

enum merr db_ping_wait(struct db *db)
{
	enum merr err;
	PGresult *res = db_finish(db, db_ping_stmt.name, &err);

	if (res == NULL)
		return MERR_UNAVAILABLE;
	PQclear(res);
	return MERR_OK;
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
