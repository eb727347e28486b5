/* deliver.h: webhook POSTs through libcurl's multi interface, several at once, each bounded. */
#ifndef MEDIAD_HOOKS_DELIVER_H
#define MEDIAD_HOOKS_DELIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "hooks/outbox.h"
#include "hooks/target.h"

#include <curl/curl.h>

/* One request to send. Strings are copied by libcurl or must outlive the transfer (body). */
struct deliver_req {
	const char *url;
	const char *body; /* the event's payload: must stay until deliver_xfer_free */
	size_t body_len;
	const char *event_id;
	const char *signature; /* the Mediad-Signature value */
	const struct target *target;
	const struct resolve_addrs *addrs; /* the checked addresses: the only ones connected to */
	long timeout_ms;                   /* the whole transfer, connection included */
};

/* A transfer: owned by its slot, handed to the multi handle while it runs. */
struct deliver_xfer {
	void *easy; /* CURL * */
	struct curl_slist *headers, *pin;
	struct resolve_addrs addrs; /* the opensocket callback's list */
	char errbuf[256];           /* CURL_ERROR_SIZE */
	char body[OUTBOX_BODY_MAX + 1];
	size_t body_len;
	bool body_full; /* more came than OUTBOX_BODY_MAX: the transfer was cut there on purpose */
	bool refused;   /* the opensocket callback refused an address */
	bool done;
	/* The result, once done. */
	int status;                       /* 0: no HTTP answer */
	char error[OUTBOX_ERROR_MAX + 1]; /* "" on a 2xx */
};

/* The multi handle. */
struct deliver {
	void *multi; /* CURLM * */
};

/* Initialises libcurl (once per process) and the multi handle. Returns 0 or -1. */
int deliver_init(struct deliver *d) __attribute__((warn_unused_result));
void deliver_free(struct deliver *d);
/*
 * Sets x up for q and adds it to d: POST, Content-Type: application/json, User-Agent
 * mediad-webhooks/<version>, Mediad-Event-Id, Mediad-Signature; only http and https, no redirect,
 * no proxy whatever the environment says, the host pinned to q->addrs (CURLOPT_RESOLVE) and every
 * socket checked against them, timeout_ms for all of it. Returns 0, or -1 with why in err (x is
 * then freed).
 */
int deliver_start(struct deliver *d, struct deliver_xfer *x, const struct deliver_req *q, char *err,
                  size_t errlen) __attribute__((warn_unused_result));
/* Waits for any transfer or extra[0..n) (may be NULL) up to timeout_ms (curl_multi_poll), then
 * moves the transfers on. Returns 0, or -1 on an error of libcurl's (logged). */
int deliver_wait(struct deliver *d, struct curl_waitfd *extra, unsigned n, int timeout_ms);
/* The next transfer that ended since the last call, its result filled in (done), or NULL. */
struct deliver_xfer *deliver_next_done(struct deliver *d);
/*
 * The last gate, libcurl's CURLOPT_OPENSOCKETFUNCTION with ud the transfer: a socket for a
 * connection to one of the addresses checked (x->addrs), else CURL_SOCKET_BAD and x->refused set,
 * whatever libcurl was led to (its own resolver, a pin that did not match, a redirect).
 */
curl_socket_t deliver_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a);
/* Whether x's answer counts as success: a 2xx. */
bool deliver_ok(const struct deliver_xfer *x);
/* Takes x out of d (a running transfer is abandoned) and frees what it holds. Safe on a freed or
 * zeroed x. */
void deliver_xfer_free(struct deliver *d, struct deliver_xfer *x);

#endif
