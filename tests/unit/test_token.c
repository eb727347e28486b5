/* test_token.c: login token minting and our verifier, against hand-made hostile tokens. */
#include "config.h"

#include <CUnit/Basic.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/token.h"
#include "unit.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"
#define NOW ((time_t)1800000000)
#define JTI "0123456789abcdef0123456789abcdef"

static void b64url(const char *in, size_t n, char *out, size_t outlen)
{
	sodium_bin2base64(out, outlen, (const unsigned char *)in, n,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Builds header.payload.signature, signing with key (NULL: an empty signature part). */
static void craft(const char *header, const char *payload, const char *key, char *out, size_t outlen)
{
	char h[512], p[1024], s[128];
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char signing[2048];

	b64url(header, strlen(header), h, sizeof(h));
	b64url(payload, strlen(payload), p, sizeof(p));
	snprintf(signing, sizeof(signing), "%s.%s", h, p);
	s[0] = '\0';
	if (key != NULL) {
		crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, strlen(signing));
		crypto_auth_hmacsha256_final(&st, mac);
		b64url((const char *)mac, sizeof(mac), s, sizeof(s));
	}
	snprintf(out, outlen, "%s.%s", signing, s);
}

static const char *HS = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static void payload(char *out, size_t n, long long iat, long long exp, const char *typ)
{
	snprintf(out, n, "{\"sub\":\"7\",\"iat\":%lld,\"exp\":%lld,\"jti\":\"" JTI "\",\"typ\":\"%s\"}", iat,
	         exp, typ);
}

static enum token_status verify_crafted(const char *header, const char *pl, const char *key)
{
	char tok[4096];
	struct token_claims c;

	craft(header, pl, key, tok, sizeof(tok));
	return token_verify(SECRET, tok, NOW, &c);
}

static void test_created_token_verifies_with_claims(void)
{
	char tok[TOKEN_MAX_LEN];
	struct token_claims made, got;

	CU_ASSERT_FATAL(token_create(SECRET, 42, NOW, 3600, tok, sizeof(tok), &made) == 0);
	CU_ASSERT_EQUAL(token_verify(SECRET, tok, NOW + 10, &got), TOKEN_OK);
	CU_ASSERT_EQUAL(got.user_id, 42);
	CU_ASSERT_EQUAL(got.exp, NOW + 3600);
	CU_ASSERT_EQUAL(got.iat, NOW);
	CU_ASSERT_STRING_EQUAL(got.jti, made.jti);
	CU_ASSERT_EQUAL(strlen(got.jti), 32);
}

static void test_two_tokens_have_different_jti(void)
{
	char a[TOKEN_MAX_LEN], b[TOKEN_MAX_LEN];
	struct token_claims ca, cb;

	CU_ASSERT_FATAL(token_create(SECRET, 1, NOW, 60, a, sizeof(a), &ca) == 0);
	CU_ASSERT_FATAL(token_create(SECRET, 1, NOW, 60, b, sizeof(b), &cb) == 0);
	CU_ASSERT_STRING_NOT_EQUAL(ca.jti, cb.jti);
}

static void test_expiry_has_30s_leeway_only(void)
{
	char tok[TOKEN_MAX_LEN];
	struct token_claims c;

	CU_ASSERT_FATAL(token_create(SECRET, 1, NOW, 60, tok, sizeof(tok), NULL) == 0);
	CU_ASSERT_EQUAL(token_verify(SECRET, tok, NOW + 60 + 30, &c), TOKEN_OK);
	CU_ASSERT_EQUAL(token_verify(SECRET, tok, NOW + 60 + 31, &c), TOKEN_EXPIRED);
}

/* A token verified once is kept by the process; the clock still applies to it on every call, and
 * it is kept for its secret only. */
static void test_a_verified_token_is_kept_but_still_expires(void)
{
	char tok[TOKEN_MAX_LEN];
	struct token_claims c, again;

	CU_ASSERT_FATAL(token_create(SECRET, 5, NOW, 60, tok, sizeof(tok), NULL) == 0);
	CU_ASSERT_EQUAL(token_verify(SECRET, tok, NOW, &c), TOKEN_OK);
	memset(&again, 0, sizeof(again));
	CU_ASSERT_EQUAL(token_verify(SECRET, tok, NOW + 1, &again), TOKEN_OK);
	CU_ASSERT_EQUAL(again.user_id, 5);
	CU_ASSERT_STRING_EQUAL(again.jti, c.jti);
	CU_ASSERT_EQUAL(token_verify(SECRET, tok, NOW + 60 + 31, &again), TOKEN_EXPIRED);
	CU_ASSERT_EQUAL(token_verify(SECRET, tok, NOW - 31, &again), TOKEN_NOT_YET);
	CU_ASSERT_EQUAL(token_verify("another-secret-another-secret-another", tok, NOW, &again),
	                TOKEN_BAD_SIG);
	/* One byte off the kept token is verified in full (and fails). */
	tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(token_verify(SECRET, tok, NOW, &again), TOKEN_BAD_SIG);
}

static void test_wrong_secret_is_bad_signature(void)
{
	char tok[TOKEN_MAX_LEN];
	struct token_claims c;

	CU_ASSERT_FATAL(token_create("another-secret-another-secret-another", 1, NOW, 60, tok, sizeof(tok),
	                             NULL) == 0);
	CU_ASSERT_EQUAL(token_verify(SECRET, tok, NOW, &c), TOKEN_BAD_SIG);
}

static void test_alg_none_is_refused(void)
{
	char pl[512];

	payload(pl, sizeof(pl), NOW, NOW + 60, "login");
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"none\",\"typ\":\"JWT\"}", pl, NULL), TOKEN_BAD_ALG);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"none\"}", pl, SECRET), TOKEN_BAD_ALG);
	CU_ASSERT_EQUAL(verify_crafted("{\"typ\":\"JWT\"}", pl, SECRET), TOKEN_BAD_ALG);
}

static void test_rs256_header_is_refused(void)
{
	char pl[512];

	payload(pl, sizeof(pl), NOW, NOW + 60, "login");
	/* Signed with HMAC under our secret, as in the classic key-confusion attack. */
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", pl, SECRET), TOKEN_BAD_ALG);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"hs256\"}", pl, SECRET), TOKEN_BAD_ALG);
}

static void test_missing_exp_is_malformed(void)
{
	CU_ASSERT_EQUAL(
	        verify_crafted(HS, "{\"sub\":\"7\",\"iat\":1800000000,\"jti\":\"" JTI "\",\"typ\":\"login\"}",
	                       SECRET),
	        TOKEN_MALFORMED);
	/* exp as a string is not an exp. */
	CU_ASSERT_EQUAL(
	        verify_crafted(HS,
	                       "{\"sub\":\"7\",\"iat\":1800000000,\"exp\":\"1900000000\",\"jti\":\"" JTI
	                       "\",\"typ\":\"login\"}",
	                       SECRET),
	        TOKEN_MALFORMED);
}

static void test_future_iat_and_nbf_are_refused(void)
{
	char pl[512];

	payload(pl, sizeof(pl), NOW + 31, NOW + 3600, "login");
	CU_ASSERT_EQUAL(verify_crafted(HS, pl, SECRET), TOKEN_NOT_YET);
	payload(pl, sizeof(pl), NOW + 30, NOW + 3600, "login");
	CU_ASSERT_EQUAL(verify_crafted(HS, pl, SECRET), TOKEN_OK);
	CU_ASSERT_EQUAL(
	        verify_crafted(
	                HS,
	                "{\"sub\":\"7\",\"iat\":1800000000,\"nbf\":1800000100,\"exp\":1800003600,\"jti\":\"" JTI
	                "\",\"typ\":\"login\"}",
	                SECRET),
	        TOKEN_NOT_YET);
}

static void test_other_purpose_token_is_not_a_login(void)
{
	char pl[512];

	payload(pl, sizeof(pl), NOW, NOW + 60, "stream");
	CU_ASSERT_EQUAL(verify_crafted(HS, pl, SECRET), TOKEN_WRONG_TYPE);
	CU_ASSERT_EQUAL(verify_crafted(HS,
	                               "{\"sub\":\"7\",\"iat\":1800000000,\"exp\":1800003600,\"jti\":\"" JTI
	                               "\"}",
	                               SECRET),
	                TOKEN_WRONG_TYPE);
}

static void test_tampered_payload_is_bad_signature(void)
{
	char tok[TOKEN_MAX_LEN], forged[TOKEN_MAX_LEN], pl[512], p64[1024];
	struct token_claims c;
	const char *dot1, *dot2;

	CU_ASSERT_FATAL(token_create(SECRET, 1, NOW, 60, tok, sizeof(tok), NULL) == 0);
	/* Swap in a payload claiming user 7, keeping the original signature. */
	payload(pl, sizeof(pl), NOW, NOW + 60, "login");
	b64url(pl, strlen(pl), p64, sizeof(p64));
	dot1 = strchr(tok, '.');
	dot2 = strchr(dot1 + 1, '.');
	snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(dot1 - tok), tok, p64, dot2);
	CU_ASSERT_EQUAL(token_verify(SECRET, forged, NOW, &c), TOKEN_BAD_SIG);
}

static void test_garbage_is_malformed(void)
{
	static const char *const bad[] = {
		"", "abc", "a.b", "a.b.c.d", "!!!.???.***", "..", "eyJhbGciOiJIUzI1NiJ9..", NULL
	};
	struct token_claims c;
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		CU_ASSERT_NOT_EQUAL(token_verify(SECRET, bad[i], NOW, &c), TOKEN_OK);
	CU_ASSERT_EQUAL(token_verify(SECRET, "a.b", NOW, &c), TOKEN_MALFORMED);
}

static void test_overlong_token_is_malformed(void)
{
	static char big[TOKEN_MAX_LEN + 10];
	struct token_claims c;

	memset(big, 'a', sizeof(big) - 1);
	CU_ASSERT_EQUAL(token_verify(SECRET, big, NOW, &c), TOKEN_MALFORMED);
}

/* Tokens are signed and checked with libsodium. */
static int suite_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

static const struct unit_test tests[] = {
	{ "created token verifies with its claims", test_created_token_verifies_with_claims },
	{ "two tokens have different jti", test_two_tokens_have_different_jti },
	{ "expiry has 30 s of leeway only", test_expiry_has_30s_leeway_only },
	{ "wrong secret is a bad signature", test_wrong_secret_is_bad_signature },
	{ "a verified token is kept but still expires", test_a_verified_token_is_kept_but_still_expires },
	{ "alg none is refused", test_alg_none_is_refused },
	{ "RS256 header is refused", test_rs256_header_is_refused },
	{ "missing exp is malformed", test_missing_exp_is_malformed },
	{ "future iat and nbf are refused", test_future_iat_and_nbf_are_refused },
	{ "other-purpose token is not a login", test_other_purpose_token_is_not_a_login },
	{ "tampered payload is a bad signature", test_tampered_payload_is_bad_signature },
	{ "garbage is malformed", test_garbage_is_malformed },
	{ "overlong token is malformed", test_overlong_token_is_malformed },
};

UNIT_SUITES(UNIT_SUITE("token", suite_init, NULL, tests));
