/* users.c: user rows through prepared statements (see statements.c). */
#include "config.h"

#include "store/users.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

static void copy_field(char *dst, size_t n, PGresult *r, int col)
{
	snprintf(dst, n, "%s", PQgetvalue(r, 0, col));
}

/* Fills u from row 0 of (id, email, password_hash, is_admin, created_at). */
static void fill_user(struct user *u, PGresult *r)
{
	u->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	copy_field(u->email, sizeof(u->email), r, 1);
	copy_field(u->password_hash, sizeof(u->password_hash), r, 2);
	u->is_admin = PQgetvalue(r, 0, 3)[0] == 't';
	copy_field(u->created_at, sizeof(u->created_at), r, 4);
}

enum merr users_create(struct db *db, struct user *u)
{
	const char *p[3] = { u->email, u->password_hash, u->is_admin ? "true" : "false" };
	enum merr err;
	PGresult *r = db_exec(db, "users_create", 3, p, &err);

	if (r == NULL)
		return err;
	u->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	copy_field(u->created_at, sizeof(u->created_at), r, 1);
	PQclear(r);
	return MERR_OK;
}

static enum merr users_get(struct db *db, const char *stmt, const char *param, struct user *u)
{
	const char *p[1] = { param };
	enum merr err;
	PGresult *r = db_exec(db, stmt, 1, p, &err);

	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return MERR_NOT_FOUND;
	}
	fill_user(u, r);
	PQclear(r);
	return MERR_OK;
}

enum merr users_by_email(struct db *db, const char *email, struct user *u)
{
	return users_get(db, "users_by_email", email, u);
}

enum merr users_by_id(struct db *db, int64_t id, struct user *u)
{
	char sid[24];

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	return users_get(db, "users_by_id", sid, u);
}

enum merr users_set_hash(struct db *db, int64_t id, const char *hash)
{
	char sid[24];
	const char *p[2] = { sid, hash };
	enum merr err;
	PGresult *r;

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	r = db_exec(db, "users_set_hash", 2, p, &err);
	if (r == NULL)
		return err;
	PQclear(r);
	return MERR_OK;
}
