/* listen.c: a daemon's LISTEN connection (listen.h). */
#include "config.h"

#include "store/listen.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "store/db.h"

/* Waits (bounded) for the reply to what was sent on c. false: no reply in time or an error. */
static bool listen_wait(PGconn *c)
{
	double until = clock_mono_s() + LISTEN_WAIT_MS / 1000.0;
	bool ok = true;
	PGresult *r;

	for (;;) {
		struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };

		if (!PQisBusy(c))
			break;
		if (clock_mono_s() >= until || poll(&p, 1, 100) < 0 || PQconsumeInput(c) == 0)
			return false;
	}
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			ok = false;
		PQclear(r);
	}
	return ok;
}

void listen_ensure(struct pg_listen *l, const struct config *cfg, double now, bool may_connect)
{
	char timeout[16];
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { db_session_url(cfg), timeout, l->app, NULL };

	if (l->conn != NULL && PQstatus(l->conn) == CONNECTION_OK)
		return;
	if (!cfg->db_prepared && (cfg->db_direct_url == NULL || cfg->db_direct_url[0] == '\0')) {
		if (!l->polling_only)
			log_info("no db_direct_url: polling every %lld s (db_prepared = off: database_url is "
			         "taken for a transaction pooler, where LISTEN misses notifications)",
			         l->poll_s);
		l->polling_only = true;
		return;
	}
	listen_close(l);
	if (now < l->retry_at || !may_connect)
		return;
	l->retry_at = now + LISTEN_RETRY_S;
	snprintf(timeout, sizeof(timeout), "%lld", cfg->db_connect_timeout);
	l->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(l->conn) != CONNECTION_OK || !PQsendQuery(l->conn, l->sql) || !listen_wait(l->conn))
		listen_close(l);
}

int listen_fd(const struct pg_listen *l)
{
	return l->conn != NULL ? PQsocket(l->conn) : -1;
}

void listen_drain(struct pg_listen *l, void (*fn)(const char *channel, const char *extra, void *ud), void *ud)
{
	PGnotify *n;

	if (l->conn == NULL)
		return;
	if (!PQconsumeInput(l->conn)) {
		listen_close(l);
		return;
	}
	while ((n = PQnotifies(l->conn)) != NULL) {
		fn(n->relname, n->extra, ud);
		PQfreemem(n);
	}
}

void listen_close(struct pg_listen *l)
{
	if (l->conn != NULL)
		PQfinish(l->conn);
	l->conn = NULL;
}
