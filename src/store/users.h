/* users.h: user rows. */
#ifndef MEDIAD_USERS_H
#define MEDIAD_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/password.h"
#include "core/err.h"

struct db;

struct user {
	int64_t id;
	char email[256];
	char password_hash[PASSWORD_HASH_LEN];
	bool is_admin;
	char created_at[32];
};

/* Inserts a user; fills u->id and u->created_at. MERR_CONFLICT when the email is taken. */
enum merr users_create(struct db *db, struct user *u) __attribute__((warn_unused_result));
/* MERR_NOT_FOUND when no user has that (normalised) email. */
enum merr users_by_email(struct db *db, const char *email, struct user *u)
        __attribute__((warn_unused_result));
enum merr users_by_id(struct db *db, int64_t id, struct user *u) __attribute__((warn_unused_result));
enum merr users_set_hash(struct db *db, int64_t id, const char *hash) __attribute__((warn_unused_result));

#endif
