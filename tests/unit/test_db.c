/* test_db.c: unit tests of store/db.c's statement lookup by name (db_prepared = off), no server. */
#include "config.h"

#include "store/db.h"

#include <CUnit/Basic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hooks/outbox.h"
#include "render/queue.h"
#include "store/statements.h"
#include "unit.h"

/* No server answers here: a found statement gets as far as connecting, which fails (UNAVAILABLE);
 * a name the table lacks never gets that far (INTERNAL). */
#define NOWHERE "host=/nonexistent-mediad-test-socket-dir port=1 dbname=none user=none"

static const struct {
	const char *what;
	const struct db_stmt *stmts;
	const int *n;
} tables[] = {
	{ "store", store_statements, &store_statements_count },
	{ "queue", queue_statements, &queue_statements_count },
	{ "outbox", outbox_statements, &outbox_statements_count },
};

/* What db_exec answers for name, unprepared, against a server that is not there. */
static enum merr exec_unprepared(const struct db_stmt *stmts, int n, const char *name)
{
	struct db *db = db_new(NOWHERE, 1, stmts, n);
	struct pg_result *res;
	enum merr err = MERR_OK;

	CU_ASSERT_FATAL(db != NULL);
	db_set_prepared(db, false);
	res = db_exec(db, name, 0, NULL, &err);
	CU_ASSERT(res == NULL);
	db_clear(res);
	db_free(db);
	return err;
}

static void test_an_unknown_name_is_an_internal_error_before_connecting(void)
{
	CU_ASSERT_EQUAL(exec_unprepared(store_statements, store_statements_count, "no_such_statement"),
	                MERR_INTERNAL);
	/* Around the ends of the sorted index, and an empty table. */
	CU_ASSERT_EQUAL(exec_unprepared(store_statements, store_statements_count, ""), MERR_INTERNAL);
	CU_ASSERT_EQUAL(exec_unprepared(store_statements, store_statements_count, "zzzz"), MERR_INTERNAL);
	CU_ASSERT_EQUAL(exec_unprepared(NULL, 0, "users_get"), MERR_INTERNAL);
}

static void test_every_statement_of_every_table_is_found_by_name(void)
{
	size_t t;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		struct db *db = db_new(NOWHERE, 1, tables[t].stmts, *tables[t].n);
		int i, missed = 0;

		CU_ASSERT_FATAL(db != NULL);
		db_set_prepared(db, false);
		for (i = 0; i < *tables[t].n; i++) {
			enum merr err = MERR_OK;
			struct pg_result *res = db_exec(db, tables[t].stmts[i].name, 0, NULL, &err);

			db_clear(res);
			/* Found: it went on to connect, and the server is not there. */
			if (err != MERR_UNAVAILABLE) {
				fprintf(stderr, "%s: %s: error %d\n", tables[t].what, tables[t].stmts[i].name,
				        (int)err);
				missed++;
			}
		}
		CU_ASSERT_EQUAL(missed, 0);
		db_free(db);
	}
}

static void test_the_ping_statement_is_found_without_a_table(void)
{
	struct db *db = db_new(NOWHERE, 1, NULL, 0);

	CU_ASSERT_FATAL(db != NULL);
	db_set_prepared(db, false);
	CU_ASSERT_EQUAL(db_ping(db), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(db_ping_send(db), MERR_UNAVAILABLE);
	db_free(db);
}

static void test_statement_names_are_distinct_in_every_table(void)
{
	size_t t;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		int i, j, dups = 0;

		for (i = 0; i < *tables[t].n; i++) {
			if (strcmp(tables[t].stmts[i].name, "db_ping") == 0)
				dups++;
			for (j = i + 1; j < *tables[t].n; j++)
				if (strcmp(tables[t].stmts[i].name, tables[t].stmts[j].name) == 0) {
					fprintf(stderr, "%s: %s twice\n", tables[t].what,
					        tables[t].stmts[i].name);
					dups++;
				}
		}
		CU_ASSERT_EQUAL(dups, 0);
	}
}

static const struct unit_test tests[] = {
	{ "an unknown name is an internal error before connecting",
	  test_an_unknown_name_is_an_internal_error_before_connecting },
	{ "every statement of every table is found by name",
	  test_every_statement_of_every_table_is_found_by_name },
	{ "the ping statement is found without a table", test_the_ping_statement_is_found_without_a_table },
	{ "statement names are distinct in every table", test_statement_names_are_distinct_in_every_table },
};

UNIT_SUITES(UNIT_SUITE("db", NULL, NULL, tests));
