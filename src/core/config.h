/* config.h: resolved settings: a key = value file overridden by environment variables. */
#ifndef MEDIAD_CONFIG_H
#define MEDIAD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum stream_mode { STREAM_XSENDFILE = 0, STREAM_DIRECT = 1 };

#define CONFIG_ORIGIN_SLOTS 96
/* Longest base_path (request.h's HTTP_MAX_BASE holds it percent-encoded). */
#define CONFIG_BASE_PATH_MAX 200
#define CONFIG_ORIGIN_MAX 96

/*
 * Every key has an environment name: the key upper-cased (database_url -> DATABASE_URL), which
 * matches the names the seeds use. Strings are owned by the struct and freed by config_free.
 */
struct config {
	char *database_url;
	char *db_direct_url; /* a session connection (LISTEN, migrations) past a transaction pooler */
	char *redis_url;
	char *jwt_secret;
	char *stream_key;
	char *media_root;
	char *schema_dir;
	char *public_base_url;
	char *cors_origins; /* checked by cors_check_origins at start-up */
	char *trusted_proxies;
	char *ffmpeg_path;
	char *ffprobe_path;
	char *listen_group;
	char *auto_renditions; /* config_auto_renditions reads it */
	char *base_path;       /* path prefix the API is served under ("" or "/~user/api") */
	long long token_ttl;
	long long stream_ttl;
	long long max_json_bytes;
	long long max_json_depth;
	long long upload_max_bytes;
	long long upload_max_parts;
	long long upload_max_header_bytes;
	long long upload_expiry;
	long long tus_checkpoint_bytes;
	long long upload_max_live;
	long long login_rate_ip_email;
	long long login_rate_ip;
	long long view_rate_limit;
	long long register_rate_ip;
	long long login_fail_account;
	long long storage_quota_bytes;
	long long db_connect_timeout;
	long long redis_timeout_ms;
	long long ffprobe_timeout;
	long long render_concurrency;
	long long render_max_attempts;
	long long render_timeout;
	long long render_lease;
	long long render_poll_interval;
	long long render_grace;
	long long render_max_interruptions;
	long long render_max_queued_per_user;
	long long render_min_free_mb;
	long long db_statement_timeout_ms;
	long long db_lock_timeout_ms;
	long long db_idle_tx_timeout_ms;
	long long db_tcp_timeout;
	/* Between two 8-byte fields: each setting needs an 8-byte word of its own (origins). */
	bool db_prepared;
	long long body_read_timeout_ms;
	long long body_min_rate_bps;
	/* media-hooks (webhook delivery) */
	long long webhook_timeout;
	long long webhook_max_age;
	/* Between two 8-byte fields: each setting needs an 8-byte word of its own (origins). */
	bool webhook_allow_private;
	long long webhook_disable_after;
	long long webhook_concurrency;
	long long webhook_poll_interval;
	long long webhook_lease;
	long long webhook_retention; /* mediactl gc */
	enum stream_mode stream_mode;
	/* Where each value came from ("default", "<file>:<line>", "env MEDIA_ROOT"), for mediactl
	 * config; indexed by the field's offset in 8-byte words (private to config.c). */
	char origins[CONFIG_ORIGIN_SLOTS][CONFIG_ORIGIN_MAX];
};

/* Which settings a program insists on; a missing one stops start-up. */
enum config_need {
	CONFIG_NEED_DB = 1 << 0,
	/* 1 << 1 was redis_url: it may be empty now (no Redis); a set one must parse, always. */
	CONFIG_NEED_JWT = 1 << 2,
	CONFIG_NEED_MEDIA = 1 << 3,
};

/* Sets every field to its default. */
int config_defaults(struct config *c) __attribute__((warn_unused_result));
/*
 * Applies "key = value" lines from text (the content of file name, used in messages), then the
 * environment (getenv for each key's environment name; env may be NULL to skip it).
 * Returns 0, or -1 with one line naming the offending setting in err.
 */
int config_parse(struct config *c, const char *text, const char *name, char *err, size_t errlen)
        __attribute__((warn_unused_result));
int config_apply_env(struct config *c, char *err, size_t errlen) __attribute__((warn_unused_result));
/* The len bytes at name are exactly the name of a setting (what config_parse accepts as a key). */
bool config_key_known(const char *name, size_t len);
/*
 * The whole start-up sequence: defaults, the file (MEDIAD_CONFIG, else the compiled-in default,
 * which may be absent), the environment, then checks for what need requires.
 */
int config_load(struct config *c, unsigned need, char *err, size_t errlen)
        __attribute__((warn_unused_result));
/* Most names auto_renditions may list, and room for one. */
#define CONFIG_RENDITIONS_MAX 8
#define CONFIG_RENDITION_NAME 16
/*
 * The presets auto_renditions names, in order, into names[0..CONFIG_RENDITIONS_MAX) (NULL: only
 * check). Returns how many (0: none), or -1 with err set for a name that is no rendition preset.
 */
int config_auto_renditions(const struct config *c, char names[][CONFIG_RENDITION_NAME], char *err,
                           size_t errlen) __attribute__((warn_unused_result));
int config_check(const struct config *c, unsigned need, char *err, size_t errlen)
        __attribute__((warn_unused_result));
/* Prints every setting as "key = value  # ENV", secrets masked. */
void config_print(const struct config *c, FILE *out);
/*
 * Prints the environment name of every setting, deprecated names included, one per line: each
 * variable config_load reads besides MEDIAD_CONFIG. Reads neither the file nor the environment.
 */
void config_print_env_names(FILE *out);
/* Masks the password in a URL or conninfo string into out. */
void config_mask_url(const char *url, char *out, size_t outlen);
void config_free(struct config *c);

#endif
