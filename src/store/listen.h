/* listen.h: the LISTEN connection of a daemon (media-spawner, media-hooks): a wake-up hint beside
 * its polling, so it is reopened lazily and its loss costs nothing but latency. */
#ifndef MEDIAD_LISTEN_H
#define MEDIAD_LISTEN_H

#include <stdbool.h>

struct config;
struct pg_conn;

/* The LISTEN connection is reopened at most this often; polling covers for it meanwhile. */
#define LISTEN_RETRY_S 5.0
/* Bound on the reply to the LISTEN statements. */
#define LISTEN_WAIT_MS 2000

struct pg_listen {
	struct pg_conn *conn; /* NULL while there is none */
	double retry_at;      /* monotonic seconds */
	const char *app;      /* application_name */
	const char *sql;      /* "LISTEN a; LISTEN b" */
	long long poll_s;     /* the daemon's polling interval, for the "polling only" log line */
	bool polling_only;    /* no session to LISTEN on (said once); polling alone finds the work */
};

/*
 * Opens the connection (db_direct_url, else database_url; db_connect_timeout) and sends l->sql if
 * there is none and LISTEN_RETRY_S passed since the last try; may_connect false (the database is
 * known to be down) skips the try. now: monotonic seconds. A LISTEN needs a session: with
 * db_prepared off (database_url is taken for a transaction pooler, where a LISTEN lands on a
 * server connection that is soon another client's, so notifications are silently missed) and no
 * db_direct_url, it never connects and logs once that the daemon polls every l->poll_s seconds.
 */
void listen_ensure(struct pg_listen *l, const struct config *cfg, double now, bool may_connect);
/* The socket to poll, or -1. */
int listen_fd(const struct pg_listen *l);
/* Reads what arrived and calls fn for each notification (channel, payload); a broken connection is
 * closed (reopened by a later listen_ensure). */
void listen_drain(struct pg_listen *l, void (*fn)(const char *channel, const char *extra, void *ud),
                  void *ud);
void listen_close(struct pg_listen *l);

#endif
