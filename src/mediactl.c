/* mediactl.c: the admin tool: init, migrate, config, users, gc, status and presets. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "media/probe.h"
#include "render/presets.h"
#include "render/rendition.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/statements.h"
#include "store/users.h"
#include "util/buf.h"
#include "auth/account.h"
#include "auth/password.h"
#include "admin/gc.h"
#include "admin/status.h"

static int load_config(struct config *cfg, unsigned need);

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: mediactl init [FILE] [--database-url URL] [--media-root DIR]\n"
	        "                     [--base-path PATH] [--stream-mode x-sendfile|direct]\n"
	        "                     [--public-base-url URL] [--redis-url URL] [--set KEY=VALUE]...\n"
	        "                               write a new configuration file (FILE, else\n"
	        "                               $MEDIAD_CONFIG) with fresh secrets, mode 0600, never\n"
	        "                               over an existing one; make the media root; apply the\n"
	        "                               migrations. database_url: --database-url or\n"
	        "                               $DATABASE_URL\n"
	        "       mediactl migrate        apply pending schema migrations\n"
	        "       mediactl config         print the resolved settings, secrets masked\n"
	        "       mediactl config --env-names\n"
	        "                               print the environment name of every setting\n"
	        "       mediactl user add EMAIL [--admin]\n"
	        "                               create a user; the password is read from stdin\n"
	        "       mediactl gc [--dry-run] [--older-than DURATION]\n"
	        "                               remove temp files and files no media row names in\n"
	        "                               uploads/ and outputs/, once older than DURATION (30s,\n"
	        "                               10m, 2h, 7d or seconds; default 1h, at least 60s);\n"
	        "                               list media rows whose file is missing; remove webhook\n"
	        "                               deliveries finished over webhook_retention ago\n"
	        "       mediactl status         render jobs, active jobs, spawners, recent failures;\n"
	        "                               exit 3 when jobs wait and no spawner was seen for 2 min\n"
	        "       mediactl presets        list the render presets: name, extension, output kind,\n"
	        "                               input kinds\n"
	        "       mediactl presets --argv NAME IN OUT [--kind KIND] [--duration-ms MS]\n"
	        "                               print the ffmpeg argv of preset NAME, one argument a\n"
	        "                               line; IN is probed with ffprobe unless --kind is given\n"
	        "Settings come from $MEDIAD_CONFIG (default " MEDIAD_SYSCONFDIR "/mediad.conf) and the "
	        "environment.\n");
}

static int cmd_migrate(const struct config *cfg)
{
	/* db_direct_url when set (PostgreSQL itself): migrating works through a transaction pooler
	 * too (each file is one transaction holding the lock), but a long one is better not queued
	 * behind the pool. */
	struct db *db = db_open_direct(cfg, NULL, 0);
	struct db_limits lim = {
		/* A migration may rewrite a big table: no statement limit, but lock waits stay bounded
		 * (a minute) so a migration never queues forever behind a long transaction. */
		.statement_timeout_ms = 0,
		.lock_timeout_ms = 60000,
		.idle_tx_timeout_ms = cfg->db_idle_tx_timeout_ms,
		.tcp_timeout_s = cfg->db_tcp_timeout,
	};
	int n;

	if (db == NULL) {
		fprintf(stderr, "mediactl: out of memory\n");
		return 1;
	}
	db_set_limits(db, &lim);
	n = migrate_run(db, cfg->schema_dir, stdout);
	db_free(db);
	if (n < 0) {
		fprintf(stderr, "mediactl: migrate failed (see the message above)\n");
		return 1;
	}
	printf("%d migration%s applied\n", n, n == 1 ? "" : "s");
	return 0;
}

/* What `mediactl init` writes: each setting given, in the order given (a later one of the same key
 * wins, as in the file). */
#define INIT_MAX_SETTINGS 64
struct init_opts {
	const char *file;
	size_t n;
	struct {
		char key[64];
		const char *value;
	} set[INIT_MAX_SETTINGS];
};

/*
 * Adds key = value to o. Returns 0, or 2 after saying why: too many, a key that is no setting
 * (a '#' or a line break would make it a comment or another line), or a value with a line break.
 * A '#' in a value is kept: the parser reads it as part of the value (there are no trailing
 * comments), and passwords may hold one.
 */
static int init_add(struct init_opts *o, const char *key, size_t keylen, const char *value)
{
	if (o->n >= INIT_MAX_SETTINGS) {
		fprintf(stderr, "mediactl: init: more than %d settings\n", INIT_MAX_SETTINGS);
		return 2;
	}
	if (keylen >= sizeof(o->set[0].key) || !config_key_known(key, keylen)) {
		char shown[65];
		size_t i;

		/* Shown on one line, whatever it holds. */
		for (i = 0; i < keylen && i + 1 < sizeof(shown); i++)
			shown[i] = isprint((unsigned char)key[i]) ? key[i] : '?';
		shown[i] = '\0';
		fprintf(stderr,
		        "mediactl: init: \"%s\" is not a setting (`mediactl config` lists them all)\n",
		        shown);
		return 2;
	}
	if (strpbrk(value, "\r\n") != NULL) {
		fprintf(stderr, "mediactl: init: the value of %.*s holds a line break\n", (int)keylen, key);
		return 2;
	}
	memcpy(o->set[o->n].key, key, keylen);
	o->set[o->n].key[keylen] = '\0';
	o->set[o->n].value = value;
	o->n++;
	return 0;
}

/* The value init writes for key: the last one given, or NULL. */
static const char *init_get(const struct init_opts *o, const char *key)
{
	size_t i = o->n;

	while (i-- > 0)
		if (strcmp(o->set[i].key, key) == 0)
			return o->set[i].value;
	return NULL;
}

/*
 * A connection string holds a password: a conninfo or URL parameter "password=", or a URL's
 * "user:password@" before its host.
 */
static bool url_holds_password(const char *url)
{
	const char *p, *host;
	size_t n;

	for (p = url; *p != '\0'; p++)
		if (strncasecmp(p, "password=", 9) == 0)
			return true;
	host = strstr(url, "://");
	if (host == NULL)
		return false;
	host += 3;
	n = strcspn(host, "/?#");
	p = memchr(host, '@', n);
	return p != NULL && memchr(host, ':', (size_t)(p - host)) != NULL;
}

/* Warns when a connection string on the command line holds a password: on a shared host every
 * user can read other users' command lines (ps). */
static void init_warn_password(const char *key, const char *value)
{
	char env[64];
	size_t i, n = strlen(key);

	if (n <= 4 || strcmp(key + n - 4, "_url") != 0 || !url_holds_password(value))
		return;
	for (i = 0; i < n && i + 1 < sizeof(env); i++)
		env[i] = (char)toupper((unsigned char)key[i]);
	env[i] = '\0';
	fprintf(stderr,
	        "mediactl: init: warning: the %s on the command line holds a password, which other "
	        "users can see (ps); set it in the environment instead: %s='...' mediactl init\n",
	        key, env);
}

/*
 * Parses init's arguments (those after "init"): [FILE] and the options. --database-url falls back
 * to $DATABASE_URL and --redis-url to $REDIS_URL, so the file holds what the programs will use.
 * Returns 0, or 2 (a usage error) after printing why to stderr.
 */
static int init_args(int argc, char **argv, struct init_opts *o)
{
	static const struct {
		const char *opt, *key;
	} named[] = {
		{ "--database-url", "database_url" },
		{ "--media-root", "media_root" },
		{ "--base-path", "base_path" },
		{ "--stream-mode", "stream_mode" },
		{ "--public-base-url", "public_base_url" },
		{ "--redis-url", "redis_url" },
	};
	const char *env;
	size_t k;
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq;

		if (a[0] != '-') {
			if (o->file != NULL) {
				fprintf(stderr, "mediactl: init: one FILE only (got %s and %s)\n", o->file,
				        a);
				return 2;
			}
			o->file = a;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "mediactl: init: a value must follow %s\n", a);
			return 2;
		}
		if (strcmp(a, "--set") == 0) {
			eq = strchr(argv[i + 1], '=');
			if (eq == NULL) {
				fprintf(stderr, "mediactl: init: --set takes KEY=VALUE (got %s)\n",
				        argv[i + 1]);
				return 2;
			}
			if (init_add(o, argv[i + 1], (size_t)(eq - argv[i + 1]), eq + 1) != 0)
				return 2;
			init_warn_password(o->set[o->n - 1].key, eq + 1);
			i++;
			continue;
		}
		for (k = 0; k < sizeof(named) / sizeof(named[0]); k++)
			if (strcmp(a, named[k].opt) == 0)
				break;
		if (k == sizeof(named) / sizeof(named[0])) {
			fprintf(stderr, "mediactl: init: unknown option %s\n", a);
			return 2;
		}
		if (init_add(o, named[k].key, strlen(named[k].key), argv[++i]) != 0)
			return 2;
		init_warn_password(named[k].key, argv[i]);
	}
	env = getenv("DATABASE_URL");
	if (init_get(o, "database_url") == NULL && env != NULL && env[0] != '\0' &&
	    init_add(o, "database_url", strlen("database_url"), env) != 0)
		return 2;
	env = getenv("REDIS_URL");
	if (init_get(o, "redis_url") == NULL && env != NULL && env[0] != '\0' &&
	    init_add(o, "redis_url", strlen("redis_url"), env) != 0)
		return 2;
	if (init_get(o, "database_url") == NULL) {
		fprintf(stderr, "mediactl: init: no database: give --database-url URL or set DATABASE_URL\n");
		return 2;
	}
	if (o->file == NULL)
		o->file = getenv("MEDIAD_CONFIG");
	if (o->file == NULL || o->file[0] == '\0')
		o->file = MEDIAD_SYSCONFDIR "/mediad.conf";
	return 0;
}

/* Appends "key = value\n" to out, the value quoted when the parser would otherwise trim it. */
static int init_line(struct buf *out, const char *key, const char *value)
{
	size_t n = strlen(value);
	bool quote = n > 0 && (value[0] == ' ' || value[0] == '\t' || value[0] == '"' ||
	                       value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '"');

	return buf_printf(out, "%s = %s%s%s\n", key, quote ? "\"" : "", value, quote ? "\"" : "");
}

/* Makes dir (mode 0750, parents as needed); an existing folder is fine. Returns 0 or errno. */
static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t i, n = strlen(dir);
	struct stat st;

	if (n == 0 || n >= sizeof(p))
		return ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0750) != 0 && errno != EEXIST)
			return errno;
		if (stat(p, &st) != 0)
			return errno;
		if (!S_ISDIR(st.st_mode))
			return ENOTDIR;
		p[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/*
 * Writes text as a new file at path (mode 0600), never over an existing one, so that a crash
 * leaves no file or the whole of it: into a temporary file beside it (O_EXCL, O_NOFOLLOW),
 * synced, then linked to path and the folder synced. Returns 0, EEXIST (path exists; left as it
 * is, nothing said) or -1 after one line on stderr. The temporary file is gone on every path.
 */
static int init_write(const char *path, const struct buf *text)
{
	unsigned char rnd[6];
	char hex[2 * sizeof(rnd) + 1], tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int fd = -1, dfd = -1, rc = -1, e;
	bool made = false;
	size_t off;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	e = snprintf(tmp, sizeof(tmp), "%s.init-%s", path, hex);
	if (e < 0 || (size_t)e >= sizeof(tmp) || strlen(path) >= sizeof(dir)) {
		fprintf(stderr, "mediactl: init: cannot create %s: %s\n", path, strerror(ENAMETOOLONG));
		goto out;
	}
	/* The umask may take bits off, never add any: 0600 is what the secrets need. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "mediactl: init: cannot create %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	made = true;
	for (off = 0; off < text->len;) {
		ssize_t w = write(fd, text->data + off, text->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "mediactl: init: cannot write %s: %s\n", tmp,
			        w < 0 ? strerror(errno) : "short write");
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		fprintf(stderr, "mediactl: init: cannot write %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	e = close(fd);
	fd = -1;
	if (e != 0) {
		fprintf(stderr, "mediactl: init: cannot write %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	/* link, not rename: it fails on an existing path instead of replacing it. */
	if (link(tmp, path) != 0) {
		if (errno == EEXIST)
			rc = EEXIST;
		else
			fprintf(stderr, "mediactl: init: cannot create %s: %s\n", path, strerror(errno));
		goto out;
	}
	rc = 0;
	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir ? 1 : 0] = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0)
		fprintf(stderr, "mediactl: init: warning: cannot sync the folder %s: %s\n", dir,
		        strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (made && unlink(tmp) != 0)
		fprintf(stderr, "mediactl: init: cannot remove %s: %s\n", tmp, strerror(errno));
	return rc;
}

/*
 * mediactl init: checks the settings, writes a new configuration file with fresh secrets
 * (init_write: mode 0600, an existing file is never touched, a crash leaves no half file), reads it
 * back as every program will (file, then environment), makes that media root's folders and
 * applies the migrations. One line per thing done. Returns 0, 1 (something failed: one
 * line says what; a file already written stays, and says so) or 78 (the settings are invalid;
 * nothing written).
 */
static int cmd_init(struct init_opts *o)
{
	unsigned char rnd[32];
	char jwt[2 * sizeof(rnd) + 1], skey[2 * sizeof(rnd) + 1], err[512], stamp[64], path[PATH_MAX];
	struct buf text = BUF_INIT;
	struct config cfg;
	bool cfg_loaded = false;
	const char *root;
	time_t now = time(NULL);
	size_t i;
	int e, rc = 1;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(jwt, sizeof(jwt), rnd, sizeof(rnd));
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(skey, sizeof(skey), rnd, sizeof(rnd));
	sodium_memzero(rnd, sizeof(rnd));
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	if (buf_printf(&text,
	               "# mediad.conf: written by `mediactl init` on %s. One \"key = value\" a line;\n"
	               "# every setting and its default: mediad.conf.sample, or `mediactl config`.\n"
	               "# It holds secrets: keep it mode 0600, readable only by the user that runs mediad.\n",
	               stamp) != 0 ||
	    init_line(&text, "jwt_secret", jwt) != 0 || init_line(&text, "stream_key", skey) != 0) {
		fprintf(stderr, "mediactl: init: out of memory\n");
		goto out;
	}
	for (i = 0; i < o->n; i++) {
		if (init_line(&text, o->set[i].key, o->set[i].value) != 0) {
			fprintf(stderr, "mediactl: init: out of memory\n");
			goto out;
		}
	}
	/* Checked as the programs will read it before anything is written: a wrong key or value
	 * leaves no file behind. */
	if (config_defaults(&cfg) != 0) {
		fprintf(stderr, "mediactl: init: out of memory\n");
		goto out;
	}
	cfg_loaded = true;
	if (config_parse(&cfg, text.data, o->file, err, sizeof(err)) != 0 ||
	    config_check(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT | CONFIG_NEED_MEDIA, err, sizeof(err)) != 0) {
		fprintf(stderr, "mediactl: init: %s; nothing written\n", err);
		rc = 78;
		goto out;
	}
	e = init_write(o->file, &text);
	if (e == EEXIST)
		fprintf(stderr,
		        "mediactl: init: %s already exists; it was left as it is (remove it, or name "
		        "another file)\n",
		        o->file);
	if (e != 0)
		goto out;
	printf("wrote %s (mode 0600) with a new jwt_secret and stream_key\n", o->file);

	/* From here on, the settings as every program sees them: this file, then the environment
	 * (MEDIA_ROOT there wins over the file's media_root). */
	config_free(&cfg);
	cfg_loaded = false;
	if (setenv("MEDIAD_CONFIG", o->file, 1) != 0 ||
	    load_config(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT | CONFIG_NEED_MEDIA) != 0) {
		fprintf(stderr, "mediactl: init: %s is written, but cannot be read back\n", o->file);
		goto out;
	}
	cfg_loaded = true;
	root = cfg.media_root;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, i == 0 ? "uploads" : "outputs");
		e = mkdir_p(path);
		if (e != 0) {
			fprintf(stderr, "mediactl: init: cannot make %s: %s (the configuration is written)\n",
			        path, strerror(e));
			goto out;
		}
	}
	printf("media root %s ready (uploads/, outputs/)\n", root);
	if (cmd_migrate(&cfg) != 0) {
		fprintf(stderr,
		        "mediactl: init: %s is written; once the database is reachable, run `mediactl "
		        "migrate`\n",
		        o->file);
		goto out;
	}
	rc = 0;
out:
	if (cfg_loaded)
		config_free(&cfg);
	sodium_memzero(jwt, sizeof(jwt));
	sodium_memzero(skey, sizeof(skey));
	if (text.data != NULL)
		sodium_memzero(text.data, text.len);
	buf_free(&text);
	return rc;
}

/* Reads one line (the password) from stdin, without its line ending. Returns its length or -1. */
static long read_password(char *out, size_t outlen)
{
	size_t n;

	if (fgets(out, (int)outlen, stdin) == NULL)
		return -1;
	n = strlen(out);
	if (n > 0 && out[n - 1] != '\n' && !feof(stdin))
		return -2; /* longer than the buffer */
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return (long)n;
}

static int cmd_user_add(const struct config *cfg, const char *email, bool admin)
{
	char pw[ACCOUNT_PASSWORD_MAX_BYTES + 2];
	struct user u;
	struct verr e;
	struct db *db = NULL;
	long n;
	enum merr err;
	int rc = 1;

	memset(&u, 0, sizeof(u));
	if (!account_email_normalize(email, u.email, sizeof(u.email), &e)) {
		fprintf(stderr, "mediactl: %s\n", e.message);
		goto out;
	}
	n = read_password(pw, sizeof(pw));
	if (n == -1) {
		fprintf(stderr, "mediactl: no password on stdin (echo 'secret' | mediactl user add ...)\n");
		goto out;
	}
	if (n == -2 || !account_password_ok(pw, (size_t)n, &e)) {
		fprintf(stderr, "mediactl: %s\n",
		        n == -2 ? "password must be at most 1024 bytes" : e.message);
		goto out;
	}
	if (password_hash(pw, (size_t)n, u.password_hash) != 0) {
		fprintf(stderr, "mediactl: out of memory hashing the password\n");
		goto out;
	}
	u.is_admin = admin;
	db = db_open(cfg, store_statements, store_statements_count);
	if (db == NULL)
		goto out;
	err = users_create(db, &u);
	if (err == MERR_CONFLICT) {
		fprintf(stderr, "mediactl: a user with email %s already exists\n", u.email);
		goto out;
	}
	if (err != MERR_OK) {
		fprintf(stderr, "mediactl: could not create the user (%s)\n", merr_code(err));
		goto out;
	}
	printf("created user %lld %s%s\n", (long long)u.id, u.email, admin ? " (admin)" : "");
	rc = 0;
out:
	sodium_memzero(pw, sizeof(pw));
	db_free(db);
	return rc;
}

/*
 * Parses gc's arguments (those after "gc") into o. Returns 0, or 2 (a usage error) after printing
 * why to stderr.
 */
static int gc_args(int argc, char **argv, struct gc_opts *o)
{
	int i;

	o->older_than = GC_DEFAULT_AGE;
	o->dry_run = false;
	for (i = 0; i < argc; i++) {
		const char *v;

		if (strcmp(argv[i], "--dry-run") == 0) {
			o->dry_run = true;
			continue;
		}
		if (strcmp(argv[i], "--older-than") == 0 && i + 1 < argc) {
			v = argv[++i];
		} else if (strncmp(argv[i], "--older-than=", 13) == 0) {
			v = argv[i] + 13;
		} else {
			fprintf(stderr, "mediactl: gc: %s %s\n",
			        strcmp(argv[i], "--older-than") == 0 ? "a duration must follow" :
			                                               "unknown argument",
			        argv[i]);
			usage(stderr);
			return 2;
		}
		if (gc_parse_duration(v, &o->older_than) != 0) {
			fprintf(stderr,
			        "mediactl: gc: --older-than '%s' is not a duration: 30s, 10m, 2h, 7d or seconds, "
			        "at most 3650d\n",
			        v);
			return 2;
		}
		if (o->older_than < GC_MIN_AGE) {
			fprintf(stderr,
			        "mediactl: gc: --older-than must be at least %ds: a shorter bound could remove a "
			        "render or an upload still being written\n",
			        GC_MIN_AGE);
			return 2;
		}
	}
	return 0;
}

static int cmd_gc(const struct config *cfg, const struct gc_opts *o)
{
	/* db_open: the configured bounds (db_statement_timeout_ms...) apply to these queries too. */
	struct db *db = db_open(cfg, gc_statements, gc_statements_count);
	int rc;

	if (db == NULL) {
		fprintf(stderr, "mediactl: out of memory\n");
		return 1;
	}
	/* Line by line, so the actions and the errors (stderr) interleave rightly in a cron log. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* An upload's file waits unprotected between its rename and its row for about one ffprobe run
	 * (see gc.c); allowed, since ffprobe_timeout is the operator's, but said: on stdout, with the
	 * report (the crontab's log file), since stderr is for a run that fails (cron mails it). */
	if (o->older_than <= cfg->ffprobe_timeout)
		printf("mediactl: gc: warning: --older-than %llds is not above ffprobe_timeout (%llds): an "
		       "upload being stored could be removed\n",
		       o->older_than, cfg->ffprobe_timeout);
	rc = gc_run(db, cfg->media_root, o, stdout);
	db_free(db);
	return rc;
}

static int cmd_status(const struct config *cfg)
{
	struct db *db = db_open(cfg, status_statements, status_statements_count);
	int rc;

	if (db == NULL) {
		fprintf(stderr, "mediactl: out of memory\n");
		return 1;
	}
	rc = status_run(db, stdout);
	db_free(db);
	return rc;
}

/* mediactl presets: one line per preset: its name, output extension, output kind and input kinds. */
static int cmd_presets_list(void)
{
	static const char *const kinds[] = { "image", "video", "audio" };
	size_t i, k;

	for (i = 0; preset_at(i) != NULL; i++) {
		const struct preset *p = preset_at(i);
		const char *sep = "";

		/* A rendition preset writes a folder: no extension, shown as "-". */
		printf("%s %s %s ", preset_name(p), preset_ext(p)[0] ? preset_ext(p) : "-",
		       preset_output_kind(p));
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if (!preset_accepts(p, kinds[k]))
				continue;
			printf("%s%s", sep, kinds[k]);
			sep = ",";
		}
		printf("\n");
	}
	return 0;
}

struct presets_opts {
	const char *name, *in, *out;
	const char *kind;    /* NULL: probe the input */
	int64_t duration_ms; /* -1: the probe's (or unknown with --kind) */
};

/*
 * Parses the arguments after "presets --argv": NAME IN OUT [--kind KIND] [--duration-ms MS].
 * Returns 0, or 2 (a usage error) after printing why to stderr.
 */
static int presets_args(int argc, char **argv, struct presets_opts *o)
{
	int i;

	if (argc < 3) {
		fprintf(stderr, "mediactl: presets --argv needs NAME IN OUT\n");
		return 2;
	}
	o->name = argv[0];
	o->in = argv[1];
	o->out = argv[2];
	o->kind = NULL;
	o->duration_ms = -1;
	/* One argument a line: a path holding a line break could not be read back. */
	if (*o->in == '\0' || *o->out == '\0' || strchr(o->in, '\n') != NULL ||
	    strchr(o->out, '\n') != NULL) {
		fprintf(stderr,
		        "mediactl: presets: IN and OUT must be non-empty paths without line breaks\n");
		return 2;
	}
	for (i = 3; i < argc; i += 2) {
		char *end;
		long long v;

		if (i + 1 >= argc) {
			fprintf(stderr, "mediactl: presets: a value must follow %s\n", argv[i]);
			return 2;
		}
		if (strcmp(argv[i], "--kind") == 0) {
			o->kind = argv[i + 1];
			if (strcmp(o->kind, "image") != 0 && strcmp(o->kind, "video") != 0 &&
			    strcmp(o->kind, "audio") != 0) {
				fprintf(stderr, "mediactl: presets: --kind must be image, video or audio\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--duration-ms") == 0) {
			errno = 0;
			v = strtoll(argv[i + 1], &end, 10);
			if (errno != 0 || end == argv[i + 1] || *end != '\0' || v < 1 ||
			    v > 1000000000000LL) {
				fprintf(stderr,
				        "mediactl: presets: --duration-ms must be a positive number of "
				        "milliseconds\n");
				return 2;
			}
			o->duration_ms = v;
		} else {
			fprintf(stderr, "mediactl: presets: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	return 0;
}

/* path made absolute (against the working folder) into out. Returns false when it does not fit. */
static bool absolute_path(const char *path, char *out, size_t outlen)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(out, outlen, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		n = snprintf(out, outlen, "%s/%s", cwd, path);
	else
		return false;
	return n > 0 && (size_t)n < outlen;
}

/* presets --argv for a rendition preset: out is the folder ffmpeg writes into. */
static int presets_rendition_argv(const struct config *cfg, const struct preset *p, const char *in,
                                  const char *kind, int64_t duration_ms, const struct probe_result *pr,
                                  const char *out)
{
	struct rend_input ri = {
		.path = in,
		.kind = kind,
		.duration_ms = duration_ms,
		.width = pr->width,
		.height = pr->height,
		.has_audio = pr->audio_codec[0] != '\0',
		.frame_rate_milli = pr->frame_rate_milli,
	};
	struct rend_plan plan;
	struct rend_argv *a;
	int64_t total_us;
	char why[256];
	int i, rc = 1;

	if (rend_plan((enum rend_kind)preset_rendition(p), &ri, &plan, why, sizeof(why)) != 0) {
		fprintf(stderr, "mediactl: presets: preset %s: %s\n", preset_name(p), why);
		return 1;
	}
	a = malloc(sizeof(*a));
	if (a == NULL) {
		fprintf(stderr, "mediactl: out of memory\n");
		return 1;
	}
	if (rend_argv(&plan, &ri, cfg->ffmpeg_path, out, a, &total_us) != 0) {
		fprintf(stderr, "mediactl: presets: the argv does not fit\n");
	} else {
		for (i = 0; i < a->n; i++)
			printf("%s\n", a->argv[i]);
		rc = 0;
	}
	free(a);
	return rc;
}

/*
 * mediactl presets --argv: prints the argv preset_argv builds (what media-spawner runs for a job
 * of that preset), one argument a line. The input's kind and duration come from ffprobe, as an
 * upload records them, unless --kind says. Returns 0, 1 (the input or the preset does not fit) or
 * 2 (an unknown preset).
 */
static int cmd_presets_argv(const struct config *cfg, const struct presets_opts *o)
{
	const struct preset *p = preset_find(o->name);
	const char *argv[PRESET_MAX_ARGS];
	char in[PATH_MAX], out[PATH_MAX], scratch[2 * PATH_MAX + 64], why[256];
	const char *kind = o->kind;
	int64_t duration_ms = o->duration_ms, total_us = 0;
	struct probe_result pr;
	int n, i;

	if (p == NULL) {
		fprintf(stderr, "mediactl: presets: unknown preset %s (%s)\n", o->name, preset_names());
		return 2;
	}
	if (!absolute_path(o->in, in, sizeof(in)) || !absolute_path(o->out, out, sizeof(out))) {
		fprintf(stderr, "mediactl: presets: a path is too long\n");
		return 1;
	}
	probe_result_reset(&pr);
	/* A rendition's argv depends on the input's size and streams: always probed. */
	if (kind == NULL || preset_rendition(p) != REND_NONE) {
		if (probe_file(cfg->ffprobe_path, in, (int)cfg->ffprobe_timeout, &pr, why, sizeof(why)) !=
		    0) {
			fprintf(stderr, "mediactl: presets: %s: %s\n", o->in, why);
			return 1;
		}
		if (pr.kind == PROBE_OTHER) {
			fprintf(stderr, "mediactl: presets: %s is not an image, video or audio file: %s\n",
			        o->in, pr.found);
			return 1;
		}
		if (kind == NULL)
			kind = probe_kind_name(pr.kind);
		if (duration_ms < 0)
			duration_ms = pr.duration_ms;
	}
	if (preset_rendition(p) != REND_NONE)
		return presets_rendition_argv(cfg, p, in, kind, duration_ms, &pr, out);
	n = preset_argv(p, cfg->ffmpeg_path, in, kind, duration_ms, out, argv, scratch, sizeof(scratch),
	                &total_us);
	if (n < 0) {
		fprintf(stderr, "mediactl: presets: preset %s does not take %s input\n", o->name, kind);
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%s\n", argv[i]);
	return 0;
}

/* Loads the settings with need checked. Returns 0, or 78 (EX_CONFIG) after printing the problem. */
static int load_config(struct config *cfg, unsigned need)
{
	char err[512];

	if (config_load(cfg, need, err, sizeof(err)) != 0) {
		fprintf(stderr, "mediactl: configuration: %s\n", err);
		return 78;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct gc_opts gc;
	struct presets_opts po;
	int rc = 2;

	log_init("mediactl");
	if (sodium_init() < 0) {
		fprintf(stderr, "mediactl: libsodium failed to initialise\n");
		return 1;
	}
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* These two read no settings: they describe the program itself. */
	if (strcmp(argv[1], "config") == 0 && argc == 3 && strcmp(argv[2], "--env-names") == 0) {
		config_print_env_names(stdout);
		return 0;
	}
	if (strcmp(argv[1], "presets") == 0 && argc == 2)
		return cmd_presets_list();
	if (strcmp(argv[1], "config") == 0 && argc == 2) {
		rc = load_config(&cfg, 0);
		if (rc == 0)
			config_print(&cfg, stdout);
	} else if (strcmp(argv[1], "init") == 0) {
		struct init_opts *io = malloc(sizeof(*io));

		if (io == NULL) {
			fprintf(stderr, "mediactl: out of memory\n");
			return 1;
		}
		rc = init_args(argc - 2, argv + 2, io);
		if (rc == 0)
			rc = cmd_init(io);
		free(io);
		return rc;
	} else if (strcmp(argv[1], "migrate") == 0 && argc == 2) {
		rc = load_config(&cfg, CONFIG_NEED_DB);
		if (rc == 0)
			rc = cmd_migrate(&cfg);
	} else if (strcmp(argv[1], "user") == 0 && argc >= 4 && argc <= 5 && strcmp(argv[2], "add") == 0 &&
	           (argc == 4 || strcmp(argv[4], "--admin") == 0)) {
		rc = load_config(&cfg, CONFIG_NEED_DB);
		if (rc == 0)
			rc = cmd_user_add(&cfg, argv[3], argc == 5);
	} else if (strcmp(argv[1], "gc") == 0) {
		/* Usage errors before the configuration: exit 2 means the command line, always. */
		if (gc_args(argc - 2, argv + 2, &gc) != 0)
			return 2;
		rc = load_config(&cfg, CONFIG_NEED_DB | CONFIG_NEED_MEDIA);
		if (rc == 0) {
			gc.webhook_retention = cfg.webhook_retention;
			rc = cmd_gc(&cfg, &gc);
		}
	} else if (strcmp(argv[1], "status") == 0 && argc == 2) {
		rc = load_config(&cfg, CONFIG_NEED_DB);
		if (rc == 0)
			rc = cmd_status(&cfg);
	} else if (strcmp(argv[1], "presets") == 0 && argc >= 3 && strcmp(argv[2], "--argv") == 0) {
		/* Usage errors before the configuration, as for gc. */
		if (presets_args(argc - 3, argv + 3, &po) != 0)
			return 2;
		rc = load_config(&cfg, 0);
		if (rc == 0)
			rc = cmd_presets_argv(&cfg, &po);
	} else {
		usage(stderr);
		return 2;
	}
	config_free(&cfg);
	return rc;
}
