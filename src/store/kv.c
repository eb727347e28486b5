/* kv.c: one lazily opened hiredis connection per process, with timeouts; dropped on any error, and
 * reopened at most once a second while Redis is down. */
#include "config.h"

#include "store/kv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "http/query.h"

struct kv {
	/* redis_url is empty: no Redis at all. Every call fails at once, quietly, and nothing ever
	 * connects; the callers take the same paths as while Redis is down. */
	bool off;
	char *host;     /* NULL for a unix socket */
	char *path;     /* unix socket path */
	char *password; /* may be NULL */
	int port;
	int dbnum;
	struct timeval timeout;
	redisContext *c;
	char server_id[64]; /* run_id of the server c is connected to: new at every Redis start */
	char version[32];   /* redis_version of that server */
	/* An outage is logged when it starts, once a minute while it lasts, and when it ends. */
	bool down;
	long long down_since_ms, retry_at_ms, summary_at_ms;
	unsigned long long skipped; /* calls answered without Redis since the last line */
	char why[160];              /* the latest failure */
	bool quiet;                 /* kv_check: the caller says it in its own words */
	unsigned long long conns;   /* connections made so far: tracking is per connection */
	char gen_sha[41];           /* SHA1 of kv_gen_script, loaded on connection gen_sha_conn */
	unsigned long long gen_sha_conn;
	/* Client-side caching (kv_track_*): the invalidation connection, subscribed to
	 * __redis__:invalidate, whose CLIENT ID the command connection redirects to. */
	struct {
		int nprefix;
		char *prefix[KV_TRACK_PREFIX_MAX];
		kv_inval_fn *fn;
		void *arg;
		redisContext *c;            /* NULL: not connected */
		long long id;               /* its CLIENT ID */
		unsigned long long on_conn; /* kv->conns when CLIENT TRACKING went on; 0: off */
		unsigned long long epoch;   /* moves on whenever what was cached may be stale */
		long long retry_at_ms;      /* after a failure, no new try before this */
		char server_id[64];         /* run_id of the server it is connected to */
		bool refused_logged;        /* the server refused tracking: said once */
		bool pong_owed;             /* a backlog was suspected: wait for our PING's answer */
	} track;
};

static long long kv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes s[0..n) into out for a message, quoted, cut at 40 bytes, anything unprintable as '?'. */
static void kv_url_quote(char *out, size_t outlen, const char *s, size_t n)
{
	char tmp[44];
	size_t i, k = 0;

	for (i = 0; i < n && k < 40; i++)
		tmp[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (i < n) {
		tmp[k - 3] = '.';
		tmp[k - 2] = '.';
		tmp[k - 1] = '.';
	}
	tmp[k] = '\0';
	snprintf(out, outlen, "\"%s\"", tmp);
}

/* Parses s[0..n) as 1*DIGIT no greater than max into *out: no sign, no space, no other byte. */
static bool kv_url_number(const char *s, size_t n, long max, long *out)
{
	long v = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

/* A host name or IPv4 address: letters, digits, '-', '.' and '_' only. */
static bool kv_url_host_name(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

/* The unix: form, p just after "unix:". Returns 0 or -1 with err set. */
static int kv_url_unix(const char *p, struct kv_url *out, char *err, size_t errlen)
{
	char q[48];
	size_t n;
	long v;

	while (p[0] == '/' && p[1] == '/')
		p++; /* unix:///path and unix:/path are the same */
	if (*p != '/') {
		snprintf(err, errlen,
		         "redis_url: the unix socket path must be absolute (unix:/path/to/redis.sock)");
		return -1;
	}
	n = strcspn(p, "?#");
	if (p[n - 1] == '/') {
		snprintf(err, errlen, "redis_url: the unix socket path names a folder, not a socket");
		return -1;
	}
	if (n > KV_SOCKET_PATH_MAX) {
		snprintf(err, errlen, "redis_url: the unix socket path is longer than %d bytes",
		         KV_SOCKET_PATH_MAX);
		return -1;
	}
	if (p[n] == '#' || (p[n] == '?' && strncmp(p + n + 1, "db=", 3) != 0)) {
		kv_url_quote(q, sizeof(q), p + n, strlen(p + n));
		snprintf(err, errlen, "redis_url: unexpected %s after the socket path (only ?db=N)", q);
		return -1;
	}
	if (p[n] == '?') {
		if (!kv_url_number(p + n + 4, strlen(p + n + 4), KV_DB_MAX, &v)) {
			kv_url_quote(q, sizeof(q), p + n + 4, strlen(p + n + 4));
			snprintf(err, errlen, "redis_url: bad database number %s (0 to %d, digits only)", q,
			         KV_DB_MAX);
			return -1;
		}
		out->dbnum = (int)v;
	}
	out->path = strndup(p, n);
	if (out->path == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The host and port of a redis:// URL, s[0..n). Returns 0 or -1 with err set. */
static int kv_url_host_port(const char *s, size_t n, struct kv_url *out, char *err, size_t errlen)
{
	const char *end = s + n, *host = s, *after;
	char q[48], addr[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	size_t hlen;
	long v;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL) {
			snprintf(err, errlen, "redis_url: '[' without ']' around the IPv6 address");
			return -1;
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		addr[0] = '\0';
		if (hlen < sizeof(addr)) {
			memcpy(addr, host, hlen);
			addr[hlen] = '\0';
		}
		if (hlen >= sizeof(addr) || inet_pton(AF_INET6, addr, bin) != 1) {
			kv_url_quote(q, sizeof(q), host, hlen);
			snprintf(err, errlen, "redis_url: %s is not an IPv6 address", q);
			return -1;
		}
		after = close + 1;
		if (after < end && *after != ':') {
			snprintf(err, errlen,
			         "redis_url: unexpected characters after ']' (a port is written ]:6379)");
			return -1;
		}
	} else {
		after = memchr(s, ':', n);
		if (after == NULL)
			after = end;
		hlen = (size_t)(after - s);
		if (after < end && memchr(after + 1, ':', (size_t)(end - after - 1)) != NULL) {
			snprintf(err, errlen,
			         "redis_url: an IPv6 address must be in brackets (redis://[::1]:6379)");
			return -1;
		}
		if (hlen == 0) {
			snprintf(err, errlen, "redis_url: missing host");
			return -1;
		}
		if (hlen > KV_HOST_MAX || !kv_url_host_name(s, hlen)) {
			kv_url_quote(q, sizeof(q), s, hlen);
			snprintf(err, errlen,
			         "redis_url: bad host %s (a name, an IPv4 address or [an IPv6 address])", q);
			return -1;
		}
	}
	out->port = 6379;
	if (after < end) {
		/* *after is ':' */
		if (!kv_url_number(after + 1, (size_t)(end - after - 1), 65535, &v) || v == 0) {
			kv_url_quote(q, sizeof(q), after + 1, (size_t)(end - after - 1));
			snprintf(err, errlen, "redis_url: bad port %s (1 to 65535, digits only)", q);
			return -1;
		}
		out->port = (int)v;
	}
	out->host = strndup(host, hlen);
	if (out->host == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The redis:// form, p just after "redis://". Returns 0 or -1 with err set. */
static int kv_url_tcp(const char *p, struct kv_url *out, char *err, size_t errlen)
{
	size_t alen = strcspn(p, "/?#"), n;
	const char *at = memchr(p, '@', alen), *hp = p, *rest = p + alen;
	struct buf pw = BUF_INIT;
	char q[48];
	long v;

	if (at != NULL) {
		if (memchr(at + 1, '@', alen - (size_t)(at + 1 - p)) != NULL) {
			snprintf(
			        err, errlen,
			        "redis_url: more than one '@' before the host (write '@' in the password as %%40)");
			return -1;
		}
		if (p[0] != ':') {
			snprintf(err, errlen, "redis_url: %s (write redis://:password@host)",
			         memchr(p, ':', (size_t)(at - p)) != NULL ? "a user name is not supported" :
			                                                    "the password must follow ':'");
			return -1;
		}
		if (at == p + 1) {
			snprintf(err, errlen, "redis_url: empty password after ':'");
			return -1;
		}
		if (url_decode(p + 1, (size_t)(at - p - 1), false, &pw) != 0) {
			buf_free(&pw);
			snprintf(err, errlen,
			         "redis_url: bad %%-escape in the password (write '%%' as %%25)");
			return -1;
		}
		out->password = buf_detach(&pw, NULL);
		if (out->password == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		hp = at + 1;
	} else if (p[0] == ':' && strchr(rest, '@') != NULL) {
		/* "redis://:pa/ss@h": the password ended the authority early. */
		snprintf(err, errlen,
		         "redis_url: write '/', '?' and '#' in the password as %%2F, %%3F and %%23");
		return -1;
	}
	if (kv_url_host_port(hp, (size_t)(rest - hp), out, err, errlen) != 0)
		return -1;
	if (*rest == '\0')
		return 0;
	n = strcspn(rest + 1, "?#");
	if (*rest != '/' || rest[1 + n] != '\0') {
		snprintf(err, errlen, "redis_url: a redis:// URL takes no '?' or '#' parameters");
		return -1;
	}
	if (n > 0) {
		if (!kv_url_number(rest + 1, n, KV_DB_MAX, &v)) {
			kv_url_quote(q, sizeof(q), rest + 1, n);
			snprintf(err, errlen, "redis_url: bad database number %s (0 to %d, digits only)", q,
			         KV_DB_MAX);
			return -1;
		}
		out->dbnum = (int)v;
	}
	return 0;
}

int kv_url_parse(const char *url, struct kv_url *out, char *err, size_t errlen)
{
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (url == NULL || strnlen(url, KV_URL_MAX + 1) > KV_URL_MAX)
		snprintf(err, errlen, "redis_url: %s", url == NULL ? "not set" : "longer than 2048 bytes");
	else if (strncmp(url, "unix:", 5) == 0)
		rc = kv_url_unix(url + 5, out, err, errlen);
	else if (strncmp(url, "redis://", 8) == 0)
		rc = kv_url_tcp(url + 8, out, err, errlen);
	else
		snprintf(err, errlen, "redis_url must start with redis:// or unix:");
	if (rc != 0)
		kv_url_free(out);
	return rc;
}

void kv_url_free(struct kv_url *u)
{
	free(u->host);
	free(u->password);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

struct kv *kv_new(const char *url, int timeout_ms, char *err, size_t errlen)
{
	struct kv *kv = calloc(1, sizeof(*kv));
	struct kv_url u;

	if (kv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	kv->timeout.tv_sec = timeout_ms / 1000;
	kv->timeout.tv_usec = (timeout_ms % 1000) * 1000;
	if (url == NULL || url[0] == '\0') {
		kv->off = true;
		snprintf(kv->why, sizeof(kv->why), "not configured (redis_url is empty)");
		return kv;
	}
	if (kv_url_parse(url, &u, err, errlen) != 0) {
		kv_free(kv);
		return NULL;
	}
	/* The handle takes ownership of the strings. */
	kv->host = u.host;
	kv->path = u.path;
	kv->password = u.password;
	kv->port = u.port;
	kv->dbnum = u.dbnum;
	return kv;
}

static void kv_disconnect(struct kv *kv)
{
	if (kv->c != NULL)
		redisFree(kv->c);
	kv->c = NULL;
	kv->server_id[0] = '\0';
}

/* Drops the connection after a failure (a transport error, a timeout, an error reply, a server
 * too old) and backs off: no new attempt for KV_RETRY_MS. Logs only the change to "down". */
static void kv_failed(struct kv *kv, const char *what, const char *detail)
{
	long long now = kv_now_ms();

	/* detail may point into the context (its errstr): copy it before freeing that. */
	snprintf(kv->why, sizeof(kv->why), "%s%s%.120s", what, detail ? ": " : "", detail ? detail : "");
	kv_disconnect(kv);
	kv->retry_at_ms = now + KV_RETRY_MS;
	if (kv->down)
		return;
	kv->down = true;
	kv->down_since_ms = now;
	kv->summary_at_ms = now + KV_SUMMARY_S * 1000LL;
	kv->skipped = 0;
	if (kv->quiet)
		return;
	log_error("kv: Redis is down (%s): running without it (per-process rate limits, no analytics "
	          "cache, revocations read from PostgreSQL); retrying at most once a second",
	          kv->why);
}

/* While down: counts a call answered without Redis, and logs a summary once a minute. */
static void kv_skipped(struct kv *kv)
{
	long long now = kv_now_ms();

	kv->skipped++;
	if (now < kv->summary_at_ms)
		return;
	log_error("kv: Redis still down after %lld s (%llu calls without it since the last line): %s",
	          (now - kv->down_since_ms) / 1000, kv->skipped, kv->why);
	kv->summary_at_ms = now + KV_SUMMARY_S * 1000LL;
	kv->skipped = 0;
}

void kv_free(struct kv *kv)
{
	if (kv == NULL)
		return;
	kv_disconnect(kv);
	if (kv->track.c != NULL)
		redisFree(kv->track.c);
	for (int i = 0; i < kv->track.nprefix; i++)
		free(kv->track.prefix[i]);
	free(kv->host);
	free(kv->path);
	free(kv->password);
	free(kv);
}

/*
 * Runs one command on a connected context. Returns the reply (caller frees), or NULL after a
 * transport error or an error reply: either drops the connection and starts the back-off, since
 * none of our commands is meant to get an error (OOM, READONLY, LOADING, NOAUTH... all mean this
 * Redis cannot serve us now).
 */
static redisReply *kv_cmd(struct kv *kv, int argc, const char **argv, const size_t *lens)
{
	redisReply *r = redisCommandArgv(kv->c, argc, argv, lens);

	if (r == NULL) {
		kv_failed(kv, argv[0], kv->c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%.120s", r->str);
		freeReplyObject(r);
		kv_failed(kv, argv[0], msg);
		return NULL;
	}
	return r;
}

/* Copies the value of field ("redis_version") out of an INFO text into out; false if absent. */
static bool kv_info_value(const char *info, const char *field, char *out, size_t n)
{
	size_t flen = strlen(field);
	const char *p = info;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, field, flen) == 0 && p[flen] == ':') {
			size_t len = strcspn(p + flen + 1, "\r\n");

			if (len >= n)
				return false;
			memcpy(out, p + flen + 1, len);
			out[len] = '\0';
			return true;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return false;
}

/* Asks the freshly connected server who it is: its run_id (new at every start) and its version,
 * which must be 7 or later. Returns 0, or -1 after kv_failed. */
static int kv_identify(struct kv *kv)
{
	const char *argv[] = { "INFO", "server" };
	redisReply *r = kv_cmd(kv, 2, argv, NULL);
	char msg[96];
	long major;

	if (r == NULL)
		return -1;
	if (r->type != REDIS_REPLY_STRING ||
	    !kv_info_value(r->str, "redis_version", kv->version, sizeof(kv->version)) ||
	    !kv_info_value(r->str, "run_id", kv->server_id, sizeof(kv->server_id))) {
		freeReplyObject(r);
		kv_failed(kv, "INFO server", "no redis_version or run_id in the answer");
		return -1;
	}
	freeReplyObject(r);
	major = strtol(kv->version, NULL, 10);
	if (major < KV_MIN_MAJOR) {
		snprintf(msg, sizeof(msg), "Redis %.20s is too old: Redis %d or later is required",
		         kv->version, KV_MIN_MAJOR);
		kv_failed(kv, "version", msg);
		return -1;
	}
	return 0;
}

/* Everything cached may be stale from now on: the owner drops it all, and the epoch moves. */
static void kv_track_forget(struct kv *kv)
{
	kv->track.epoch++;
	kv->track.fn(kv->track.arg, NULL, 0);
}

/*
 * Connects if there is no connection, unless a failure less than KV_RETRY_MS ago says Redis is
 * down: then it returns -1 at once, so a dead Redis costs a request nothing, and each process
 * tries it at most once a second (each try bounded by redis_timeout_ms). Returns 0 or -1.
 */
static int kv_connect(struct kv *kv)
{
	redisReply *r;

	if (kv->off)
		return -1;
	if (kv->c != NULL) {
		struct pollfd p = { kv->c->fd, POLLIN, 0 };

		/* An idle connection has nothing to read: if it has, the server closed it (a restart,
		 * its idle timeout). Replace it now, without a failed command or a back-off. */
		if (poll(&p, 1, 0) == 0)
			return 0;
		kv_disconnect(kv);
	}
	if (kv->down && kv_now_ms() < kv->retry_at_ms) {
		kv_skipped(kv);
		return -1;
	}
	if (kv->path != NULL)
		kv->c = redisConnectUnixWithTimeout(kv->path, kv->timeout);
	else
		kv->c = redisConnectWithTimeout(kv->host, kv->port, kv->timeout);
	if (kv->c == NULL || kv->c->err) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%.120s", kv->c ? kv->c->errstr : "out of memory");
		kv_failed(kv, "connect", msg);
		return -1;
	}
	if (redisSetTimeout(kv->c, kv->timeout) != REDIS_OK) {
		kv_failed(kv, "connect", "cannot set the timeout");
		return -1;
	}
	if (kv->password != NULL) {
		const char *argv[] = { "AUTH", kv->password };
		r = kv_cmd(kv, 2, argv, NULL);
		if (r == NULL)
			return -1;
		freeReplyObject(r);
	}
	if (kv->dbnum != 0) {
		char n[16];
		const char *argv[] = { "SELECT", n };
		snprintf(n, sizeof(n), "%d", kv->dbnum);
		r = kv_cmd(kv, 2, argv, NULL);
		if (r == NULL)
			return -1;
		freeReplyObject(r);
	}
	if (kv_identify(kv) != 0)
		return -1;
	kv->conns++;
	if (kv->track.fn != NULL)
		kv_track_forget(kv); /* a new connection has no tracking yet */
	if (kv->down)
		log_info("kv: Redis %s is back after %lld s (%llu calls ran without it since the last line)",
		         kv->version, (kv_now_ms() - kv->down_since_ms) / 1000, kv->skipped);
	kv->down = false;
	return 0;
}

enum kv_probe kv_check(struct kv *kv, char *msg, size_t n)
{
	int rc;

	if (kv->off) {
		snprintf(msg, n, "%s", kv->why);
		return KV_PROBE_OFF;
	}
	kv->quiet = true;
	rc = kv_connect(kv);
	kv->quiet = false;
	if (rc == 0) {
		snprintf(msg, n, "Redis %s", kv->version);
		return KV_PROBE_OK;
	}
	snprintf(msg, n, "%s", kv->why);
	/* Reached, identified, refused: the version is the only thing kv_identify refuses on. */
	if (strncmp(kv->why, "version: ", 9) == 0) {
		snprintf(msg, n, "%s", kv->why + 9);
		return KV_PROBE_TOO_OLD;
	}
	return KV_PROBE_DOWN;
}

bool kv_configured(const struct kv *kv)
{
	return !kv->off;
}

const char *kv_server_id(const struct kv *kv)
{
	return kv->c != NULL && kv->server_id[0] != '\0' ? kv->server_id : NULL;
}

/* Connects if needed and runs one command. Returns the reply (caller frees) or NULL. */
static redisReply *kv_run(struct kv *kv, int argc, const char **argv, const size_t *lens)
{
	if (kv_connect(kv) != 0)
		return NULL;
	return kv_cmd(kv, argc, argv, lens);
}

/* Frees r, a reply that must be +OK. Returns MERR_OK, or MERR_UNAVAILABLE (r NULL: already
 * handled; anything else is a protocol surprise, handled like an error reply). */
static enum merr kv_status_ok(struct kv *kv, redisReply *r, const char *cmd)
{
	bool ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;

	if (r != NULL && !ok)
		kv_failed(kv, cmd, "unexpected reply");
	freeReplyObject(r);
	return ok ? MERR_OK : MERR_UNAVAILABLE;
}

/* Reads the next pipelined reply into *out. Returns 0, or -1 after kv_failed (transport error or
 * error reply: the connection is dropped, which also discards the replies still queued). */
static int kv_next(struct kv *kv, const char *cmd, redisReply **out)
{
	void *reply = NULL;

	if (redisGetReply(kv->c, &reply) != REDIS_OK || reply == NULL) {
		kv_failed(kv, cmd, kv->c->errstr[0] ? kv->c->errstr : "no reply");
		return -1;
	}
	*out = reply;
	if ((*out)->type == REDIS_REPLY_ERROR) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%.120s", (*out)->str);
		freeReplyObject(*out);
		*out = NULL;
		kv_failed(kv, cmd, msg);
		return -1;
	}
	return 0;
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
	return kv_status_ok(kv, r, "SET");
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
		kv_failed(kv, "INCR", "out of memory");
		return MERR_UNAVAILABLE;
	}
	for (int i = 0; i < 3; i++) {
		if (kv_next(kv, i == 0 ? "INCR" : i == 1 ? "EXPIRE" : "TTL", &r) != 0)
			return MERR_UNAVAILABLE;
		if (r->type != REDIS_REPLY_INTEGER) {
			freeReplyObject(r);
			kv_failed(kv, "INCR", "unexpected reply");
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

/* The generation and the entry of that generation, in one script (Redis 7 has EVAL). The hash
 * key is made inside the script, which a single Redis allows. */
static const char kv_gen_script[] = "local g = redis.call('GET', KEYS[1]) or '0' "
                                    "return {g, redis.call('HGET', ARGV[1] .. ':' .. g, ARGV[2])}";

enum merr kv_hget_gen(struct kv *kv, const char *gen_key, const char *prefix, const char *field, char *gen,
                      struct buf *out, bool *found)
{
	const char *argv[] = { "EVALSHA", kv->gen_sha, "1", gen_key, prefix, field };
	redisReply *r = NULL;
	enum merr rc = MERR_OK;

	*found = false;
	if (kv_connect(kv) != 0)
		return MERR_UNAVAILABLE;
	/* By its SHA1, loaded once per connection: Redis need not hash the script on every read. A
	 * SCRIPT FLUSH since then answers NOSCRIPT: load it again, once. */
	for (int tries = 0; r == NULL && tries < 2; tries++) {
		if (kv->gen_sha_conn != kv->conns) {
			const char *load[] = { "SCRIPT", "LOAD", kv_gen_script };

			r = kv_cmd(kv, 3, load, NULL);
			if (r == NULL)
				return MERR_UNAVAILABLE;
			if (r->type != REDIS_REPLY_STRING || r->len != 40) {
				freeReplyObject(r);
				kv_failed(kv, "SCRIPT LOAD", "unexpected reply");
				return MERR_UNAVAILABLE;
			}
			memcpy(kv->gen_sha, r->str, 41);
			freeReplyObject(r);
			kv->gen_sha_conn = kv->conns;
		}
		r = redisCommandArgv(kv->c, 6, argv, NULL);
		if (r == NULL) {
			kv_failed(kv, "EVALSHA", kv->c->errstr);
			return MERR_UNAVAILABLE;
		}
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(r);
			r = NULL;
			kv->gen_sha_conn = 0;
		} else if (r->type == REDIS_REPLY_ERROR) {
			char msg[128];

			snprintf(msg, sizeof(msg), "%.120s", r->str);
			freeReplyObject(r);
			kv_failed(kv, "EVALSHA", msg);
			return MERR_UNAVAILABLE;
		}
	}
	if (r == NULL) {
		kv_failed(kv, "EVALSHA", "NOSCRIPT after SCRIPT LOAD");
		return MERR_UNAVAILABLE;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len >= KV_GEN_MAX) {
		freeReplyObject(r);
		kv_failed(kv, "EVALSHA", "unexpected reply");
		return MERR_UNAVAILABLE;
	}
	memcpy(gen, r->element[0]->str, r->element[0]->len);
	gen[r->element[0]->len] = '\0';
	*found = r->element[1]->type == REDIS_REPLY_STRING;
	if (*found && buf_append(out, r->element[1]->str, r->element[1]->len) != 0)
		rc = MERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

enum merr kv_gen_bump(struct kv *kv, const char *gen_key, long long ttl_s)
{
	char ttl[24];
	redisReply *r;
	int i;

	if (kv_connect(kv) != 0)
		return MERR_UNAVAILABLE;
	snprintf(ttl, sizeof(ttl), "%lld", ttl_s);
	/* Pipelined: one round trip. */
	if (redisAppendCommand(kv->c, "INCR %s", gen_key) != REDIS_OK ||
	    redisAppendCommand(kv->c, "EXPIRE %s %s", gen_key, ttl) != REDIS_OK) {
		kv_failed(kv, "INCR", "out of memory");
		return MERR_UNAVAILABLE;
	}
	for (i = 0; i < 2; i++) {
		if (kv_next(kv, i == 0 ? "INCR" : "EXPIRE", &r) != 0)
			return MERR_UNAVAILABLE;
		freeReplyObject(r);
	}
	return MERR_OK;
}

enum merr kv_hset_ttl(struct kv *kv, const char *key, const char *field, const char *val, size_t len,
                      long long ttl_s)
{
	char ttl[24];
	redisReply *r;
	int i;

	if (kv_connect(kv) != 0)
		return MERR_UNAVAILABLE;
	snprintf(ttl, sizeof(ttl), "%lld", ttl_s);
	if (redisAppendCommand(kv->c, "HSET %s %s %b", key, field, val, len) != REDIS_OK ||
	    redisAppendCommand(kv->c, "EXPIRE %s %s NX", key, ttl) != REDIS_OK) {
		kv_failed(kv, "HSET", "out of memory");
		return MERR_UNAVAILABLE;
	}
	/* Both replies are integers; an error reply (OOM, WRONGTYPE, a Redis without EXPIRE NX)
	 * fails the call. */
	for (i = 0; i < 2; i++) {
		if (kv_next(kv, i == 0 ? "HSET" : "EXPIRE", &r) != 0)
			return MERR_UNAVAILABLE;
		if (r->type != REDIS_REPLY_INTEGER) {
			freeReplyObject(r);
			kv_failed(kv, i == 0 ? "HSET" : "EXPIRE", "unexpected reply");
			return MERR_UNAVAILABLE;
		}
		freeReplyObject(r);
	}
	return MERR_OK;
}

enum merr kv_mget(struct kv *kv, int n, const char *const *keys, struct buf *vals, bool *found)
{
	const char *argv[1 + KV_MGET_MAX];
	redisReply *r;
	enum merr rc = MERR_OK;
	int i;

	if (n < 1 || n > KV_MGET_MAX)
		return MERR_INTERNAL;
	argv[0] = "MGET";
	for (i = 0; i < n; i++)
		argv[i + 1] = keys[i];
	r = kv_run(kv, n + 1, argv, NULL);
	if (r == NULL)
		return MERR_UNAVAILABLE;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n) {
		freeReplyObject(r);
		kv_failed(kv, "MGET", "unexpected reply");
		return MERR_UNAVAILABLE;
	}
	for (i = 0; i < n; i++) {
		found[i] = r->element[i]->type == REDIS_REPLY_STRING;
		if (found[i] && buf_append(&vals[i], r->element[i]->str, r->element[i]->len) != 0)
			rc = MERR_INTERNAL;
	}
	freeReplyObject(r);
	return rc;
}

enum merr kv_set_nx_ex(struct kv *kv, const char *key, const char *val, long long ttl_s, bool *set)
{
	char ttl[24];
	const char *argv[] = { "SET", key, val, "NX", "EX", ttl };
	redisReply *r;

	snprintf(ttl, sizeof(ttl), "%lld", ttl_s < 1 ? 1 : ttl_s);
	r = kv_run(kv, 6, argv, NULL);
	if (r == NULL)
		return MERR_UNAVAILABLE;
	/* +OK when set, a nil when the key was there. */
	*set = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
	if (!*set && r->type != REDIS_REPLY_NIL) {
		freeReplyObject(r);
		kv_failed(kv, "SET NX", "unexpected reply");
		return MERR_UNAVAILABLE;
	}
	freeReplyObject(r);
	return MERR_OK;
}

enum merr kv_set_ex_batch(struct kv *kv, int n, const char *const *keys, const long long *ttls,
                          const char *val)
{
	redisReply *r;
	int i;

	if (kv_connect(kv) != 0)
		return MERR_UNAVAILABLE;
	for (i = 0; i < n; i++)
		if (redisAppendCommand(kv->c, "SET %s %s EX %lld", keys[i], val, ttls[i] < 1 ? 1 : ttls[i]) !=
		    REDIS_OK) {
			kv_failed(kv, "SET", "out of memory");
			return MERR_UNAVAILABLE;
		}
	for (i = 0; i < n; i++) {
		if (kv_next(kv, "SET", &r) != 0)
			return MERR_UNAVAILABLE;
		if (kv_status_ok(kv, r, "SET") != MERR_OK)
			return MERR_UNAVAILABLE;
	}
	return MERR_OK;
}

enum merr kv_set_ex_if(struct kv *kv, const char *guard, const char *guard_val, const char *key,
                       const char *val, long long ttl_s, bool *done)
{
	redisReply *r = NULL;
	bool same;

	*done = false;
	if (kv_connect(kv) != 0)
		return MERR_UNAVAILABLE;
	/* WATCH, then read the guard: a FLUSHALL, FLUSHDB or any write to the guard from now on makes
	 * the EXEC below a no-op. */
	if (redisAppendCommand(kv->c, "WATCH %s", guard) != REDIS_OK ||
	    redisAppendCommand(kv->c, "GET %s", guard) != REDIS_OK) {
		kv_failed(kv, "WATCH", "out of memory");
		return MERR_UNAVAILABLE;
	}
	if (kv_next(kv, "WATCH", &r) != 0)
		return MERR_UNAVAILABLE;
	freeReplyObject(r);
	if (kv_next(kv, "GET", &r) != 0)
		return MERR_UNAVAILABLE;
	same = r->type == REDIS_REPLY_STRING && strcmp(r->str, guard_val) == 0;
	freeReplyObject(r);
	if (!same) {
		const char *argv[] = { "UNWATCH" };

		r = kv_run(kv, 1, argv, NULL);
		return kv_status_ok(kv, r, "UNWATCH");
	}
	if (redisAppendCommand(kv->c, "MULTI") != REDIS_OK ||
	    redisAppendCommand(kv->c, "SET %s %s EX %lld", key, val, ttl_s < 1 ? 1 : ttl_s) != REDIS_OK ||
	    redisAppendCommand(kv->c, "EXEC") != REDIS_OK) {
		kv_failed(kv, "MULTI", "out of memory");
		return MERR_UNAVAILABLE;
	}
	if (kv_next(kv, "MULTI", &r) != 0)
		return MERR_UNAVAILABLE;
	freeReplyObject(r);
	if (kv_next(kv, "SET", &r) != 0) /* +QUEUED */
		return MERR_UNAVAILABLE;
	freeReplyObject(r);
	if (kv_next(kv, "EXEC", &r) != 0)
		return MERR_UNAVAILABLE;
	/* A nil: the guard was touched and nothing ran. Otherwise the one reply of the SET. */
	*done = r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	        r->element[0]->type == REDIS_REPLY_STATUS && strcmp(r->element[0]->str, "OK") == 0;
	if (r->type != REDIS_REPLY_NIL && !*done) {
		freeReplyObject(r);
		kv_failed(kv, "EXEC", "unexpected reply");
		return MERR_UNAVAILABLE;
	}
	freeReplyObject(r);
	return MERR_OK;
}

enum merr kv_info(struct kv *kv, const char *section, const char *field, char *out, size_t n, bool *found)
{
	const char *argv[] = { "INFO", section };
	redisReply *r = kv_run(kv, 2, argv, NULL);

	if (r == NULL)
		return MERR_UNAVAILABLE;
	if (r->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		kv_failed(kv, "INFO", "unexpected reply");
		return MERR_UNAVAILABLE;
	}
	*found = kv_info_value(r->str, field, out, n);
	freeReplyObject(r);
	return MERR_OK;
}

/* ---- client-side caching ------------------------------------------------------------------ */

int kv_track_init(struct kv *kv, int nprefix, const char *const *prefix, kv_inval_fn *fn, void *arg)
{
	int i;

	if (kv->track.fn != NULL || nprefix < 1 || nprefix > KV_TRACK_PREFIX_MAX || fn == NULL)
		return -1;
	for (i = 0; i < nprefix; i++) {
		kv->track.prefix[i] = strdup(prefix[i]);
		if (kv->track.prefix[i] == NULL) {
			while (i-- > 0) {
				free(kv->track.prefix[i]);
				kv->track.prefix[i] = NULL;
			}
			return -1;
		}
	}
	kv->track.nprefix = nprefix;
	kv->track.fn = fn;
	kv->track.arg = arg;
	kv->track.epoch = 1;
	return 0;
}

unsigned long long kv_track_epoch(const struct kv *kv)
{
	return kv->track.epoch;
}

/* Closes the invalidation connection: what it would have told us is lost, so the cache goes. The
 * command connection keeps redirecting to a client that is gone (Redis then drops the messages)
 * until tracking is set again with the next connection's id. */
static void kv_track_lost(struct kv *kv)
{
	if (kv->track.c != NULL)
		redisFree(kv->track.c);
	kv->track.c = NULL;
	kv->track.on_conn = 0;
	kv->track.pong_owed = false;
	kv->track.retry_at_ms = kv_now_ms() + KV_RETRY_MS;
	kv_track_forget(kv);
}

/* The server will not track for us (or the invalidation connection cannot be set up): no local
 * copies for KV_TRACK_RETRY_S, every check asks Redis as before, and one line says why. */
static void kv_track_refused(struct kv *kv, const char *why)
{
	kv_track_lost(kv);
	kv->track.retry_at_ms = kv_now_ms() + KV_TRACK_RETRY_S * 1000LL;
	if (!kv->track.refused_logged && !kv->down)
		log_error("kv: %s: every token is checked in Redis (no local copy); trying again every %d s",
		          why, KV_TRACK_RETRY_S);
	kv->track.refused_logged = true;
}

/* A blocking command on the invalidation connection (during its set-up). */
static redisReply *kv_track_cmd(struct kv *kv, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(kv->track.c, argc, argv, NULL);

	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

/* Opens the invalidation connection: connect, AUTH, CLIENT ID, SUBSCRIBE. 0 or -1. */
static int kv_track_open(struct kv *kv)
{
	const char *auth[] = { "AUTH", kv->password }, *id[] = { "CLIENT", "ID" };
	const char *sub[] = { "SUBSCRIBE", "__redis__:invalidate" }, *info[] = { "INFO", "server" };
	redisReply *r;

	kv->track.server_id[0] = '\0';
	if (kv->path != NULL)
		kv->track.c = redisConnectUnixWithTimeout(kv->path, kv->timeout);
	else
		kv->track.c = redisConnectWithTimeout(kv->host, kv->port, kv->timeout);
	if (kv->track.c == NULL || kv->track.c->err || redisSetTimeout(kv->track.c, kv->timeout) != REDIS_OK)
		return -1;
	if (kv->password != NULL) {
		if ((r = kv_track_cmd(kv, 2, auth)) == NULL)
			return -1;
		freeReplyObject(r);
	}
	/* The same server as the command connection, or REDIRECT names a client of another one. */
	if ((r = kv_track_cmd(kv, 2, info)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_STRING ||
	    !kv_info_value(r->str, "run_id", kv->track.server_id, sizeof(kv->track.server_id))) {
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	if ((r = kv_track_cmd(kv, 2, id)) == NULL)
		return -1;
	kv->track.id = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	if (kv->track.id < 0 || (r = kv_track_cmd(kv, 2, sub)) == NULL)
		return -1;
	freeReplyObject(r); /* ["subscribe", channel, 1] */
	return 0;
}

/* One message read from the invalidation connection: ["message", channel, [key...] or nil], or
 * the answer to our PING (["pong", ""]). */
static void kv_track_message(struct kv *kv, redisReply *m, bool *saw_inval)
{
	redisReply *keys;
	size_t i;

	if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 || m->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(m->element[0]->str, "pong") == 0) {
		kv->track.pong_owed = false;
		return;
	}
	if (strcmp(m->element[0]->str, "message") != 0 || m->elements != 3)
		return;
	*saw_inval = true;
	keys = m->element[2];
	if (keys->type != REDIS_REPLY_ARRAY) {
		/* nil: FLUSHDB / FLUSHALL, or Redis dropping its tracking table. */
		kv_track_forget(kv);
		return;
	}
	for (i = 0; i < keys->elements; i++)
		if (keys->element[i]->type == REDIS_REPLY_STRING)
			kv->track.fn(kv->track.arg, keys->element[i]->str, keys->element[i]->len);
}

/*
 * Reads what the invalidation connection has, without waiting. Returns 0, or -1 when the
 * connection failed (then closed). Redis writes a burst of invalidations to a client at most about
 * 64 KiB per pass, so an empty socket does not prove it holds nothing more for us. Whenever a read
 * brought invalidations, a PING goes out, and nothing is used from the copy until its answer comes
 * back, after everything Redis queued for us before it.
 */
static int kv_track_drain(struct kv *kv)
{
	char b[16384];
	bool saw_inval = false;
	void *m;
	ssize_t n;

	for (;;) {
		n = recv(kv->track.c->fd, b, sizeof(b), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0 || redisReaderFeed(kv->track.c->reader, b, (size_t)n) != REDIS_OK)
			return -1;
		for (;;) {
			m = NULL;
			if (redisReaderGetReply(kv->track.c->reader, &m) != REDIS_OK)
				return -1;
			if (m == NULL)
				break;
			kv_track_message(kv, m, &saw_inval);
			freeReplyObject(m);
		}
	}
	if (saw_inval) {
		const char *ping[] = { "PING" };
		int done = 0;

		if (redisAppendCommandArgv(kv->track.c, 1, ping, NULL) != REDIS_OK)
			return -1;
		while (!done)
			if (redisBufferWrite(kv->track.c, &done) != REDIS_OK)
				return -1;
		kv->track.pong_owed = true;
	}
	return 0;
}

bool kv_track_sync(struct kv *kv)
{
	const char *argv[6 + 2 * KV_TRACK_PREFIX_MAX];
	char id[24];
	redisReply *r;
	int argc = 0, i;

	if (kv->track.fn == NULL || kv->off)
		return false;
	if (kv->track.c != NULL && kv_track_drain(kv) != 0)
		kv_track_lost(kv);
	if (kv->track.c == NULL) {
		if (kv_now_ms() < kv->track.retry_at_ms || (kv->down && kv_now_ms() < kv->retry_at_ms))
			return false;
		if (kv_track_open(kv) != 0) {
			/* Unreachable: like any lost connection, tried again within a second. Reached but
			 * refused (CLIENT ID, INFO or SUBSCRIBE answered an error: an ACL): a long pause. */
			if (kv->track.c == NULL || kv->track.c->err)
				kv_track_lost(kv);
			else
				kv_track_refused(
				        kv,
				        "the invalidation connection was refused (CLIENT ID, INFO or SUBSCRIBE)");
			return false;
		}
	}
	if (kv_connect(kv) != 0)
		return false;
	if (strcmp(kv->track.server_id, kv->server_id) != 0) {
		kv_track_lost(kv); /* another server answers the commands now (a failover) */
		return false;
	}
	if (kv->track.on_conn != kv->conns) {
		/* OFF first: a connection that redirected to an earlier invalidation connection keeps
		 * its mode, and Redis refuses to change the mode of one that has tracking on. */
		snprintf(id, sizeof(id), "%lld", kv->track.id);
		argv[argc++] = "CLIENT";
		argv[argc++] = "TRACKING";
		argv[argc++] = "ON";
		argv[argc++] = "REDIRECT";
		argv[argc++] = id;
		argv[argc++] = "BCAST";
		for (i = 0; i < kv->track.nprefix; i++) {
			argv[argc++] = "PREFIX";
			argv[argc++] = kv->track.prefix[i];
		}
		if (redisAppendCommand(kv->c, "CLIENT TRACKING OFF") != REDIS_OK ||
		    redisAppendCommandArgv(kv->c, argc, argv, NULL) != REDIS_OK) {
			kv_failed(kv, "CLIENT TRACKING", "out of memory");
			return false;
		}
		/* Read here, not by kv_next: a server that refuses tracking (an ACL, a proxy) still serves
		 * every other command, so it must not count as down. */
		for (i = 0; i < 2; i++) {
			void *reply = NULL;
			bool refused;

			if (redisGetReply(kv->c, &reply) != REDIS_OK || reply == NULL) {
				kv_failed(kv, "CLIENT TRACKING",
				          kv->c->errstr[0] ? kv->c->errstr : "no reply");
				return false;
			}
			r = reply;
			refused = r->type == REDIS_REPLY_ERROR;
			freeReplyObject(r);
			if (refused && i == 1) {
				kv_track_refused(kv, "CLIENT TRACKING was refused");
				return false;
			}
		}
		kv->track.on_conn = kv->conns;
		kv_track_forget(kv);
	}
	return !kv->track.pong_owed;
}
