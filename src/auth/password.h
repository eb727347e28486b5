/* password.h: argon2id password hashing (libsodium, interactive limits). */
#ifndef MEDIAD_PASSWORD_H
#define MEDIAD_PASSWORD_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_HASH_LEN crypto_pwhash_STRBYTES

/* Hashes pw[0..len) into out. Returns 0, or -1 when memory for argon2id could not be had. */
int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_LEN])
        __attribute__((warn_unused_result));
/* True when pw matches hash. */
bool password_verify(const char *hash, const char *pw, size_t len);
/* True when hash was made with other parameters than today's and should be replaced. */
bool password_needs_rehash(const char *hash);
/* Makes the dummy hash now (about one argon2id run), so the first unknown-email login of a
 * process does not cost twice what later ones do. */
void password_init(void);
/*
 * Spends the same time as a real verification against a fixed dummy hash, so an unknown email
 * costs what a wrong password costs. The dummy is made once per process.
 */
void password_verify_dummy(const char *pw, size_t len);

#endif
