/* token.h: login tokens: HS256 JWTs minted with libjwt and verified entirely by our own code. */
#ifndef MEDIAD_TOKEN_H
#define MEDIAD_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOKEN_MAX_LEN 4096
#define TOKEN_JTI_LEN 32         /* 128 random bits, hex */
#define TOKEN_LEEWAY 30          /* seconds of clock skew tolerated on exp, nbf and iat */
#define TOKEN_TYPE_LOGIN "login" /* the "typ" claim: a token minted for another purpose never logs in */

struct token_claims {
	int64_t user_id;
	time_t iat;
	time_t exp;
	char jti[TOKEN_JTI_LEN + 1];
};

enum token_status {
	TOKEN_OK = 0,
	TOKEN_MALFORMED, /* not three base64url parts, bad JSON, missing or mistyped claims */
	TOKEN_BAD_ALG,   /* header alg other than HS256 ("none", RS256, ...) */
	TOKEN_BAD_SIG,   /* signature does not verify under the secret */
	TOKEN_EXPIRED,   /* exp + leeway has passed */
	TOKEN_NOT_YET,   /* nbf or iat lies in the future beyond the leeway */
	TOKEN_WRONG_TYPE /* typ is not "login" */
};

/*
 * Mints a login token for user_id at now, living ttl seconds, into out (NUL-terminated).
 * claims (may be NULL) receives what was signed. Returns 0, or -1 on out of memory or when out is
 * too small.
 */
int token_create(const char *secret, int64_t user_id, time_t now, long long ttl, char *out, size_t outlen,
                 struct token_claims *claims) __attribute__((warn_unused_result));
/*
 * Verifies token under secret at now: the header must name HS256, the HMAC is recomputed with
 * libsodium and compared in constant time before any claim is trusted, exp is required, nbf/iat
 * may not be in the future, typ must be "login", sub must be a positive integer, jti 32 hex digits.
 * Revocation is the caller's business (store/revocations.h). Fills claims only on TOKEN_OK.
 */
enum token_status token_verify(const char *secret, const char *token, time_t now,
                               struct token_claims *claims);
/* A short sentence for a status, safe to return to the client. */
const char *token_status_message(enum token_status st);

#endif
