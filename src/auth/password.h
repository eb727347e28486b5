/* password.h: argon2id password hashing (libsodium), at OWASP's first argon2id configuration. */
#ifndef MEDIAD_PASSWORD_H
#define MEDIAD_PASSWORD_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_HASH_LEN crypto_pwhash_STRBYTES

/*
 * The cost: argon2id, m = 19 MiB, t = 2, p = 1, which is OWASP's Password Storage Cheat Sheet's
 * first recommended argon2id configuration (its minimum). libsodium's "interactive" limits (64 MiB,
 * t = 2), used before, cost 57 ms a hash on a quiet core of the bench machine and 145 ms with four
 * responders on two cores: libsodium maps and zeroes the whole block area afresh on every call
 * (mmap + page faults + munmap), and four 64 MiB working sets thrash the caches. At 19 MiB one
 * hash takes 12.6 ms and four at once 29 ms (4.6x the logins per core). The memory is what makes
 * argon2id expensive to attack with GPUs; 19 MiB with t = 2 is the floor OWASP gives, so these
 * numbers may go up, never down. Hashes made with other parameters still verify (the parameters
 * are in the hash), and a successful login re-hashes them with these (password_needs_rehash).
 */
#define PASSWORD_OPSLIMIT 2ULL
#define PASSWORD_MEMLIMIT ((size_t)19456 * 1024) /* 19 MiB */

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
