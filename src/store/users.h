/* users.h: user rows. */
#ifndef MEDIAD_USERS_H
#define MEDIAD_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/password.h"
#include "core/err.h"
#include "store/rows.h"
#include "store/sqlfmt.h"

struct db;

/* The user row, one line per column (rows.h): struct user and the select list (USER_SELECT). The
 * store writes no JSON of it: the handlers choose what of a user to show. */
/* clang-format off */
#define USER_COLUMNS(FIRST, COL)                                                                \
	FIRST(id,          ROW_INT,                    "id",                 NULL, ROW_NOTNULL) \
	COL(email,         ROW_STR(256),               "email",              NULL, ROW_NOTNULL) \
	COL(password_hash, ROW_STR(PASSWORD_HASH_LEN), "password_hash",      NULL, ROW_NOTNULL) \
	COL(is_admin,      ROW_BOOL,                   "is_admin",           NULL, ROW_NOTNULL) \
	COL(created_at,    ROW_STR(32),                SQL_TS("created_at"), NULL, ROW_NOTNULL)
/* clang-format on */

struct user {
	ROW_STRUCT(USER_COLUMNS)
};

#define USER_SELECT ROW_SELECT(USER_COLUMNS)

/* Inserts a user; fills u->id and u->created_at (u is read back from the row stored). MERR_CONFLICT when the email is taken. */
enum merr users_create(struct db *db, struct user *u) __attribute__((warn_unused_result));
/* MERR_NOT_FOUND when no user has that (normalised) email. */
enum merr users_by_email(struct db *db, const char *email, struct user *u)
        __attribute__((warn_unused_result));
/* The user, and the bytes its media take (media_usage), in one statement. */
enum merr users_me(struct db *db, int64_t id, struct user *u, int64_t *used_bytes)
        __attribute__((warn_unused_result));
enum merr users_set_hash(struct db *db, int64_t id, const char *hash) __attribute__((warn_unused_result));

#endif
