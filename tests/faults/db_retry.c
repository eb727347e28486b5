/* db_retry.c: a write whose reply is lost is not applied twice (issue 10; run by tests/faults/faults.py). */
#include "config.h"

/*
 * usage: db_retry PROXY_CONNINFO DIRECT_CONNINFO PROJECT_ID
 *
 * faults.py puts a TCP proxy in front of PostgreSQL that forwards the INSERT below to the server,
 * lets the server run it, and then closes both sides without passing the reply on. db_exec can then
 * only fail: the outcome is unknown to it, and sending the statement again on a new connection
 * would insert a second row. Afterwards the rows are counted over a direct connection.
 *
 * Exit status: 0 when exactly one row was inserted, 1 when not, 2 on a usage or setup error.
 * Prints what db_exec returned and how many rows the one call inserted.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "store/db.h"

/* events: no unique key beyond its generated id, so a second send is a second row. */
static const struct db_stmt stmts[] = {
	{ "faults_event_insert", "INSERT INTO events (project_id, event_type) VALUES ($1::bigint, 'click')",
	  1 },
};

/* Rows of events for project pid over the direct connection, or -1 (printed). */
static long long count_rows(PGconn *c, const char *pid)
{
	const char *p[1] = { pid };
	PGresult *r = PQexecParams(c, "SELECT count(*) FROM events WHERE project_id = $1::bigint", 1, NULL, p,
	                           NULL, NULL, 0);
	long long n = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "db_retry: count: %s", PQerrorMessage(c));
	PQclear(r);
	return n;
}

int main(int argc, char **argv)
{
	const char *p[1];
	PGconn *direct = NULL;
	struct db *db = NULL;
	struct pg_result *res;
	enum merr err = MERR_OK;
	long long before, after;
	int rc = 2;

	if (argc != 4) {
		fprintf(stderr, "usage: db_retry PROXY_CONNINFO DIRECT_CONNINFO PROJECT_ID\n");
		return 2;
	}
	log_init("db_retry");
	p[0] = argv[3];
	direct = PQconnectdb(argv[2]);
	if (PQstatus(direct) != CONNECTION_OK) {
		fprintf(stderr, "db_retry: direct connection: %s", PQerrorMessage(direct));
		goto out;
	}
	before = count_rows(direct, argv[3]);
	if (before < 0)
		goto out;
	db = db_new(argv[1], 5, stmts, (int)(sizeof(stmts) / sizeof(stmts[0])));
	if (db == NULL)
		goto out;
	/* One call: whatever happens to its reply, the statement may reach the server only once. */
	res = db_exec(db, "faults_event_insert", 1, p, &err);
	printf("db_exec: %s\n", res != NULL ? "succeeded" : merr_code(err));
	db_clear(res);
	after = count_rows(direct, argv[3]);
	if (after < 0)
		goto out;
	printf("rows inserted by one db_exec: %lld\n", after - before);
	rc = after - before == 1 ? 0 : 1;
out:
	db_free(db);
	PQfinish(direct);
	return rc;
}
