/* kv.c: one lazily opened hiredis connection per process, with timeouts; dropped on any error. */
#include "config.h"

#include "store/kv.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct kv {
	char *host;     /* NULL for a unix socket */
	char *path;     /* unix socket path */
	char *password; /* may be NULL */
	int port;
	int dbnum;
	struct timeval timeout;
	redisContext *c;
	bool logged_down; /* log an outage once, not once per request */
};

static int kv_parse_url(struct kv *kv, const char *url, char *err, size_t errlen)
{
	const char *p, *at, *slash, *colon;
	char *end;
	long v;

	if (strncmp(url, "unix:", 5) == 0) {
		p = url + 5;
		while (p[0] == '/' && p[1] == '/')
			p++; /* unix:///path and unix:/path are the same */
		if (*p != '/') {
			snprintf(err, errlen, "redis_url: unix socket path must be absolute");
			return -1;
		}
		kv->path = strdup(p);
		if (kv->path == NULL)
			goto oom;
		end = strchr(kv->path, '?');
		if (end != NULL) {
			*end = '\0';
			if (strncmp(end + 1, "db=", 3) == 0) {
				char *e2;
				errno = 0;
				v = strtol(end + 4, &e2, 10);
				if (errno != 0 || *e2 != '\0' || e2 == end + 4 || v < 0 || v > 1000) {
					snprintf(err, errlen, "redis_url: bad database number");
					return -1;
				}
				kv->dbnum = (int)v;
			}
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "redis_url must start with redis:// or unix:");
		return -1;
	}
	p = url + 8;
	at = strchr(p, '@');
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon != NULL) {
			kv->password = strndup(colon + 1, (size_t)(at - colon - 1));
			if (kv->password == NULL)
				goto oom;
		}
		p = at + 1;
	}
	slash = strchr(p, '/');
	colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
	kv->host = strndup(p, colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p));
	if (kv->host == NULL)
		goto oom;
	if (kv->host[0] == '\0') {
		snprintf(err, errlen, "redis_url: missing host");
		return -1;
	}
	kv->port = 6379;
	if (colon != NULL) {
		errno = 0;
		v = strtol(colon + 1, &end, 10);
		if (errno != 0 || end == colon + 1 || (*end != '\0' && *end != '/') || v < 1 || v > 65535) {
			snprintf(err, errlen, "redis_url: bad port");
			return -1;
		}
		kv->port = (int)v;
	}
	if (slash != NULL && slash[1] != '\0') {
		errno = 0;
		v = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0 || v > 1000) {
			snprintf(err, errlen, "redis_url: bad database number");
			return -1;
		}
		kv->dbnum = (int)v;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

struct kv *kv_new(const char *url, int timeout_ms, char *err, size_t errlen)
{
	struct kv *kv = calloc(1, sizeof(*kv));

	if (kv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	kv->timeout.tv_sec = timeout_ms / 1000;
	kv->timeout.tv_usec = (timeout_ms % 1000) * 1000;
	if (kv_parse_url(kv, url, err, errlen) != 0) {
		kv_free(kv);
		return NULL;
	}
	return kv;
}

static void kv_disconnect(struct kv *kv)
{
	if (kv->c != NULL)
		redisFree(kv->c);
	kv->c = NULL;
}

void kv_free(struct kv *kv)
{
	if (kv == NULL)
		return;
	kv_disconnect(kv);
	free(kv->host);
	free(kv->path);
	free(kv->password);
	free(kv);
}

/* Runs one command on a connected context. Returns the reply or NULL (connection dropped). */
static redisReply *kv_cmd(struct kv *kv, int argc, const char **argv, const size_t *lens)
{
	redisReply *r = redisCommandArgv(kv->c, argc, argv, lens);

	if (r == NULL) {
		if (!kv->logged_down)
			log_error("kv: %s", kv->c->errstr);
		kv->logged_down = true;
		kv_disconnect(kv);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		log_error("kv: %s: %.200s", argv[0], r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static int kv_connect(struct kv *kv)
{
	redisReply *r;

	if (kv->c != NULL)
		return 0;
	if (kv->path != NULL)
		kv->c = redisConnectUnixWithTimeout(kv->path, kv->timeout);
	else
		kv->c = redisConnectWithTimeout(kv->host, kv->port, kv->timeout);
	if (kv->c == NULL || kv->c->err) {
		if (!kv->logged_down)
			log_error("kv: connect: %s", kv->c ? kv->c->errstr : "out of memory");
		kv->logged_down = true;
		kv_disconnect(kv);
		return -1;
	}
	if (redisSetTimeout(kv->c, kv->timeout) != REDIS_OK) {
		kv_disconnect(kv);
		return -1;
	}
	if (kv->password != NULL) {
		const char *argv[] = { "AUTH", kv->password };
		r = kv_cmd(kv, 2, argv, NULL);
		if (r == NULL) {
			kv_disconnect(kv);
			return -1;
		}
		freeReplyObject(r);
	}
	if (kv->dbnum != 0) {
		char n[16];
		const char *argv[] = { "SELECT", n };
		snprintf(n, sizeof(n), "%d", kv->dbnum);
		r = kv_cmd(kv, 2, argv, NULL);
		if (r == NULL) {
			kv_disconnect(kv);
			return -1;
		}
		freeReplyObject(r);
	}
	if (kv->logged_down)
		log_info("kv: connected again");
	kv->logged_down = false;
	return 0;
}

/* Connects if needed and runs one command. Returns the reply (caller frees) or NULL. */
static redisReply *kv_run(struct kv *kv, int argc, const char **argv, const size_t *lens)
{
	if (kv_connect(kv) != 0)
		return NULL;
	return kv_cmd(kv, argc, argv, lens);
}

enum merr kv_ping(struct kv *kv)
{
	const char *argv[] = { "PING" };
	redisReply *r = kv_run(kv, 1, argv, NULL);

	if (r == NULL)
		return MERR_UNAVAILABLE;
	freeReplyObject(r);
	return MERR_OK;
}

enum merr kv_set_ex(struct kv *kv, const char *key, const char *val, size_t len, long long ttl_s)
{
	char ttl[24];
	const char *argv[] = { "SET", key, val, "EX", ttl };
	size_t lens[] = { 3, strlen(key), len, 2, 0 };
	redisReply *r;

	snprintf(ttl, sizeof(ttl), "%lld", ttl_s < 1 ? 1 : ttl_s);
	lens[4] = strlen(ttl);
	r = kv_run(kv, 5, argv, lens);
	if (r == NULL)
		return MERR_UNAVAILABLE;
	freeReplyObject(r);
	return MERR_OK;
}

enum merr kv_exists(struct kv *kv, const char *key, bool *found)
{
	const char *argv[] = { "EXISTS", key };
	redisReply *r = kv_run(kv, 2, argv, NULL);

	if (r == NULL)
		return MERR_UNAVAILABLE;
	*found = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return MERR_OK;
}

enum merr kv_get(struct kv *kv, const char *key, struct buf *out, bool *found)
{
	const char *argv[] = { "GET", key };
	redisReply *r = kv_run(kv, 2, argv, NULL);
	enum merr rc = MERR_OK;

	if (r == NULL)
		return MERR_UNAVAILABLE;
	*found = r->type == REDIS_REPLY_STRING;
	if (*found && buf_append(out, r->str, r->len) != 0)
		rc = MERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

enum merr kv_del(struct kv *kv, const char *key)
{
	const char *argv[] = { "DEL", key };
	redisReply *r = kv_run(kv, 2, argv, NULL);

	if (r == NULL)
		return MERR_UNAVAILABLE;
	freeReplyObject(r);
	return MERR_OK;
}

enum merr kv_incr_window(struct kv *kv, const char *key, long long window_s, long long *count,
                         long long *ttl_s)
{
	char w[24];
	redisReply *r;

	if (kv_connect(kv) != 0)
		return MERR_UNAVAILABLE;
	snprintf(w, sizeof(w), "%lld", window_s);
	/* Pipelined: INCR, EXPIRE NX (only sets a TTL on a fresh key), TTL. One round trip. */
	if (redisAppendCommand(kv->c, "INCR %s", key) != REDIS_OK ||
	    redisAppendCommand(kv->c, "EXPIRE %s %s NX", key, w) != REDIS_OK ||
	    redisAppendCommand(kv->c, "TTL %s", key) != REDIS_OK) {
		kv_disconnect(kv);
		return MERR_UNAVAILABLE;
	}
	for (int i = 0; i < 3; i++) {
		void *reply = NULL;

		if (redisGetReply(kv->c, &reply) != REDIS_OK || reply == NULL) {
			kv_disconnect(kv);
			return MERR_UNAVAILABLE;
		}
		r = reply;
		if (r->type == REDIS_REPLY_ERROR) {
			log_error("kv: rate window: %.200s", r->str);
			freeReplyObject(r);
			/* The remaining replies are still queued: drop the connection to resync. */
			kv_disconnect(kv);
			return MERR_UNAVAILABLE;
		}
		if (i == 0)
			*count = r->integer;
		else if (i == 2)
			*ttl_s = r->integer < 0 ? window_s : r->integer;
		freeReplyObject(r);
	}
	return MERR_OK;
}

enum merr kv_hget(struct kv *kv, const char *key, const char *field, struct buf *out, bool *found)
{
	const char *argv[] = { "HGET", key, field };
	redisReply *r = kv_run(kv, 3, argv, NULL);
	enum merr rc = MERR_OK;

	if (r == NULL)
		return MERR_UNAVAILABLE;
	*found = r->type == REDIS_REPLY_STRING;
	if (*found && buf_append(out, r->str, r->len) != 0)
		rc = MERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

enum merr kv_hset_ttl(struct kv *kv, const char *key, const char *field, const char *val, size_t len,
                      long long ttl_s)
{
	char ttl[24];
	void *reply = NULL;
	int i;

	if (kv_connect(kv) != 0)
		return MERR_UNAVAILABLE;
	snprintf(ttl, sizeof(ttl), "%lld", ttl_s);
	if (redisAppendCommand(kv->c, "HSET %s %s %b", key, field, val, len) != REDIS_OK ||
	    redisAppendCommand(kv->c, "EXPIRE %s %s NX", key, ttl) != REDIS_OK) {
		kv_disconnect(kv);
		return MERR_UNAVAILABLE;
	}
	for (i = 0; i < 2; i++) {
		if (redisGetReply(kv->c, &reply) != REDIS_OK || reply == NULL) {
			kv_disconnect(kv);
			return MERR_UNAVAILABLE;
		}
		freeReplyObject(reply);
	}
	return MERR_OK;
}
