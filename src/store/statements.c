/* statements.c: every prepared statement of the responder; store modules refer to them by name. */
#include "config.h"

#include "store/statements.h"

const struct db_stmt store_statements[] = {
	{ "schema_version", "SELECT coalesce(max(version), '') FROM schema_migrations", 0 },
};

const int store_statements_count = (int)(sizeof(store_statements) / sizeof(store_statements[0]));
