/* fuzz_token.c: libFuzzer target for the login-token verifier, claims included. */
#include "config.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/token.h"
#include "fuzz.h"
#include "util/buf.h"

/*
 * The first byte picks a mode (its value modulo 4):
 *   0: the rest is a token as a client sends it. Nothing made up can carry an HMAC under the
 *      secret, so nothing may verify;
 *   1, 2: the rest is a payload (and, before a NUL byte if there is one, a header; else the
 *      usual {"alg":"HS256","typ":"JWT"}) that the harness encodes and signs with the secret,
 *      as a token we minted would be. The claim checks then run on fuzzed claims: a token that
 *      verifies must hold the claims token.h promises, read back independently here. In mode 2
 *      one byte of the signed token is then changed, and it must no longer verify;
 *   3: token_create with a user id and lifetime from the input, then token_verify at a time
 *      from it: the token verifies exactly while it should, with the claims it was made with.
 */

#define FZ_NOW 1800000000
static const char fz_secret[] = "fuzzing-secret-fuzzing-secret-fuzzing";

/* Appends the base64url (no padding) of p[0..n) to out. */
static void fz_b64(struct buf *out, const uint8_t *p, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(len);

	FUZZ_CHECK(s != NULL);
	sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	buf_puts(out, s);
	free(s);
}

/* What a verified token promises, checked against the payload read here with json-c. */
static void fz_check_claims(const uint8_t *payload, size_t n, const struct token_claims *c, int64_t now)
{
	struct json_object *p, *v;
	char sub[24];
	size_t i;

	FUZZ_CHECK(c->user_id > 0);
	FUZZ_CHECK((int64_t)c->exp >= now - TOKEN_LEEWAY);
	FUZZ_CHECK((int64_t)c->iat <= now + TOKEN_LEEWAY);
	FUZZ_CHECK(strlen(c->jti) == TOKEN_JTI_LEN);
	for (i = 0; i < TOKEN_JTI_LEN; i++)
		FUZZ_CHECK(strchr("0123456789abcdef", c->jti[i]) != NULL);
	if (payload == NULL)
		return;
	p = json_tokener_parse((const char *)payload);
	FUZZ_CHECK(p != NULL && n == strlen((const char *)payload));
	FUZZ_CHECK(json_object_object_get_ex(p, "typ", &v) &&
	           strcmp(json_object_get_string(v), "login") == 0);
	snprintf(sub, sizeof(sub), "%" PRId64, c->user_id);
	FUZZ_CHECK(json_object_object_get_ex(p, "sub", &v) && strcmp(json_object_get_string(v), sub) == 0);
	FUZZ_CHECK(json_object_object_get_ex(p, "jti", &v) && strcmp(json_object_get_string(v), c->jti) == 0);
	FUZZ_CHECK(json_object_object_get_ex(p, "exp", &v) && json_object_get_int64(v) == (int64_t)c->exp);
	json_object_put(p);
}

/* json-c clamps an exp it cannot hold to INT64_MIN or INT64_MAX: such a token is malformed, never
 * OK or EXPIRED through a comparison that overflowed (regressions/token/exp-*). */
static void fz_check_exp(const char *payload)
{
	struct json_object *p = json_tokener_parse(payload), *v;
	int64_t exp;

	FUZZ_CHECK(p != NULL && json_object_object_get_ex(p, "exp", &v));
	exp = json_object_get_int64(v);
	FUZZ_CHECK(exp != INT64_MIN && exp != INT64_MAX);
	json_object_put(p);
}

static void fz_raw(const uint8_t *data, size_t size)
{
	struct token_claims c;
	char *s = malloc(size + 1);

	FUZZ_CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	FUZZ_CHECK(token_verify(fz_secret, s, FZ_NOW, &c) != TOKEN_OK);
	free(s);
}

static void fz_signed(const uint8_t *data, size_t size, bool tamper)
{
	static const char default_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	const uint8_t *header = (const uint8_t *)default_header, *payload = data;
	size_t hlen = sizeof(default_header) - 1, plen = size, at;
	const uint8_t *nul = memchr(data, 0, size);
	struct buf tok = BUF_INIT;
	struct token_claims c;
	enum token_status res;
	char *copy;

	if (nul != NULL) {
		header = data;
		hlen = (size_t)(nul - data);
		payload = nul + 1;
		plen = size - hlen - 1;
	}
	fz_b64(&tok, header, hlen);
	buf_putc(&tok, '.');
	fz_b64(&tok, payload, plen);
	/* HMAC with the whole secret as the key, as token.c does (crypto_auth_hmacsha256 alone would
	 * take its first 32 bytes). */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)fz_secret, strlen(fz_secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok.data, tok.len);
	crypto_auth_hmacsha256_final(&st, mac);
	buf_putc(&tok, '.');
	fz_b64(&tok, mac, sizeof(mac));
	FUZZ_CHECK(!tok.failed);
	if (tamper && tok.len > 0) {
		at = (size * 131 + hlen * 7) % tok.len;
		tok.data[at] = tok.data[at] == 'A' ? 'B' : 'A';
	}
	res = token_verify(fz_secret, tok.data, FZ_NOW, &c);
	FUZZ_CHECK(res >= TOKEN_OK && res <= TOKEN_WRONG_TYPE);
	FUZZ_CHECK(token_status_message(res)[0] != '\0');
	if (res == TOKEN_OK || res == TOKEN_EXPIRED) {
		FUZZ_CHECK(!tamper);
		/* The payload as a C string: a NUL inside it would not have verified. */
		copy = malloc(plen + 1);
		FUZZ_CHECK(copy != NULL);
		memcpy(copy, payload, plen);
		copy[plen] = '\0';
		fz_check_exp(copy);
		if (res == TOKEN_OK)
			fz_check_claims((const uint8_t *)copy, plen, &c, FZ_NOW);
		free(copy);
	}
	buf_free(&tok);
}

static void fz_roundtrip(const uint8_t *data, size_t size)
{
	char out[TOKEN_MAX_LEN];
	struct token_claims made, got;
	int64_t uid, ttl = 60, at = 0;
	uint64_t u = 0;
	enum token_status st;
	size_t i;

	/* A user id from 1 up, a lifetime within token_ttl's range (60 s to 30 days), a moment. */
	for (i = 0; i < size && i < 8; i++)
		u = u << 8 | data[i];
	uid = (int64_t)(u & INT64_MAX);
	if (uid == 0)
		uid = 1;
	if (size > 8)
		ttl = 60 + (int64_t)data[8] * 10169 % (30 * 86400 - 60 + 1);
	if (size > 10)
		at = ((int64_t)data[9] << 8 | data[10]) * 97 % (30 * 86400 + 200) - 100;
	FUZZ_CHECK(token_create(fz_secret, uid, FZ_NOW, ttl, out, sizeof(out), &made) == 0);
	st = token_verify(fz_secret, out, FZ_NOW + at, &got);
	if (at > ttl + TOKEN_LEEWAY) {
		FUZZ_CHECK(st == TOKEN_EXPIRED);
		return;
	}
	if (at < -TOKEN_LEEWAY) {
		FUZZ_CHECK(st == TOKEN_NOT_YET);
		return;
	}
	FUZZ_CHECK(st == TOKEN_OK);
	FUZZ_CHECK(got.user_id == uid && got.iat == made.iat && got.exp == made.exp);
	FUZZ_CHECK(strcmp(got.jti, made.jti) == 0);
	fz_check_claims(NULL, 0, &got, FZ_NOW + at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (sodium_init() < 0)
		abort();
	switch (data[0] % 4) {
	case 0:
		fz_raw(data + 1, size - 1);
		break;
	case 1:
	case 2:
		fz_signed(data + 1, size - 1, data[0] % 4 == 2);
		break;
	default:
		fz_roundtrip(data + 1, size - 1);
		break;
	}
	return 0;
}
