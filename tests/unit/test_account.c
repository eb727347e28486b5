/* test_account.c: unit tests of the account rules (auth/account.c): email normalisation and the
 * password policy, shared by POST /auth/register, /auth/login and mediactl user add. */
#include "config.h"

#include "auth/account.h"
#include "auth/password.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A string of n copies of c, then tail, in a static buffer (one live result at a time). */
static const char *repeat(char c, size_t n, const char *tail)
{
	static char s[600];

	CU_ASSERT_FATAL(n + strlen(tail) < sizeof(s));
	memset(s, c, n);
	snprintf(s + n, sizeof(s) - n, "%s", tail);
	return s;
}

static void test_email_is_trimmed_and_lower_cased(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "user@example.com", "user@example.com" },
		{ "User@Example.COM", "user@example.com" },
		{ "  a@b.co \t\n", "a@b.co" },
		{ "\tMiXeD.Case+Tag@Sub.Example.ORG ", "mixed.case+tag@sub.example.org" },
		{ "o'neil@x.io", "o'neil@x.io" },
		{ "a!#$%&*+-/=?^_`{|}~z@x-y.example", "a!#$%&*+-/=?^_`{|}~z@x-y.example" },
		{ "1@2.3", "1@2.3" },
		{ "a@xn--bcher-kva.example", "a@xn--bcher-kva.example" },
	};
	char out[ACCOUNT_EMAIL_MAX + 1];
	struct verr e;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		memset(&e, 0, sizeof(e));
		CU_ASSERT_TRUE(account_email_normalize(cases[i].in, out, sizeof(out), &e));
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
		if (strcmp(out, cases[i].want) != 0)
			fprintf(stderr, "\n  \"%s\" gave \"%s\"", cases[i].in, out);
	}
}

static void test_email_refusals_name_the_field_and_why(void)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
		{ "", "required" },
		{ " \t ", "required" },
		{ "no-at-sign", "like user@example.com" },
		{ "a@@b.co", "like user@example.com" },
		{ "a@b@c.co", "like user@example.com" },
		{ "@b.co", "like user@example.com" },
		{ ".a@b.co", "like user@example.com" },
		{ "a.@b.co", "like user@example.com" },
		{ "a b@c.co", "character not allowed" },
		{ "a\"b@c.co", "character not allowed" },
		{ "a(b)@c.co", "character not allowed" },
		{ "a,b@c.co", "character not allowed" },
		{ "a;b@c.co", "character not allowed" },
		{ "a<b>@c.co", "character not allowed" },
		{ "a\\b@c.co", "character not allowed" },
		{ "\xc3\xbc@c.co", "character not allowed" },
		{ "a@localhost", "domain like example.com" },
		{ "a@b..co", "malformed domain" },
		{ "a@.b.co", "malformed domain" },
		{ "a@b.co.", "malformed domain" },
		{ "a@-b.co", "malformed domain" },
		{ "a@b-.co", "malformed domain" },
		{ "a@b_c.co", "malformed domain" },
		{ "a@b c.co", "malformed domain" },
		{ "a@[127.0.0.1]", "malformed domain" },
		{ "a@b\xc3\xbc.co", "malformed domain" },
	};
	char out[ACCOUNT_EMAIL_MAX + 1];
	struct verr e;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		memset(&e, 0, sizeof(e));
		CU_ASSERT_FALSE(account_email_normalize(cases[i].in, out, sizeof(out), &e));
		CU_ASSERT_PTR_NOT_NULL(e.field);
		if (e.field != NULL)
			CU_ASSERT_STRING_EQUAL(e.field, "email");
		CU_ASSERT_PTR_NOT_NULL(strstr(e.message, cases[i].why));
		if (strstr(e.message, cases[i].why) == NULL)
			fprintf(stderr, "\n  \"%s\": \"%s\", wanted \"%s\"", cases[i].in, e.message,
			        cases[i].why);
	}
}

static void test_email_local_part_is_at_most_64_bytes(void)
{
	char out[ACCOUNT_EMAIL_MAX + 1];
	struct verr e;

	CU_ASSERT_TRUE(account_email_normalize(repeat('a', 64, "@b.co"), out, sizeof(out), &e));
	CU_ASSERT_FALSE(account_email_normalize(repeat('a', 65, "@b.co"), out, sizeof(out), &e));
}

static void test_email_domain_label_is_at_most_63_bytes(void)
{
	char in[128], out[ACCOUNT_EMAIL_MAX + 1];
	struct verr e;

	snprintf(in, sizeof(in), "a@%s", repeat('d', 63, ".co"));
	CU_ASSERT_TRUE(account_email_normalize(in, out, sizeof(out), &e));
	snprintf(in, sizeof(in), "a@%s", repeat('d', 64, ".co"));
	CU_ASSERT_FALSE(account_email_normalize(in, out, sizeof(out), &e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "malformed domain"));
}

static void test_email_is_at_most_254_bytes_after_trimming(void)
{
	char local[65], label[64], in[300], out[ACCOUNT_EMAIL_MAX + 1];
	struct verr e;

	memset(local, 'a', 64);
	local[64] = '\0';
	memset(label, 'b', 63);
	label[63] = '\0';
	/* 64 + "@" + 63 + "." + 63 + "." + 58 + ".co" = 254 bytes */
	snprintf(in, sizeof(in), "%s@%s.%s.%.58s.co", local, label, label, label);
	CU_ASSERT_EQUAL_FATAL(strlen(in), 254);
	CU_ASSERT_TRUE(account_email_normalize(in, out, sizeof(out), &e));
	CU_ASSERT_EQUAL(strlen(out), 254);
	snprintf(in, sizeof(in), "  %s@%s.%s.%.58s.co \t", local, label, label, label);
	CU_ASSERT_TRUE(account_email_normalize(in, out, sizeof(out), &e));
	CU_ASSERT_EQUAL(strlen(out), 254);
	snprintf(in, sizeof(in), "%s@%s.%s.%.59s.co", local, label, label, label);
	CU_ASSERT_FALSE(account_email_normalize(in, out, sizeof(out), &e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "at most 254 bytes"));
}

static void test_email_never_writes_past_a_small_buffer(void)
{
	char out[8];
	struct verr e;

	memset(out, 'z', sizeof(out));
	CU_ASSERT_FALSE(account_email_normalize("abcd@ef.gh", out, 6, &e));
	CU_ASSERT_EQUAL(out[6], 'z');
	CU_ASSERT_EQUAL(out[7], 'z');
	CU_ASSERT_TRUE(account_email_normalize("a@ef.gh", out, 8, &e));
	CU_ASSERT_STRING_EQUAL(out, "a@ef.gh");
}

static void test_password_counts_characters_and_caps_bytes(void)
{
	static const struct {
		const char *pw;
		size_t len; /* 0: strlen */
		bool ok;
		const char *why;
	} cases[] = {
		{ "12345678", 0, true, NULL },
		{ "1234567", 0, false, "at least 8 characters" },
		{ "", 0, false, "at least 8 characters" },
		/* eight and seven two-byte characters */
		{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 0, true, NULL },
		{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 0, false,
		  "at least 8 characters" },
		{ "\xff"
		  "2345678",
		  0, false, "valid UTF-8" },
		{ "1234\xc3", 0, false, "valid UTF-8" },
		{ "abcd\0efgh", 9, false, "valid UTF-8" },
		{ "\xc0\xaf"
		  "2345678",
		  0, false, "valid UTF-8" },
	};
	struct verr e;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].pw);
		bool ok;

		memset(&e, 0, sizeof(e));
		ok = account_password_ok(cases[i].pw, len, &e);
		CU_ASSERT_EQUAL(ok, cases[i].ok);
		if (!cases[i].ok) {
			CU_ASSERT_TRUE(e.field != NULL && strcmp(e.field, "password") == 0);
			CU_ASSERT_PTR_NOT_NULL(strstr(e.message, cases[i].why));
		}
		if (ok != cases[i].ok)
			fprintf(stderr, "\n  password case %zu: %s", i, ok ? "accepted" : e.message);
	}
}

static void test_password_is_at_most_1024_bytes(void)
{
	static char pw[ACCOUNT_PASSWORD_MAX_BYTES + 2];
	struct verr e;

	memset(pw, 'p', sizeof(pw) - 1);
	CU_ASSERT_TRUE(account_password_ok(pw, ACCOUNT_PASSWORD_MAX_BYTES, &e));
	CU_ASSERT_FALSE(account_password_ok(pw, ACCOUNT_PASSWORD_MAX_BYTES + 1, &e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "at most 1024 bytes"));
}

/* The cost parameters are OWASP's argon2id minimum (m = 19 MiB, t = 2, p = 1) or more, and
 * what a hash says it was made with. */
static void test_password_hash_is_argon2id_at_owasp_minimum_or_more(void)
{
	char h[PASSWORD_HASH_LEN];
	unsigned long m = 0, t = 0, par = 0;
	const char *q;

	CU_ASSERT_FATAL(sodium_init() >= 0);
	CU_ASSERT_FATAL(password_hash("correct horse", 13, h) == 0);
	CU_ASSERT_EQUAL(strncmp(h, "$argon2id$v=19$", 15), 0);
	q = strstr(h, "$m=");
	CU_ASSERT_FATAL(q != NULL);
	CU_ASSERT_EQUAL(sscanf(q, "$m=%lu,t=%lu,p=%lu", &m, &t, &par), 3);
	CU_ASSERT_TRUE(m >= 19456);
	CU_ASSERT_TRUE(t >= 2);
	CU_ASSERT_EQUAL(par, 1);
	CU_ASSERT_EQUAL(m * 1024, PASSWORD_MEMLIMIT);
	CU_ASSERT_TRUE(password_verify(h, "correct horse", 13));
	CU_ASSERT_FALSE(password_verify(h, "correct horsf", 13));
	CU_ASSERT_FALSE(password_needs_rehash(h));
}

/* A hash from before (libsodium's interactive limits, 64 MiB) still verifies, and asks to be
 * re-hashed at today's parameters (the login handler then stores the new one). */
static void test_password_old_parameters_verify_and_need_rehash(void)
{
	char old[PASSWORD_HASH_LEN];

	CU_ASSERT_FATAL(sodium_init() >= 0);
	CU_ASSERT_FATAL(crypto_pwhash_str(old, "pw before", 9, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                                  crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(old, "$m=65536,t=2,p=1$"));
	CU_ASSERT_TRUE(password_verify(old, "pw before", 9));
	CU_ASSERT_FALSE(password_verify(old, "pw befor", 8));
	CU_ASSERT_TRUE(password_needs_rehash(old));
}

static const struct unit_test tests[] = {
	{ "email is trimmed and lower-cased", test_email_is_trimmed_and_lower_cased },
	{ "email refusals name the field and say why", test_email_refusals_name_the_field_and_why },
	{ "email local part is at most 64 bytes", test_email_local_part_is_at_most_64_bytes },
	{ "email domain label is at most 63 bytes", test_email_domain_label_is_at_most_63_bytes },
	{ "email is at most 254 bytes after trimming", test_email_is_at_most_254_bytes_after_trimming },
	{ "email never writes past a small buffer", test_email_never_writes_past_a_small_buffer },
	{ "password counts characters and must be UTF-8", test_password_counts_characters_and_caps_bytes },
	{ "password is at most 1024 bytes", test_password_is_at_most_1024_bytes },
	{ "password hash is argon2id at OWASP's minimum or more",
	  test_password_hash_is_argon2id_at_owasp_minimum_or_more },
	{ "password hashes of old parameters verify and need a rehash",
	  test_password_old_parameters_verify_and_need_rehash },
};

UNIT_SUITES(UNIT_SUITE("account", NULL, NULL, tests));
