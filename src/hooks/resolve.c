/* resolve.c: getaddrinfo in a detached thread, so a slow or dead resolver holds one delivery up to
 * its deadline and never the loop (resolve.h). The lookup is shared by the thread and its caller
 * and freed by whichever lets go last. */
#include "config.h"

#include "hooks/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct resolve {
	pthread_mutex_t lock;
	int refs; /* 2 while both the thread and the caller hold it */
	bool done;
	bool abandoned;
	int wake_fd;
	int gai; /* getaddrinfo's answer */
	struct resolve_addrs addrs;
	char host[256];
	struct resolve *ab_prev, *ab_next; /* on the abandoned list while abandoned and running */
};

/* Lookups abandoned while their thread still runs (ab_lock). Lock order: a lookup's lock, then
 * ab_lock. */
static pthread_mutex_t ab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct resolve *ab_head;

static int lookup_getaddrinfo(const char *host, struct resolve_addrs *out);
static resolve_lookup_fn lookup = lookup_getaddrinfo;

void resolve_set_lookup(resolve_lookup_fn fn)
{
	lookup = fn != NULL ? fn : lookup_getaddrinfo;
}

static int lookup_getaddrinfo(const char *host, struct resolve_addrs *out)
{
	struct addrinfo hints, *res = NULL, *ai;
	int gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* No AI_ADDRCONFIG: every address the name has is checked, reachable from here or not. */
	gai = getaddrinfo(host, NULL, &hints, &res);
	out->n = 0;
	for (ai = gai == 0 ? res : NULL; ai != NULL && out->n < RESOLVE_MAX_ADDRS; ai = ai->ai_next)
		if (ai->ai_addrlen <= sizeof(out->addr[0]) &&
		    (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)) {
			memset(&out->addr[out->n], 0, sizeof(out->addr[0]));
			memcpy(&out->addr[out->n++], ai->ai_addr, ai->ai_addrlen);
		}
	if (res != NULL)
		freeaddrinfo(res);
	return gai;
}

/* Drops one reference; the last one frees r. */
static void resolve_unref(struct resolve *r)
{
	int left;

	pthread_mutex_lock(&r->lock);
	left = --r->refs;
	pthread_mutex_unlock(&r->lock);
	if (left == 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
}

static void *resolve_thread(void *arg)
{
	struct resolve *r = arg;
	struct resolve_addrs found;
	bool abandoned;
	ssize_t w;
	int gai;

	found.n = 0;
	gai = lookup(r->host, &found);
	pthread_mutex_lock(&r->lock);
	r->gai = gai;
	r->addrs = found;
	r->done = true;
	abandoned = r->abandoned;
	pthread_mutex_unlock(&r->lock);
	/* abandoned was set before done, so resolve_abandon listed r (under r->lock): unlist it. */
	if (abandoned) {
		pthread_mutex_lock(&ab_lock);
		if (r->ab_prev != NULL)
			r->ab_prev->ab_next = r->ab_next;
		else
			ab_head = r->ab_next;
		if (r->ab_next != NULL)
			r->ab_next->ab_prev = r->ab_prev;
		pthread_mutex_unlock(&ab_lock);
	}
	/* Abandoned or not: the loop may be waiting for a thread to come free. A full pipe already
	 * holds a wake-up. */
	w = write(r->wake_fd, "r", 1);
	(void)w;
	resolve_unref(r);
	return NULL;
}

/* Abandoned lookups still running: of host (NULL: none), and of any host. */
static void abandoned_count(const char *host, int *of_host, int *all)
{
	struct resolve *a;

	*of_host = *all = 0;
	pthread_mutex_lock(&ab_lock);
	for (a = ab_head; a != NULL; a = a->ab_next) {
		(*all)++;
		if (host != NULL && strcmp(a->host, host) == 0)
			(*of_host)++;
	}
	pthread_mutex_unlock(&ab_lock);
}

bool resolve_saturated(void)
{
	int of_host, all;

	abandoned_count(NULL, &of_host, &all);
	return all >= RESOLVE_ABANDONED_MAX;
}

struct resolve *resolve_start(const char *host, int wake_fd)
{
	struct resolve *r;
	pthread_attr_t attr;
	pthread_t t;
	int rc, of_host, all;

	if (strlen(host) >= sizeof(r->host)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	abandoned_count(host, &of_host, &all);
	if (of_host >= RESOLVE_HOST_ABANDONED_MAX) {
		errno = EBUSY;
		return NULL;
	}
	if (all >= RESOLVE_ABANDONED_MAX) {
		errno = EAGAIN;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->wake_fd = wake_fd;
	r->refs = 2;
	pthread_mutex_init(&r->lock, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* getaddrinfo needs little: 256 KiB instead of the default 8 MiB of address space. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = pthread_create(&t, &attr, resolve_thread, r);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		errno = rc;
		return NULL;
	}
	return r;
}

bool resolve_done(struct resolve *r)
{
	bool done;

	pthread_mutex_lock(&r->lock);
	done = r->done;
	pthread_mutex_unlock(&r->lock);
	return done;
}

int resolve_result(struct resolve *r, struct resolve_addrs *out, char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	if (!r->done) {
		snprintf(err, errlen, "still resolving");
		rc = -1;
	} else if (r->gai != 0) {
		snprintf(err, errlen, "%s", gai_strerror(r->gai));
		rc = -1;
	} else if (r->addrs.n == 0) {
		snprintf(err, errlen, "no IPv4 or IPv6 address");
		rc = -1;
	} else {
		*out = r->addrs;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void resolve_abandon(struct resolve *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->abandoned = true;
	if (!r->done) {
		pthread_mutex_lock(&ab_lock);
		r->ab_prev = NULL;
		r->ab_next = ab_head;
		if (ab_head != NULL)
			ab_head->ab_prev = r;
		ab_head = r;
		pthread_mutex_unlock(&ab_lock);
	}
	pthread_mutex_unlock(&r->lock);
	resolve_unref(r);
}
