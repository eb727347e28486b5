/* config.c: key = value file + environment, validated against one table of keys. */
#include "config.h"

#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/kv.h"
#include "util/buf.h"

#ifndef MEDIAD_SYSCONFDIR
#define MEDIAD_SYSCONFDIR "/etc"
#endif
#ifndef MEDIAD_DATADIR
#define MEDIAD_DATADIR "/usr/share"
#endif
#ifndef MEDIAD_LOCALSTATEDIR
#define MEDIAD_LOCALSTATEDIR "/var"
#endif

#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_VALUE 4096

enum cfg_type { CFG_STR, CFG_INT, CFG_MODE, CFG_BOOL };

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def;
	long long min, max;
	bool secret;
	const char *help;
	/* A deprecated name of the key named here: it writes that key's field, and is neither
	 * defaulted, printed nor freed on its own. */
	const char *alias_of;
};

/* clang-format off */
#define S(f, d, sec, h) { #f, CFG_STR, offsetof(struct config, f), d, 0, 0, sec, h, NULL }
#define I(f, d, lo, hi, h) { #f, CFG_INT, offsetof(struct config, f), d, lo, hi, false, h, NULL }
#define B(f, d, h) { #f, CFG_BOOL, offsetof(struct config, f), d, 0, 1, false, h, NULL }

static const struct cfg_key cfg_keys[] = {
	S(database_url, NULL, true, "PostgreSQL connection URL or conninfo"),
	S(db_direct_url, "", true, "direct PostgreSQL URL for session work (LISTEN, migrations) when database_url is a transaction pooler; empty: database_url"),
	S(redis_url, NULL, true, "redis://host:port[/db] or unix:/path/to/redis.sock"),
	S(jwt_secret, NULL, true, "HS256 secret for login tokens, at least 32 bytes"),
	S(stream_key, NULL, true, "HMAC key for stream links; derived from jwt_secret when empty"),
	S(media_root, MEDIAD_LOCALSTATEDIR "/lib/mediad/media", false, "folder holding uploads/ and outputs/"),
	S(schema_dir, MEDIAD_DATADIR "/mediad/schema", false, "folder of numbered SQL migrations"),
	S(public_base_url, "", false, "absolute base for stream links, e.g. https://media.example.com"),
	/* Before cors_origins: in the environment, CORS_ORIGINS then wins over CORS_ORIGIN. */
	{ "cors_origin", CFG_STR, offsetof(struct config, cors_origins), NULL, 0, 0, false,
	  "deprecated name of cors_origins", "cors_origins" },
	S(cors_origins, "*", false, "origins whose pages may call the API and read its answers, or *"),
	S(trusted_proxies, "", false, "CIDR list of proxies whose X-Forwarded-For is believed"),
	S(ffmpeg_path, "ffmpeg", false, "ffmpeg program"),
	S(ffprobe_path, "ffprobe", false, "ffprobe program"),
	S(listen_group, "", false, "group given mediad --listen's unix socket (mode 0660); empty: ours"),
	S(auto_renditions, "hls,poster", false, "renditions each video or audio upload gets: hls, poster, storyboard, comma-separated; empty: none"),
	S(base_path, "", false, "path prefix the API is served under, e.g. /~user/api; empty: SCRIPT_NAME decides"),
	I(token_ttl, "3600", 60, 30 * 86400, "login token lifetime, seconds"),
	I(stream_ttl, "600", 10, 86400, "stream link lifetime, seconds"),
	I(max_json_bytes, "65536", 1024, 16 * 1024 * 1024, "largest JSON request body, bytes"),
	I(max_json_depth, "16", 2, 64, "deepest JSON nesting accepted"),
	I(upload_max_bytes, "2147483648", 1024, 1LL << 40, "largest upload request, bytes"),
	I(upload_max_parts, "16", 1, 1000, "most parts in one multipart upload"),
	I(upload_max_header_bytes, "8192", 256, 65536, "largest part header block, bytes"),
	I(upload_expiry, "86400", 60, 30 * 86400, "seconds a resumable (tus) upload may take from its creation"),
	I(tus_checkpoint_bytes, "67108864", 65536, 1LL << 40, "bytes of a tus PATCH between two fdatasyncs and offset updates"),
	I(upload_max_live, "20", 1, 10000, "resumable (tus) uploads a user may have receiving at once"),
	I(login_rate_ip_email, "10", 1, 1000000, "login attempts per minute per IP and email"),
	I(login_rate_ip, "100", 1, 1000000, "login attempts per minute per IP"),
	I(view_rate_limit, "30", 1, 100000000, "views per minute per IP and media"),
	I(register_rate_ip, "10", 1, 1000000, "registrations per hour per IP (IPv6: per /64)"),
	I(login_fail_account, "10", 1, 1000000, "failed logins per account in 15 minutes before it is locked"),
	I(storage_quota_bytes, "0", 0, 1LL << 50, "bytes of media one user may store; 0 = no quota"),
	I(db_connect_timeout, "5", 1, 300, "PostgreSQL connect timeout, seconds"),
	I(redis_timeout_ms, "1000", 10, 60000, "Redis connect and command timeout, milliseconds"),
	I(ffprobe_timeout, "30", 1, 3600, "ffprobe time limit, seconds"),
	I(render_concurrency, "0", 0, 64, "ffmpeg processes at once per spawner; 0 = cores"),
	I(render_max_attempts, "3", 1, 100, "attempts before a render job fails for good"),
	I(render_timeout, "3600", 1, 7 * 86400, "time limit of one render, seconds"),
	I(render_lease, "30", 5, 3600, "render lease, seconds; renewed while ffmpeg runs"),
	I(render_poll_interval, "5", 1, 3600, "spawner polling fallback, seconds"),
	I(render_grace, "10", 0, 3600, "seconds running renders get to finish after SIGTERM"),
	I(render_max_interruptions, "5", 1, 1000, "runs lost to dead spawners or database outages before a job fails"),
	I(render_max_queued_per_user, "100", 1, 1000000, "waiting + active render jobs one user may have"),
	I(render_min_free_mb, "64", 0, 1 << 30, "free MiB the media root needs before a spawner claims a job"),
	I(db_statement_timeout_ms, "5000", 100, 3600000, "longest PostgreSQL statement, milliseconds"),
	I(db_lock_timeout_ms, "2000", 10, 3600000, "longest wait for a PostgreSQL lock, milliseconds"),
	I(db_idle_tx_timeout_ms, "10000", 100, 3600000, "idle-in-transaction limit, milliseconds"),
	I(db_tcp_timeout, "10", 1, 600, "seconds before a silent PostgreSQL connection is given up"),
	B(db_prepared, "on", "prepare statements on each connection; off: unnamed statements, for PgBouncer < 1.21 in transaction mode"),
	I(body_read_timeout_ms, "30000", 100, 3600000, "longest wait for the next bytes of a request body, milliseconds"),
	I(body_min_rate_bps, "500", 0, 1LL << 40, "slowest request body accepted past body_read_timeout_ms, bytes/s; 0 = any"),
	I(webhook_timeout, "10", 1, 300, "longest webhook delivery attempt (resolve, connect, send, answer), seconds"),
	I(webhook_max_age, "86400", 60, 30 * 86400, "seconds a webhook delivery is retried, from its creation or manual retry, before it fails"),
	B(webhook_allow_private, "off", "webhooks may reach loopback, private and link-local addresses (tests, intranets)"),
	I(webhook_disable_after, "20", 1, 100000, "failed webhook attempts in a row before the endpoint is disabled"),
	I(webhook_concurrency, "8", 1, 64, "webhook requests in flight at once per media-hooks"),
	I(webhook_poll_interval, "5", 1, 3600, "media-hooks polling fallback, seconds"),
	I(webhook_lease, "60", 15, 3600, "seconds a claimed webhook delivery is leased; at least webhook_timeout + 10"),
	I(webhook_retention, "2592000", 3600, 3650LL * 86400, "seconds mediactl gc keeps a finished webhook delivery and its attempts"),
	{ "stream_mode", CFG_MODE, offsetof(struct config, stream_mode), "x-sendfile", 0, 0, false,
	  "x-sendfile (the web server sends the file) or direct (mediad sends it)", NULL },
};

#undef S
#undef I
#undef B
/* clang-format on */

static char **cfg_str(struct config *c, const struct cfg_key *k)
{
	return (char **)(void *)((char *)c + k->offset);
}

static long long *cfg_int(struct config *c, const struct cfg_key *k)
{
	return (long long *)(void *)((char *)c + k->offset);
}

static bool *cfg_bool(struct config *c, const struct cfg_key *k)
{
	return (bool *)(void *)((char *)c + k->offset);
}

/* A boolean as the file or the environment may write it: on/off, true/false, yes/no, 1/0, in any
 * case. Returns 1, 0, or -1 when value is none of them. */
static int cfg_parse_bool(const char *value)
{
	static const char *const yes[] = { "on", "true", "yes", "1" }, *const no[] = { "off", "false", "no",
		                                                                       "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0)
			return 1;
		if (strcasecmp(value, no[i]) == 0)
			return 0;
	}
	return -1;
}

static const struct cfg_key *cfg_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
		if (strlen(cfg_keys[i].name) == len && memcmp(cfg_keys[i].name, name, len) == 0)
			return &cfg_keys[i];
	return NULL;
}

bool config_key_known(const char *name, size_t len)
{
	return cfg_find(name, len) != NULL;
}

/* Every setting has a slot in config.origins ("" there means the default). */
_Static_assert(offsetof(struct config, origins) / 8 <= CONFIG_ORIGIN_SLOTS,
               "CONFIG_ORIGIN_SLOTS is too small");

/* Remembers where k's value came from (the last source that set it wins). */
static void cfg_mark(struct config *c, const struct cfg_key *k, const char *origin)
{
	size_t slot = k->offset / 8;

	if (slot < CONFIG_ORIGIN_SLOTS)
		snprintf(c->origins[slot], sizeof(c->origins[slot]), "%.*s", CONFIG_ORIGIN_MAX - 1, origin);
}

/* Sets key k from value; origin names where the value came from, for the message. */
static int cfg_set(struct config *c, const struct cfg_key *k, const char *value, const char *origin,
                   char *err, size_t errlen)
{
	char *end, *dup;
	long long v;

	if (strlen(value) > CONFIG_MAX_VALUE) {
		snprintf(err, errlen, "%s: %s is longer than %d bytes", origin, k->name, CONFIG_MAX_VALUE);
		return -1;
	}
	switch (k->type) {
	case CFG_STR:
		dup = strdup(value);
		if (dup == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*cfg_str(c, k));
		*cfg_str(c, k) = dup;
		return 0;
	case CFG_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: %s must be an integer from %lld to %lld (got \"%.40s\")",
			         origin, k->name, k->min, k->max, value);
			return -1;
		}
		*cfg_int(c, k) = v;
		return 0;
	case CFG_BOOL:
		if (cfg_parse_bool(value) < 0) {
			snprintf(err, errlen,
			         "%s: %s must be on or off (or true/false, yes/no, 1/0; got \"%.40s\")",
			         origin, k->name, value);
			return -1;
		}
		*cfg_bool(c, k) = cfg_parse_bool(value) == 1;
		return 0;
	case CFG_MODE:
		if (strcmp(value, "x-sendfile") == 0)
			c->stream_mode = STREAM_XSENDFILE;
		else if (strcmp(value, "direct") == 0)
			c->stream_mode = STREAM_DIRECT;
		else {
			snprintf(err, errlen, "%s: %s must be x-sendfile or direct (got \"%.40s\")", origin,
			         k->name, value);
			return -1;
		}
		return 0;
	}
	return -1;
}

int config_defaults(struct config *c)
{
	char err[128];
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
		if (cfg_keys[i].def &&
		    cfg_set(c, &cfg_keys[i], cfg_keys[i].def, "default", err, sizeof(err)) != 0)
			return -1;
	return 0;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

int config_parse(struct config *c, const char *text, const char *name, char *err, size_t errlen)
{
	const char *line = text;
	unsigned lineno = 0;
	char origin[512];
	struct buf val = BUF_INIT;
	int rc = -1;

	while (*line) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		const char *ks = line, *ke, *vs, *ve, *eq;
		const struct cfg_key *k;

		lineno++;
		trim(&ks, &end);
		if (ks == end || *ks == '#')
			goto next;
		eq = memchr(ks, '=', (size_t)(end - ks));
		snprintf(origin, sizeof(origin), "%s:%u", name, lineno);
		if (eq == NULL) {
			snprintf(err, errlen, "%s: expected \"key = value\"", origin);
			goto out;
		}
		ke = eq;
		vs = eq + 1;
		ve = end;
		trim(&ks, &ke);
		trim(&vs, &ve);
		/* A value may be double-quoted to keep leading or trailing spaces or a '#'. */
		if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
			vs++;
			ve--;
		}
		k = cfg_find(ks, (size_t)(ke - ks));
		if (k == NULL) {
			snprintf(err, errlen, "%s: unknown setting \"%.*s\"", origin,
			         (int)(ke - ks > 64 ? 64 : ke - ks), ks);
			goto out;
		}
		buf_reset(&val);
		if (buf_append(&val, vs, (size_t)(ve - vs)) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (cfg_set(c, k, val.data, origin, err, errlen) != 0)
			goto out;
		cfg_mark(c, k, origin);
next:
		line = nl ? nl + 1 : end;
		if (nl == NULL)
			break;
	}
	rc = 0;
out:
	buf_free(&val);
	return rc;
}

/* k's environment name, its key upper-cased, into env (NUL-terminated, cut to envlen - 1). */
static void cfg_env_name(const struct cfg_key *k, char *env, size_t envlen)
{
	size_t j;

	for (j = 0; k->name[j] && j + 1 < envlen; j++)
		env[j] = (char)toupper((unsigned char)k->name[j]);
	env[j] = '\0';
}

int config_apply_env(struct config *c, char *err, size_t errlen)
{
	size_t i;
	char env[64], origin[80];

	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
		const char *v;

		cfg_env_name(&cfg_keys[i], env, sizeof(env));
		v = getenv(env);
		if (v == NULL)
			continue;
		if (cfg_set(c, &cfg_keys[i], v, env, err, errlen) != 0)
			return -1;
		snprintf(origin, sizeof(origin), "env %s", env);
		cfg_mark(c, &cfg_keys[i], origin);
	}
	return 0;
}

static int config_read_file(const char *path, struct buf *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char chunk[4096];
	size_t n;
	int rc = -1;

	if (f == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return e == ENOENT ? -2 : -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->len + n > CONFIG_MAX_FILE) {
			snprintf(err, errlen, "%s: larger than %d bytes", path, CONFIG_MAX_FILE);
			goto out;
		}
		if (buf_append(out, chunk, n) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

int config_load(struct config *c, unsigned need, char *err, size_t errlen)
{
	const char *path = getenv("MEDIAD_CONFIG");
	bool explicit_path = path != NULL && *path != '\0';
	struct buf text = BUF_INIT;
	int rc = -1, read;

	if (config_defaults(c) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!explicit_path)
		path = MEDIAD_SYSCONFDIR "/mediad.conf";
	read = config_read_file(path, &text, err, errlen);
	/* The compiled-in file is optional (-2: it does not exist): the environment alone may
	 * configure everything. A file named by MEDIAD_CONFIG must be there. */
	if (read != 0 && (explicit_path || read != -2))
		goto out;
	if (read == 0 && config_parse(c, text.data, path, err, errlen) != 0)
		goto out;
	if (config_apply_env(c, err, errlen) != 0 || config_check(c, need, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&text);
	return rc;
}

int config_auto_renditions(const struct config *c, char names[][CONFIG_RENDITION_NAME], char *err,
                           size_t errlen)
{
	/* The rendition presets (render/presets.c), named here so a typo stops start-up. */
	static const char *const known[] = { "hls", "poster", "storyboard" };
	const char *p = c->auto_renditions != NULL ? c->auto_renditions : "";
	unsigned seen = 0;
	int n = 0;

	while (*p != '\0') {
		size_t len = strcspn(p, ","), i;
		const char *w = p, *e = p + len;

		p = *e == ',' ? e + 1 : e;
		trim(&w, &e);
		if (w == e)
			continue;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strlen(known[i]) == (size_t)(e - w) && memcmp(known[i], w, (size_t)(e - w)) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			snprintf(
			        err, errlen,
			        "auto_renditions: unknown rendition \"%.*s\" (known: hls, poster, storyboard)",
			        (int)(e - w > 40 ? 40 : e - w), w);
			return -1;
		}
		/* A name given twice is one job, not two of the same kind racing each other. */
		if (seen & (1u << i))
			continue;
		seen |= 1u << i;
		if (n == CONFIG_RENDITIONS_MAX) {
			snprintf(err, errlen, "auto_renditions: more than %d names", CONFIG_RENDITIONS_MAX);
			return -1;
		}
		if (names != NULL)
			snprintf(names[n], CONFIG_RENDITION_NAME, "%s", known[i]);
		n++;
	}
	return n;
}

static bool empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* base_path: '/' then segments of a URL path's own characters (nothing to percent-encode), none
 * of them "." or "..", at most CONFIG_BASE_PATH_MAX bytes. */
static int config_check_base_path(const char *bp, char *err, size_t errlen)
{
	const char *p, *seg;

	if (bp[0] != '/' || strlen(bp) > CONFIG_BASE_PATH_MAX) {
		snprintf(err, errlen,
		         "base_path must be a URL path starting with '/', at most %d bytes (e.g. /~user/api)",
		         CONFIG_BASE_PATH_MAX);
		return -1;
	}
	for (p = bp; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("-._~/!$&'()*+,;=:@", *p) == NULL) {
			snprintf(
			        err, errlen,
			        "base_path: '%c' (0x%02x) is not a URL path character: use letters, digits and "
			        "-._~/!$&'()*+,;=:@",
			        isprint((unsigned char)*p) ? *p : '?', (unsigned char)*p);
			return -1;
		}
	}
	for (seg = bp + 1; seg != NULL; seg = (p = strchr(seg, '/')) != NULL ? p + 1 : NULL) {
		size_t n = strcspn(seg, "/");

		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			snprintf(err, errlen, "base_path may not have a . or .. segment: %s", bp);
			return -1;
		}
	}
	return 0;
}

int config_check(const struct config *c, unsigned need, char *err, size_t errlen)
{
	if ((need & CONFIG_NEED_DB) && empty(c->database_url)) {
		snprintf(err, errlen,
		         "database_url is not set (DATABASE_URL or database_url in the config file)");
		return -1;
	}
	/* Empty: no Redis (mediad runs without it). Set: it must parse, in every program, like any
	 * malformed setting. */
	if (!empty(c->redis_url)) {
		struct kv_url u;

		if (kv_url_parse(c->redis_url, &u, err, errlen) != 0)
			return -1;
		kv_url_free(&u);
	}
	/* A path prefix: links are built with it and every request is compared with it, so a value
	 * that cannot be a path is refused here, not by every request. */
	if (!empty(c->base_path) && config_check_base_path(c->base_path, err, errlen) != 0)
		return -1;
	if (need & CONFIG_NEED_JWT) {
		if (empty(c->jwt_secret)) {
			snprintf(err, errlen,
			         "jwt_secret is not set (JWT_SECRET or jwt_secret in the config file)");
			return -1;
		}
		if (strlen(c->jwt_secret) < 32) {
			snprintf(err, errlen, "jwt_secret is shorter than 32 bytes: use a long random value");
			return -1;
		}
		if (!empty(c->stream_key) && strlen(c->stream_key) < 32) {
			snprintf(err, errlen, "stream_key is shorter than 32 bytes: use a long random value");
			return -1;
		}
	}
	if ((need & CONFIG_NEED_MEDIA) && (empty(c->media_root) || c->media_root[0] != '/')) {
		snprintf(err, errlen, "media_root must be an absolute path (MEDIA_ROOT or media_root)");
		return -1;
	}
	if (config_auto_renditions(c, NULL, err, errlen) < 0)
		return -1;
	return 0;
}

/* Appends p[0..n) to out (NUL-terminated, capacity outlen) at *o, cutting what does not fit. */
static void mask_add(char *out, size_t outlen, size_t *o, const char *p, size_t n)
{
	if (*o + 1 >= outlen)
		return;
	if (n > outlen - 1 - *o)
		n = outlen - 1 - *o;
	memcpy(out + *o, p, n);
	*o += n;
	out[*o] = '\0';
}

/*
 * Masks the userinfo password of a URL (scheme://user:password@host) and the value of every
 * "password" keyword (libpq's password and sslpassword), whether conninfo ("password = 'a b'",
 * spaces around '=' and quoted values allowed) or a URL query parameter (?password=x&...).
 */
void config_mask_url(const char *url, char *out, size_t outlen)
{
	const char *scheme = strstr(url, "://");
	const char *p = url, *at, *colon, *kw, *v, *end;
	bool is_url = scheme != NULL;
	size_t o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (is_url) {
		at = strchr(scheme + 3, '@');
		colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
		if (colon != NULL) {
			mask_add(out, outlen, &o, url, (size_t)(colon + 1 - url));
			mask_add(out, outlen, &o, "***", 3);
			p = at;
		}
	}
	for (kw = strstr(p, "password"); kw != NULL; kw = strstr(p, "password")) {
		v = kw + 8;
		while (isspace((unsigned char)*v))
			v++;
		if (*v != '=') {
			mask_add(out, outlen, &o, p, (size_t)(v - p));
			p = v;
			continue;
		}
		v++;
		while (isspace((unsigned char)*v))
			v++;
		end = v;
		if (*end == '\'') {
			/* conninfo quoting: '...' with backslash escapes */
			for (end++; *end != '\0' && *end != '\''; end++)
				if (*end == '\\' && end[1] != '\0')
					end++;
			if (*end == '\'')
				end++;
		} else {
			while (*end != '\0' && !isspace((unsigned char)*end) &&
			       !(is_url && (*end == '&' || *end == '#')))
				end++;
		}
		mask_add(out, outlen, &o, p, (size_t)(v - p));
		mask_add(out, outlen, &o, "***", 3);
		p = end;
	}
	mask_add(out, outlen, &o, p, strlen(p));
}

void config_print(const struct config *c, FILE *out)
{
	size_t i;
	char env[64], masked[CONFIG_MAX_VALUE + 16];

	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
		const struct cfg_key *k = &cfg_keys[i];
		struct config *mc = (struct config *)(void *)c;

		if (k->alias_of != NULL)
			continue;
		cfg_env_name(k, env, sizeof(env));
		switch (k->type) {
		case CFG_STR: {
			const char *v = *cfg_str(mc, k);
			if (v == NULL)
				snprintf(masked, sizeof(masked), "(unset)");
			else if (strstr(k->name, "_url") != NULL && k->secret)
				config_mask_url(v, masked, sizeof(masked));
			else if (k->secret)
				snprintf(masked, sizeof(masked), "%s", *v ? "***" : "(derived)");
			else
				snprintf(masked, sizeof(masked), "%s", v);
			break;
		}
		case CFG_INT:
			snprintf(masked, sizeof(masked), "%lld", *cfg_int(mc, k));
			break;
		case CFG_MODE:
			snprintf(masked, sizeof(masked), "%s",
			         c->stream_mode == STREAM_DIRECT ? "direct" : "x-sendfile");
			break;
		case CFG_BOOL:
			snprintf(masked, sizeof(masked), "%s", *cfg_bool(mc, k) ? "on" : "off");
			break;
		}
		/* The source first: which of file, environment and default won is what an operator
		 * needs when two programs disagree. */
		fprintf(out, "%-24s = %-40s # from %s; env %s: %s\n", k->name, masked,
		        k->offset / 8 < CONFIG_ORIGIN_SLOTS && c->origins[k->offset / 8][0] ?
		                c->origins[k->offset / 8] :
		                "default",
		        env, k->help);
	}
}

void config_print_env_names(FILE *out)
{
	size_t i;
	char env[64];

	/* Aliases too: config_apply_env reads them, so whoever scrubs the environment must know them. */
	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
		cfg_env_name(&cfg_keys[i], env, sizeof(env));
		fprintf(out, "%s\n", env);
	}
}

void config_free(struct config *c)
{
	size_t i;

	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
		if (cfg_keys[i].type == CFG_STR && cfg_keys[i].alias_of == NULL) {
			free(*cfg_str(c, &cfg_keys[i]));
			*cfg_str(c, &cfg_keys[i]) = NULL;
		}
}
