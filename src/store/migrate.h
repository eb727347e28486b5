/* migrate.h: applies schema/NNN_name.sql files in order, each once, each in a transaction. */
#ifndef MEDIAD_MIGRATE_H
#define MEDIAD_MIGRATE_H

#include <stdio.h>

struct db;

/*
 * Applies the migrations in dir that schema_migrations does not list, in file-name order, each
 * in its own transaction together with its schema_migrations row, under an advisory lock so two
 * migrators never interleave. Prints one line per applied file to out. Returns the number applied,
 * or -1 (logged) when one failed: that one is rolled back, earlier ones stay. The lock, and the
 * files of many statements sent at once, need a session of their own: db must not go through a
 * transaction pooler (db_open_direct opens it on db_direct_url).
 */
int migrate_run(struct db *db, const char *dir, FILE *out);

#endif
