/* token.c: HS256 login tokens. libjwt 1.10 mints them; verification is ours, because libjwt 1.10
 * accepts any alg the header names and compares signatures with strcmp. */
#include "config.h"

#include "auth/token.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <jwt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int token_create(const char *secret, int64_t user_id, time_t now, long long ttl, char *out, size_t outlen,
                 struct token_claims *claims)
{
	unsigned char rnd[TOKEN_JTI_LEN / 2];
	char jti[TOKEN_JTI_LEN + 1], sub[24];
	jwt_t *jwt = NULL;
	char *enc = NULL;
	int rc = -1;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(jti, sizeof(jti), rnd, sizeof(rnd));
	snprintf(sub, sizeof(sub), "%" PRId64, user_id);
	if (jwt_new(&jwt) != 0)
		goto out;
	if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret)) != 0 ||
	    jwt_add_grant(jwt, "sub", sub) != 0 || jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)(now + ttl)) != 0 || jwt_add_grant(jwt, "jti", jti) != 0 ||
	    jwt_add_grant(jwt, "typ", TOKEN_TYPE_LOGIN) != 0)
		goto out;
	enc = jwt_encode_str(jwt);
	if (enc == NULL || strlen(enc) + 1 > outlen)
		goto out;
	memcpy(out, enc, strlen(enc) + 1);
	if (claims != NULL) {
		claims->user_id = user_id;
		claims->iat = now;
		claims->exp = now + ttl;
		memcpy(claims->jti, jti, sizeof(jti));
	}
	rc = 0;
out:
	/* jwt_encode_str allocates with libjwt's allocator, which is the libc one by default. */
	free(enc);
	jwt_free(jwt);
	sodium_memzero(rnd, sizeof(rnd));
	return rc;
}

/* Decodes one base64url part (no padding) into a fresh NUL-terminated buffer. */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out = malloc(n + 1);
	const char *end = NULL;

	if (out == NULL)
		return NULL;
	if (sodium_base642bin(out, n, s, n, NULL, outlen, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) !=
	            0 ||
	    end != s + n) {
		free(out);
		return NULL;
	}
	out[*outlen] = '\0';
	return out;
}

/* Parses a JSON object of exactly len bytes (no NUL inside). Caller owns the result. */
static struct json_object *parse_object(const unsigned char *s, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (strlen((const char *)s) != len)
		return NULL;
	tok = json_tokener_new_ex(8);
	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, (const char *)s, (int)len);
	if (o != NULL &&
	    (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len ||
	     !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/*
 * An integer claim: present, of JSON integer type, and not at either end of int64_t: json-c clamps
 * a number it cannot hold to INT64_MIN or INT64_MAX without an error, so those two are refused as
 * out of range (no claim of ours needs them), as jget_int does.
 */
static bool claim_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	*out = json_object_get_int64(v);
	return errno == 0 && *out != INT64_MIN && *out != INT64_MAX;
}

static const char *claim_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Tokens this process verified, so a token presented again costs a lookup instead of two base64
 * decodes, two JSON parses and an HMAC. Only what the signature fixes is kept (the claims), so only
 * the clock checks run again. Keyed by the whole token and the secret; compared in constant time.
 * Direct-mapped: a collision replaces the older entry, which is then verified again next time.
 */
#define TOKEN_CACHE_SLOTS 64
#define TOKEN_CACHE_TOKEN_MAX 512 /* longer tokens (ours are about 250 bytes) are not kept */
struct token_cached {
	uint64_t key;
	size_t len;
	char token[TOKEN_CACHE_TOKEN_MAX];
	struct token_claims claims;
	int64_t nbf; /* INT64_MIN: no nbf claim */
};
static struct token_cached token_cache[TOKEN_CACHE_SLOTS];

static uint64_t token_key(const char *secret, const char *token, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a of secret, a NUL, token */
	const char *c;
	size_t i;

	for (c = secret; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	h *= 1099511628211ULL;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)token[i]) * 1099511628211ULL;
	return h | 1; /* 0 marks an empty slot */
}

/* The clock checks of token_verify_full, on claims already verified. now - TOKEN_LEEWAY, not
 * exp + TOKEN_LEEWAY: exp is any int64_t, now a sane clock. */
static enum token_status token_times(int64_t exp, int64_t iat, int64_t nbf, time_t now)
{
	if ((int64_t)now - TOKEN_LEEWAY > exp)
		return TOKEN_EXPIRED;
	if (iat > (int64_t)now + TOKEN_LEEWAY || (nbf != INT64_MIN && nbf > (int64_t)now + TOKEN_LEEWAY))
		return TOKEN_NOT_YET;
	return TOKEN_OK;
}

static enum token_status token_verify_full(const char *secret, const char *token, time_t now,
                                           struct token_claims *claims, int64_t *nbf_out);

enum token_status token_verify(const char *secret, const char *token, time_t now, struct token_claims *claims)
{
	size_t len = strnlen(token, TOKEN_MAX_LEN + 1);
	uint64_t key;
	struct token_cached *c;
	enum token_status st;
	int64_t nbf = INT64_MIN;

	if (len == 0 || len >= TOKEN_CACHE_TOKEN_MAX)
		return token_verify_full(secret, token, now, claims, &nbf);
	key = token_key(secret, token, len);
	c = &token_cache[key % TOKEN_CACHE_SLOTS];
	if (c->key == key && c->len == len && sodium_memcmp(c->token, token, len) == 0) {
		st = token_times((int64_t)c->claims.exp, (int64_t)c->claims.iat, c->nbf, now);
		if (st == TOKEN_OK)
			*claims = c->claims;
		return st;
	}
	st = token_verify_full(secret, token, now, claims, &nbf);
	if (st == TOKEN_OK) {
		c->key = key;
		c->len = len;
		memcpy(c->token, token, len);
		c->claims = *claims;
		c->nbf = nbf;
	}
	return st;
}

static enum token_status token_verify_full(const char *secret, const char *token, time_t now,
                                           struct token_claims *claims, int64_t *nbf_out)
{
	const char *dot1, *dot2, *s, *sub, *jti, *typ;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	unsigned char *hdr = NULL, *pay = NULL, *sig = NULL;
	size_t tlen, hlen, plen, slen, i;
	struct json_object *h = NULL, *p = NULL;
	crypto_auth_hmacsha256_state st;
	enum token_status rc = TOKEN_MALFORMED;
	int64_t exp, iat, nbf, uid;
	char *end;

	tlen = strnlen(token, TOKEN_MAX_LEN + 1);
	if (tlen == 0 || tlen > TOKEN_MAX_LEN)
		goto out;
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
		goto out;
	hdr = b64url_decode(token, (size_t)(dot1 - token), &hlen);
	sig = b64url_decode(dot2 + 1, tlen - (size_t)(dot2 + 1 - token), &slen);
	if (hdr == NULL || sig == NULL)
		goto out;
	h = parse_object(hdr, hlen);
	if (h == NULL)
		goto out;
	/* The algorithm is pinned: whatever the header says, only HS256 is ever verified. */
	s = claim_str(h, "alg");
	if (s == NULL || strcmp(s, "HS256") != 0) {
		rc = TOKEN_BAD_ALG;
		goto out;
	}
	if (slen != sizeof(mac)) {
		rc = TOKEN_BAD_SIG;
		goto out;
	}
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, (unsigned long long)(dot2 - token));
	crypto_auth_hmacsha256_final(&st, mac);
	if (crypto_verify_32(mac, sig) != 0) {
		rc = TOKEN_BAD_SIG;
		goto out;
	}
	/* Only now, with the signature verified, are the claims read. */
	pay = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
	if (pay == NULL)
		goto out;
	p = parse_object(pay, plen);
	if (p == NULL)
		goto out;
	typ = claim_str(p, "typ");
	if (typ == NULL || strcmp(typ, TOKEN_TYPE_LOGIN) != 0) {
		rc = TOKEN_WRONG_TYPE;
		goto out;
	}
	if (!claim_int(p, "exp", &exp) || !claim_int(p, "iat", &iat))
		goto out;
	nbf = INT64_MIN;
	if (json_object_object_get_ex(p, "nbf", NULL) && !claim_int(p, "nbf", &nbf))
		goto out;
	rc = token_times(exp, iat, nbf, now);
	if (rc != TOKEN_OK)
		goto out;
	rc = TOKEN_MALFORMED;
	sub = claim_str(p, "sub");
	jti = claim_str(p, "jti");
	if (sub == NULL || jti == NULL || *sub < '1' || *sub > '9' || strlen(jti) != TOKEN_JTI_LEN)
		goto out;
	for (i = 0; i < TOKEN_JTI_LEN; i++)
		if (!((jti[i] >= '0' && jti[i] <= '9') || (jti[i] >= 'a' && jti[i] <= 'f')))
			goto out;
	errno = 0;
	uid = strtoll(sub, &end, 10);
	if (errno != 0 || *end != '\0' || uid <= 0)
		goto out;
	claims->user_id = uid;
	claims->iat = (time_t)iat;
	claims->exp = (time_t)exp;
	memcpy(claims->jti, jti, TOKEN_JTI_LEN + 1);
	*nbf_out = nbf;
	rc = TOKEN_OK;
out:
	if (h != NULL)
		json_object_put(h);
	if (p != NULL)
		json_object_put(p);
	free(hdr);
	free(pay);
	free(sig);
	return rc;
}

const char *token_status_message(enum token_status st)
{
	switch (st) {
	case TOKEN_OK:
		return "valid";
	case TOKEN_MALFORMED:
		return "malformed token";
	case TOKEN_BAD_ALG:
		return "token algorithm not accepted";
	case TOKEN_BAD_SIG:
		return "invalid token signature";
	case TOKEN_EXPIRED:
		return "token expired";
	case TOKEN_NOT_YET:
		return "token not valid yet";
	case TOKEN_WRONG_TYPE:
		return "token is not a login token";
	}
	return "invalid token";
}
