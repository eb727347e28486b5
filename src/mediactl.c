/* mediactl.c: the admin tool: migrate, config, and (later) users, jobs and gc. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "store/db.h"
#include "store/migrate.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: mediactl migrate        apply pending schema migrations\n"
	             "       mediactl config         print the resolved settings, secrets masked\n"
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

int main(int argc, char **argv)
{
	struct config cfg;
	char err[512];
	int rc = 2;

	log_init("mediactl");
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
	} else {
		usage(stderr);
		return 2;
	}
	config_free(&cfg);
	return rc;
}
