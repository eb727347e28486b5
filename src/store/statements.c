/* statements.c: every prepared statement of the responder; store modules refer to them by name. */
#include "config.h"

#include "store/statements.h"

#include "store/sqlfmt.h"

#define USER_COLS "id, email, password_hash, is_admin, " SQL_TS("created_at")

const struct db_stmt store_statements[] = {
	{ "schema_version", "SELECT coalesce(max(version), '') FROM schema_migrations", 0 },
	/* users */
	{ "users_create",
	  "INSERT INTO users (email, password_hash, is_admin) VALUES ($1, $2, $3) RETURNING id, " SQL_TS("created_at"),
	  3 },
	{ "users_by_email", "SELECT " USER_COLS " FROM users WHERE email = $1", 1 },
	{ "users_by_id", "SELECT " USER_COLS " FROM users WHERE id = $1", 1 },
	{ "users_set_hash", "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1", 2 },
};

const int store_statements_count = (int)(sizeof(store_statements) / sizeof(store_statements[0]));
