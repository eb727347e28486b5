/* migrate.h: applies schema/NNN_name.sql files in order, each once, each in a transaction. */
#ifndef MEDIAD_MIGRATE_H
#define MEDIAD_MIGRATE_H

#include <stdio.h>

struct db;

/*
 * Applies the migrations in dir that schema_migrations does not list, in file-name order, each
 * in its own transaction together with its schema_migrations row. Each transaction first takes an
 * advisory lock of its own (pg_advisory_xact_lock), so two migrators never interleave and no
 * session state is needed: it works directly and through a transaction pooler alike. Prints one
 * line per applied file to out. Returns the number applied, or -1 (logged) when one failed: that
 * one is rolled back, earlier ones stay.
 */
int migrate_run(struct db *db, const char *dir, FILE *out);

#endif
