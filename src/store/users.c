/* users.c: user rows through prepared statements (see statements.c), shaped by USER_COLUMNS. */
#include "config.h"

#include "store/users.h"

#include <libpq-fe.h>
#include <stdlib.h>

#include "store/params.h"
#include "store/rows.h"

#define USER_COL(...) ROW_COL(struct user, __VA_ARGS__)
static const struct row_col user_cols[] = { USER_COLUMNS(USER_COL, USER_COL) };
static const struct row_table user_table = ROW_TABLE(user_cols);

enum merr users_create(struct db *db, struct user *u)
{
	struct params p = PARAMS_INIT;

	params_str(&p, u->email);
	params_str(&p, u->password_hash);
	params_bool(&p, u->is_admin);
	/* The parameters point into u; the row is read back into u only after the statement ran. */
	return row_one(db, "users_create", &p, &user_table, u);
}

enum merr users_by_email(struct db *db, const char *email, struct user *u)
{
	struct params p = PARAMS_INIT;

	params_str(&p, email);
	return row_one(db, "users_by_email", &p, &user_table, u);
}

enum merr users_me(struct db *db, int64_t id, struct user *u, int64_t *used_bytes)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	params_int(&p, id);
	err = row_exec_one(db, "users_me", &p, &r);
	if (err != MERR_OK)
		return err;
	row_fill(u, &user_table, r, 0);
	*used_bytes = strtoll(PQgetvalue(r, 0, user_table.n), NULL, 10);
	PQclear(r);
	return MERR_OK;
}

enum merr users_set_hash(struct db *db, int64_t id, const char *hash)
{
	struct params p = PARAMS_INIT;

	params_int(&p, id);
	params_str(&p, hash);
	return row_run(db, "users_set_hash", &p);
}
