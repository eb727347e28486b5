/* password.c: argon2id via crypto_pwhash_str_alg, with a dummy verification for unknown users. */
#include "config.h"

#include "auth/password.h"

#include <string.h>

int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_LEN])
{
	return crypto_pwhash_str_alg(out, pw, len, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT,
	                             crypto_pwhash_ALG_ARGON2ID13);
}

bool password_verify(const char *hash, const char *pw, size_t len)
{
	return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

bool password_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT) != 0;
}

static char dummy[PASSWORD_HASH_LEN];
static bool made;

void password_init(void)
{
	if (!made) {
		static const char seed[] = "not a password anyone has";
		unsigned char rnd[16];
		char throwaway[2 * sizeof(rnd) + 1];

		/* A random dummy password: the dummy hash can never verify a real guess. */
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(throwaway, sizeof(throwaway), rnd, sizeof(rnd));
		if (password_hash(throwaway, strlen(throwaway), dummy) != 0 &&
		    password_hash(seed, sizeof(seed) - 1, dummy) != 0)
			return;
		made = true;
	}
}

void password_verify_dummy(const char *pw, size_t len)
{
	password_init();
	(void)password_verify(dummy, pw, len);
}
