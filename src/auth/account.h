/* account.h: the rules for emails and passwords, shared by the API and mediactl. */
#ifndef MEDIAD_ACCOUNT_H
#define MEDIAD_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/verr.h"

#define ACCOUNT_EMAIL_MAX 254
#define ACCOUNT_PASSWORD_MIN_CHARS 8
#define ACCOUNT_PASSWORD_MAX_BYTES 1024

/*
 * Trims and lower-cases in into out (>= ACCOUNT_EMAIL_MAX + 1 bytes) and checks it is a plausible
 * address: one '@', a local part of 1-64 printable ASCII bytes without spaces or specials, a domain
 * of dot-separated labels [a-z0-9-] with at least one dot. Returns false with e filled.
 */
bool account_email_normalize(const char *in, char *out, size_t outlen, struct verr *e);
/* Checks a password: valid UTF-8, at least 8 characters, at most 1024 bytes. */
bool account_password_ok(const char *pw, size_t len, struct verr *e);

#endif
