/* test_auth.c: register, login, logout and token hardening against the real stack. */
#include "config.h"

#include <CUnit/Basic.h>
#include <hiredis/hiredis.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"

static char secret[256];
static unsigned uniq;

/* A fresh address per test, so tests never share a rate-limit window. */
static void unique_email(char *out, size_t n, const char *tag)
{
	snprintf(out, n, "%s-%ld-%u@example.com", tag, (long)time(NULL), ++uniq);
}

/* The harness's jwt_secret, to sign tokens that are valid but hostile in one way each. */
static int read_secret(void)
{
	const char *path = getenv("MEDIAD_CONFIG");
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[512];

	if (f == NULL) {
		fprintf(stderr, "test_auth: cannot read MEDIAD_CONFIG\n");
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "jwt_secret = %255s", secret) == 1)
			break;
	fclose(f);
	return strlen(secret) >= 32 ? 0 : -1;
}

static long post_creds(const char *path, const char *email, const char *pw, struct itest_resp *r)
{
	char body[2048];

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
	if (itest_json("POST", path, NULL, body, r) != 0)
		return -1;
	return r->status;
}

static long get_me(const char *auth_header)
{
	const char *h[] = { auth_header, NULL };
	struct itest_resp r;
	long st;

	if (itest_request("GET", "/auth/me", auth_header ? h : NULL, NULL, 0, &r) != 0)
		return -1;
	st = r.status;
	if (st == 401)
		CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "unauthorized");
	itest_resp_free(&r);
	return st;
}

static void b64url(const void *in, size_t n, char *out, size_t outlen)
{
	sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Builds a token from raw header and payload JSON, HMAC-signed with key (NULL: no signature). */
static void craft(const char *header, const char *payload, const char *key, char *out, size_t outlen)
{
	char h[512], p[1024], s[128] = "", signing[2048];
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	b64url(header, strlen(header), h, sizeof(h));
	b64url(payload, strlen(payload), p, sizeof(p));
	snprintf(signing, sizeof(signing), "%s.%s", h, p);
	if (key != NULL) {
		crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, strlen(signing));
		crypto_auth_hmacsha256_final(&st, mac);
		b64url(mac, sizeof(mac), s, sizeof(s));
	}
	snprintf(out, outlen, "%s.%s", signing, s);
}

static long me_with_crafted(const char *header, const char *payload, const char *key)
{
	char tok[4096], h[4200];

	craft(header, payload, key, tok, sizeof(tok));
	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	return get_me(h);
}

static void test_register_answers_seed_shape_and_normalises_email(void)
{
	char email[128], upper[140];
	struct itest_resp r;
	struct json_object *user, *v;

	unique_email(email, sizeof(email), "Reg");
	snprintf(upper, sizeof(upper), "  %s ", email);
	CU_ASSERT_FATAL(post_creds("/auth/register", upper, "Password123", &r) == 201);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "message"), "User registered successfully");
	CU_ASSERT_FATAL(json_object_object_get_ex(r.json, "user", &user));
	CU_ASSERT_TRUE(json_object_object_get_ex(user, "id", &v) && json_object_is_type(v, json_type_int));
	CU_ASSERT_TRUE(json_object_object_get_ex(user, "email", &v));
	for (char *c = email; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), email);
	itest_resp_free(&r);
}

static void test_same_email_in_other_case_is_409(void)
{
	char email[128], upper[128];
	struct itest_resp r;

	unique_email(email, sizeof(email), "dup");
	CU_ASSERT_FATAL(post_creds("/auth/signup", email, "Password123", &r) == 201);
	itest_resp_free(&r);
	snprintf(upper, sizeof(upper), "%s", email);
	upper[0] = 'D';
	CU_ASSERT_EQUAL(post_creds("/auth/register", upper, "Password456", &r), 409);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "conflict");
	itest_resp_free(&r);
}

static void test_bad_bodies_get_4xx_naming_the_problem(void)
{
	static const struct {
		const char *ctype, *body, *field;
		long status;
	} cases[] = {
		{ "application/json", "{\"password\":\"Password123\"}", "email", 400 },
		{ "application/json", "{\"email\":\"a@example.com\"}", "password", 400 },
		{ "application/json", "{\"email\":12,\"password\":\"Password123\"}", "email", 400 },
		{ "application/json", "{\"email\":\"a@example.com\",\"password\":12345678}", "password",
		  400 },
		{ "application/json", "{\"email\":\"a@example.com\",\"password\":\"short\"}", "password",
		  400 },
		{ "application/json", "{\"email\":\"not-an-email\",\"password\":\"Password123\"}", "email",
		  400 },
		/* Invalid UTF-8 is refused by the JSON parser already: the body is malformed. */
		{ "application/json", "{\"email\":\"a@example.com\",\"password\":\"Pass\xff\xfeword123\"}",
		  NULL, 400 },
		{ "application/json", "{\"email\":\"a@example.com\",", NULL, 400 },
		{ "application/json", "", NULL, 400 },
		{ "application/x-www-form-urlencoded", "email=a%40example.com&password=Password123", NULL,
		  415 },
		{ NULL, "{\"email\":\"a@example.com\",\"password\":\"Password123\"}", NULL, 415 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char ct[128];
		const char *h[] = { ct, NULL };
		struct itest_resp r;

		snprintf(ct, sizeof(ct), "Content-Type: %s", cases[i].ctype ? cases[i].ctype : "");
		CU_ASSERT_FATAL(itest_request("POST", "/auth/register", cases[i].ctype ? h : NULL,
		                              cases[i].body, strlen(cases[i].body), &r) == 0);
		if (r.status != cases[i].status)
			fprintf(stderr, "case %zu: got %ld %s\n", i, r.status, r.body);
		CU_ASSERT_EQUAL(r.status, cases[i].status);
		CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "message"));
		if (cases[i].field != NULL)
			CU_ASSERT_TRUE(itest_jstr(&r, "field") &&
			               strcmp(itest_jstr(&r, "field"), cases[i].field) == 0);
		itest_resp_free(&r);
	}
}

static void test_overlong_password_is_400(void)
{
	static const char prefix[] = "{\"email\":\"long@example.com\",\"password\":\"";
	char body[2400];
	size_t n = sizeof(prefix) - 1;
	struct itest_resp r;

	memcpy(body, prefix, n);
	memset(body + n, 'p', 1100);
	memcpy(body + n + 1100, "\"}", 3);
	CU_ASSERT_FATAL(itest_json("POST", "/auth/register", NULL, body, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT_TRUE(itest_jstr(&r, "field") != NULL && strcmp(itest_jstr(&r, "field"), "password") == 0);
	itest_resp_free(&r);
}

static void test_login_answers_token_expiry_and_user(void)
{
	char email[128];
	struct itest_resp r;
	struct json_object *user;

	unique_email(email, sizeof(email), "in");
	CU_ASSERT_FATAL(post_creds("/auth/register", email, "Password123", &r) == 201);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(post_creds("/auth/login", email, "Password123", &r) == 200);
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "token"));
	CU_ASSERT_TRUE(itest_jstr(&r, "expiresAt") && strlen(itest_jstr(&r, "expiresAt")) == 24);
	CU_ASSERT_TRUE(json_object_object_get_ex(r.json, "user", &user));
	itest_resp_free(&r);
}

static void test_wrong_password_and_unknown_email_get_the_same_401(void)
{
	char email[128], other[128];
	struct itest_resp a, b;

	unique_email(email, sizeof(email), "same");
	unique_email(other, sizeof(other), "nobody");
	CU_ASSERT_FATAL(post_creds("/auth/register", email, "Password123", &a) == 201);
	itest_resp_free(&a);
	CU_ASSERT_EQUAL(post_creds("/auth/login", email, "WrongPassword", &a), 401);
	CU_ASSERT_EQUAL(post_creds("/auth/login", other, "WrongPassword", &b), 401);
	CU_ASSERT_STRING_EQUAL(a.body, b.body);
	itest_resp_free(&a);
	itest_resp_free(&b);
}

static void test_bearer_any_case_and_bare_token_are_accepted(void)
{
	char tok[4096], h[4200];

	itest_login(tok, sizeof(tok), NULL, 0, "login");
	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	CU_ASSERT_EQUAL(get_me(h), 200);
	snprintf(h, sizeof(h), "Authorization: bEaReR %s", tok);
	CU_ASSERT_EQUAL(get_me(h), 200);
	snprintf(h, sizeof(h), "Authorization: %s", tok);
	CU_ASSERT_EQUAL(get_me(h), 200);
	CU_ASSERT_EQUAL(get_me(NULL), 401);
}

static void test_forged_tokens_are_401(void)
{
	long now = (long)time(NULL);
	char pl[512];
	const char *jti = "0123456789abcdef0123456789abcdef";

	snprintf(pl, sizeof(pl), "{\"sub\":\"1\",\"iat\":%ld,\"exp\":%ld,\"jti\":\"%s\",\"typ\":\"login\"}",
	         now, now + 600, jti);
	/* Control: the same claims, properly signed, are accepted (user 1 exists: tests register first). */
	CU_ASSERT_EQUAL(me_with_crafted("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", pl, secret), 200);
	CU_ASSERT_EQUAL(me_with_crafted("{\"alg\":\"none\",\"typ\":\"JWT\"}", pl, NULL), 401);
	CU_ASSERT_EQUAL(me_with_crafted("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", pl, secret), 401);
	CU_ASSERT_EQUAL(me_with_crafted("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", pl,
	                                "wrong-secret-wrong-secret-wrong-secret"),
	                401);
	/* Expired, correctly signed. */
	snprintf(pl, sizeof(pl), "{\"sub\":\"1\",\"iat\":%ld,\"exp\":%ld,\"jti\":\"%s\",\"typ\":\"login\"}",
	         now - 7200, now - 3600, jti);
	CU_ASSERT_EQUAL(me_with_crafted("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", pl, secret), 401);
	/* No exp, correctly signed. */
	snprintf(pl, sizeof(pl), "{\"sub\":\"1\",\"iat\":%ld,\"jti\":\"%s\",\"typ\":\"login\"}", now, jti);
	CU_ASSERT_EQUAL(me_with_crafted("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", pl, secret), 401);
	/* A token of another purpose, correctly signed. */
	snprintf(pl, sizeof(pl), "{\"sub\":\"1\",\"iat\":%ld,\"exp\":%ld,\"jti\":\"%s\",\"typ\":\"stream\"}",
	         now, now + 600, jti);
	CU_ASSERT_EQUAL(me_with_crafted("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", pl, secret), 401);
}

static long logout_with(const char *method, const char *tok)
{
	char h[4200];
	const char *hs[] = { h, "Content-Type: application/json", NULL };
	struct itest_resp r;
	long st;

	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	if (itest_request(method, "/auth/logout", hs, strcmp(method, "POST") == 0 ? "{}" : NULL,
	                  strcmp(method, "POST") == 0 ? 2 : 0, &r) != 0)
		return -1;
	st = r.status;
	if (st == 200)
		CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "message"), "Logged out");
	itest_resp_free(&r);
	return st;
}

static void test_logout_revokes_the_token(void)
{
	char tok[4096], h[4200];

	itest_login(tok, sizeof(tok), NULL, 0, "login");
	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	CU_ASSERT_EQUAL(get_me(h), 200);
	CU_ASSERT_EQUAL(logout_with("POST", tok), 200);
	CU_ASSERT_EQUAL(get_me(h), 401);
	CU_ASSERT_EQUAL(logout_with("POST", tok), 401);
	/* GET works as well (the document names no method). */
	itest_login(tok, sizeof(tok), NULL, 0, "login");
	CU_ASSERT_EQUAL(logout_with("GET", tok), 200);
	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	CU_ASSERT_EQUAL(get_me(h), 401);
}

/* Whether Redis holds a revocation of jti: 1 or 0, -1 when Redis cannot be asked. (Counting every
 * revocation key would race with a responder refilling the cache from PostgreSQL.) */
static long long redis_revoked(const char *jti)
{
	redisContext *c = redisConnectUnix(getenv("REDIS_SOCKET"));
	redisReply *r;
	long long n = -1;

	if (c == NULL || c->err)
		goto out;
	r = redisCommand(c, "EXISTS mediad:revoked:%s", jti);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		n = r->integer;
	freeReplyObject(r);
out:
	if (c != NULL)
		redisFree(c);
	return n;
}

static void test_forged_or_expired_logout_writes_nothing(void)
{
	long now = (long)time(NULL);
	char pl[512], tok[4096];

	CU_ASSERT_FATAL(redis_revoked("fedcba9876543210fedcba9876543210") == 0);
	snprintf(
	        pl, sizeof(pl),
	        "{\"sub\":\"1\",\"iat\":%ld,\"exp\":%ld,\"jti\":\"fedcba9876543210fedcba9876543210\",\"typ\":\"login\"}",
	        now - 7200, now - 3600);
	craft("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", pl, secret, tok, sizeof(tok));
	CU_ASSERT_EQUAL(logout_with("POST", tok), 401);
	craft("{\"alg\":\"none\"}", pl, NULL, tok, sizeof(tok));
	CU_ASSERT_EQUAL(logout_with("POST", tok), 401);
	CU_ASSERT_EQUAL(redis_revoked("fedcba9876543210fedcba9876543210"), 0);
}

static void test_login_limit_per_ip_and_email_is_429(void)
{
	char email[128], body[256];
	const char *h[] = { "Content-Type: application/json", "X-Forwarded-For: 198.51.100.77", NULL };
	struct itest_resp r;
	char retry[32];
	int i;

	unique_email(email, sizeof(email), "limit");
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"WrongPassword\"}", email);
	for (i = 0; i < 10; i++) {
		CU_ASSERT_FATAL(itest_request("POST", "/auth/login", h, body, strlen(body), &r) == 0);
		CU_ASSERT_EQUAL(r.status, 401);
		itest_resp_free(&r);
	}
	CU_ASSERT_FATAL(itest_request("POST", "/auth/login", h, body, strlen(body), &r) == 0);
	CU_ASSERT_EQUAL(r.status, 429);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "rate_limited");
	CU_ASSERT_TRUE(itest_header(&r, "Retry-After", retry, sizeof(retry)) &&
	               strtol(retry, NULL, 10) >= 1 && strtol(retry, NULL, 10) <= 60);
	itest_resp_free(&r);
}

static void test_login_limit_per_ip_is_429(void)
{
	const char *h[] = { "Content-Type: application/json", "X-Forwarded-For: 198.51.100.78", NULL };
	char body[256];
	struct itest_resp r;
	int i;

	/* 100 attempts with different emails from one address pass the per-email limit. */
	for (i = 0; i < 100; i++) {
		snprintf(body, sizeof(body),
		         "{\"email\":\"ip%d-%u@example.com\",\"password\":\"WrongPassword\"}", i, uniq);
		CU_ASSERT_FATAL(itest_request("POST", "/auth/login", h, body, strlen(body), &r) == 0);
		CU_ASSERT_EQUAL(r.status, 401);
		itest_resp_free(&r);
	}
	snprintf(body, sizeof(body), "{\"email\":\"ip-last-%u@example.com\",\"password\":\"WrongPassword\"}",
	         uniq);
	CU_ASSERT_FATAL(itest_request("POST", "/auth/login", h, body, strlen(body), &r) == 0);
	CU_ASSERT_EQUAL(r.status, 429);
	itest_resp_free(&r);
}

/* Redis is a cache (issue 11): without it a token is checked against PostgreSQL, never refused
 * with a 503, and a revoked one stays refused. tests/integration/test_redis_loss.c has the rest. */
static void test_redis_down_keeps_protected_routes_working(void)
{
	char tok[4096], gone[4096], h[4200], hg[4200];
	bool ok = false;
	int i;

	itest_login(tok, sizeof(tok), NULL, 0, "login");
	itest_login(gone, sizeof(gone), NULL, 0, "login");
	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	snprintf(hg, sizeof(hg), "Authorization: Bearer %s", gone);
	CU_ASSERT_EQUAL(logout_with("POST", gone), 200);
	CU_ASSERT_FATAL(itest_run_tool("redis-stop") == 0);
	CU_ASSERT_EQUAL(get_me(h), 200);
	CU_ASSERT_EQUAL(get_me(hg), 401);
	CU_ASSERT_EQUAL(itest_run_tool("redis-start"), 0);
	CU_ASSERT_EQUAL(get_me(h), 200);
	CU_ASSERT_EQUAL(get_me(hg), 401);
	/* Leave with Redis seen again (healthz "ok", not "degraded"): reconnection is backed off. */
	for (i = 0; i < 150 && !ok; i++) {
		struct itest_resp r;

		if (itest_request("GET", "/healthz", NULL, NULL, 0, &r) == 0)
			ok = itest_jstr(&r, "status") != NULL && strcmp(itest_jstr(&r, "status"), "ok") == 0;
		itest_resp_free(&r);
		if (!ok)
			itest_sleep_ms(100);
	}
	CU_ASSERT_TRUE(ok);
}

int main(void)
{
	CU_pSuite s;

	if (sodium_init() < 0)
		return 1;
	if (read_secret() != 0 || itest_init() != 0)
		return 1;
	s = CU_add_suite("auth", NULL, NULL);
	CU_add_test(s, "register answers the seed shape and normalises the email",
	            test_register_answers_seed_shape_and_normalises_email);
	CU_add_test(s, "same email in other case is 409", test_same_email_in_other_case_is_409);
	CU_add_test(s, "bad bodies get a 4xx naming the problem", test_bad_bodies_get_4xx_naming_the_problem);
	CU_add_test(s, "overlong password is 400", test_overlong_password_is_400);
	CU_add_test(s, "login answers token, expiry and user", test_login_answers_token_expiry_and_user);
	CU_add_test(s, "wrong password and unknown email get the same 401",
	            test_wrong_password_and_unknown_email_get_the_same_401);
	CU_add_test(s, "Bearer in any case and a bare token are accepted",
	            test_bearer_any_case_and_bare_token_are_accepted);
	CU_add_test(s, "forged tokens are 401", test_forged_tokens_are_401);
	CU_add_test(s, "logout revokes the token", test_logout_revokes_the_token);
	CU_add_test(s, "forged or expired logout writes nothing",
	            test_forged_or_expired_logout_writes_nothing);
	CU_add_test(s, "login limit per IP and email is 429", test_login_limit_per_ip_and_email_is_429);
	CU_add_test(s, "login limit per IP is 429", test_login_limit_per_ip_is_429);
	CU_add_test(s, "Redis down keeps protected routes working",
	            test_redis_down_keeps_protected_routes_working);
	return itest_run_all();
}
