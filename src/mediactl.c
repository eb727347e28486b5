/* mediactl.c: the admin tool: migrate, config, and (later) users, jobs and gc. */
#include "config.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/statements.h"
#include "store/users.h"
#include "auth/account.h"
#include "auth/password.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: mediactl migrate        apply pending schema migrations\n"
	             "       mediactl config         print the resolved settings, secrets masked\n"
	             "       mediactl user add EMAIL [--admin]\n"
	             "                               create a user; the password is read from stdin\n"
	             "Settings come from $MEDIAD_CONFIG (default " MEDIAD_SYSCONFDIR "/mediad.conf) and the "
	             "environment.\n");
}

static int cmd_migrate(const struct config *cfg)
{
	struct db *db = db_new(cfg->database_url, (int)cfg->db_connect_timeout, NULL, 0);
	int n;

	if (db == NULL) {
		fprintf(stderr, "mediactl: out of memory\n");
		return 1;
	}
	n = migrate_run(db, cfg->schema_dir, stdout);
	db_free(db);
	if (n < 0) {
		fprintf(stderr, "mediactl: migrate failed (see the message above)\n");
		return 1;
	}
	printf("%d migration%s applied\n", n, n == 1 ? "" : "s");
	return 0;
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
	db = db_new(cfg->database_url, (int)cfg->db_connect_timeout, store_statements,
	            store_statements_count);
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

int main(int argc, char **argv)
{
	struct config cfg;
	char err[512];
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
	if (strcmp(argv[1], "config") == 0 && argc == 2) {
		if (config_load(&cfg, 0, err, sizeof(err)) != 0) {
			fprintf(stderr, "mediactl: configuration: %s\n", err);
			rc = 78;
		} else {
			config_print(&cfg, stdout);
			rc = 0;
		}
	} else if (strcmp(argv[1], "migrate") == 0 && argc == 2) {
		if (config_load(&cfg, CONFIG_NEED_DB, err, sizeof(err)) != 0) {
			fprintf(stderr, "mediactl: configuration: %s\n", err);
			rc = 78;
		} else {
			rc = cmd_migrate(&cfg);
		}
	} else if (strcmp(argv[1], "user") == 0 && argc >= 4 && argc <= 5 && strcmp(argv[2], "add") == 0 &&
	           (argc == 4 || strcmp(argv[4], "--admin") == 0)) {
		if (config_load(&cfg, CONFIG_NEED_DB, err, sizeof(err)) != 0) {
			fprintf(stderr, "mediactl: configuration: %s\n", err);
			rc = 78;
		} else {
			rc = cmd_user_add(&cfg, argv[3], argc == 5);
		}
	} else {
		usage(stderr);
		return 2;
	}
	config_free(&cfg);
	return rc;
}
