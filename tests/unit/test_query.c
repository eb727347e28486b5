/* test_query.c: unit tests of percent-decoding and query string parsing (http/query.c). */
#include "config.h"

#include "http/query.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct decode_case {
	const char *in;
	size_t n; /* 0: strlen(in) */
	bool plus_space;
	const char *want; /* NULL: must fail */
	size_t want_len;  /* 0: strlen(want) */
};

static void run_decode_cases(const struct decode_case *cases, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		const struct decode_case *c = &cases[i];
		struct buf out = BUF_INIT;
		size_t n = c->n ? c->n : strlen(c->in);
		int rc;

		rc = url_decode(c->in, n, c->plus_space, &out);
		if (c->want == NULL) {
			if (rc != -1)
				fprintf(stderr, "\n  case %zu \"%s\": expected failure\n", i, c->in);
			CU_ASSERT_EQUAL(rc, -1);
			CU_ASSERT_EQUAL(out.len, 0);
		} else {
			size_t wl = c->want_len ? c->want_len : strlen(c->want);

			if (rc != 0 || out.len != wl || memcmp(out.data, c->want, wl) != 0)
				fprintf(stderr, "\n  case %zu \"%s\": got rc %d \"%s\"\n", i, c->in, rc,
				        out.data);
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(out.len, wl);
			CU_ASSERT_EQUAL(memcmp(out.data, c->want, wl), 0);
			CU_ASSERT_EQUAL(out.data[out.len], '\0');
		}
		buf_free(&out);
	}
}

static void test_decode_percent_escapes(void)
{
	static const struct decode_case cases[] = {
		{ "", 0, false, "", 0 },
		{ "plain", 0, false, "plain", 0 },
		{ "a%20b", 0, false, "a b", 0 },
		{ "%41%42%43", 0, false, "ABC", 0 },
		{ "%e2%82%ac", 0, false, "\xe2\x82\xac", 0 },
		{ "%E2%82%AC", 0, false, "\xe2\x82\xac", 0 },
		{ "%25", 0, false, "%", 0 },
		{ "%2525", 0, false, "%25", 0 },
		{ "%ff", 0, false, "\xff", 0 },
		{ "a%2Fb", 0, false, "a/b", 0 },
		{ "%01", 0, false, "\x01", 0 },
		/* only the first n bytes count */
		{ "abc%20", 3, false, "abc", 0 },
	};

	run_decode_cases(cases, ARRAY_LEN(cases));
}

static void test_decode_plus_as_space_only_when_asked(void)
{
	static const struct decode_case cases[] = {
		{ "a+b", 0, true, "a b", 0 }, { "a+b", 0, false, "a+b", 0 }, { "++", 0, true, "  ", 0 },
		{ "%2B", 0, true, "+", 0 },   { "%2B+", 0, false, "++", 0 },
	};

	run_decode_cases(cases, ARRAY_LEN(cases));
}

static void test_decode_rejects_bad_escapes(void)
{
	static const struct decode_case cases[] = {
		{ "%", 0, false, NULL, 0 },
		{ "abc%", 0, false, NULL, 0 },
		{ "%4", 0, false, NULL, 0 },
		{ "%4g", 0, false, NULL, 0 },
		{ "%g4", 0, false, NULL, 0 },
		{ "% 41", 0, false, NULL, 0 },
		{ "%-1", 0, false, NULL, 0 },
		{ "%+1", 0, true, NULL, 0 },
		/* the escape is cut by n */
		{ "%41", 2, false, NULL, 0 },
	};

	run_decode_cases(cases, ARRAY_LEN(cases));
}

static void test_decode_rejects_nul(void)
{
	static const struct decode_case cases[] = {
		{ "%00", 0, false, NULL, 0 },
		{ "a%00b", 0, true, NULL, 0 },
		{ "a\0b", 3, false, NULL, 0 },
	};

	run_decode_cases(cases, ARRAY_LEN(cases));
}

static void test_decode_failure_leaves_output_unchanged(void)
{
	struct buf out = BUF_INIT;

	CU_ASSERT_EQUAL(buf_puts(&out, "kept"), 0);
	CU_ASSERT_EQUAL(url_decode("abc%zz", 6, false, &out), -1);
	CU_ASSERT_EQUAL(out.len, 4);
	CU_ASSERT_STRING_EQUAL(out.data, "kept");
	CU_ASSERT_EQUAL(url_decode("+x", 2, true, &out), 0);
	CU_ASSERT_STRING_EQUAL(out.data, "kept x");
	buf_free(&out);
}

struct parse_case {
	const char *qs;
	int rc;
	const char *want; /* pairs as "k=v;k=v;" */
};

static void test_parse_pairs_in_order(void)
{
	static const struct parse_case cases[] = {
		{ "", 0, "" },
		{ "a=1", 0, "a=1;" },
		{ "a=1&b=2", 0, "a=1;b=2;" },
		{ "a=1&b=x%20y&a=2", 0, "a=1;b=x y;a=2;" },
		{ "q=hello+world", 0, "q=hello world;" },
		{ "k%20ey=v", 0, "k ey=v;" },
		{ "flag", 0, "flag=;" },
		{ "flag&x=1", 0, "flag=;x=1;" },
		{ "a=", 0, "a=;" },
		{ "a==b", 0, "a==b;" },
		{ "=v", 0, "=v;" },
		{ "&&a=1&&b=2&", 0, "a=1;b=2;" },
		{ "&", 0, "" },
		{ "a=%3D%26", 0, "a==&;" },
		{ "a=%zz", -1, "" },
		{ "a=1&b=%00", -1, "" },
		{ "a=%", -1, "" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct query q;
		char got[256];
		size_t j, o = 0;
		int rc;

		memset(&q, 0, sizeof(q));
		rc = query_parse(cases[i].qs, &q);
		got[0] = '\0';
		for (j = 0; j < q.n && o < sizeof(got); j++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s=%s;", q.kv[j].key, q.kv[j].value);
		if (rc != cases[i].rc || strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "\n  case \"%s\": rc %d, got \"%s\"\n", cases[i].qs, rc, got);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_STRING_EQUAL(got, cases[i].want);
		if (rc != 0)
			CU_ASSERT_EQUAL(q.n, 0);
		query_free(&q);
	}
}

static void test_parse_null_is_empty(void)
{
	struct query q;

	memset(&q, 0, sizeof(q));
	CU_ASSERT_EQUAL(query_parse(NULL, &q), 0);
	CU_ASSERT_EQUAL(q.n, 0);
	query_free(&q);
}

static void test_get_returns_first_value(void)
{
	struct query q;

	memset(&q, 0, sizeof(q));
	CU_ASSERT_EQUAL_FATAL(query_parse("tag=a&limit=10&tag=b&empty", &q), 0);
	CU_ASSERT_STRING_EQUAL(query_get(&q, "tag"), "a");
	CU_ASSERT_STRING_EQUAL(query_get(&q, "limit"), "10");
	CU_ASSERT_STRING_EQUAL(query_get(&q, "empty"), "");
	CU_ASSERT_PTR_NULL(query_get(&q, "missing"));
	CU_ASSERT_PTR_NULL(query_get(&q, "Tag"));
	query_free(&q);
}

static void test_get_all_returns_repeated_keys(void)
{
	struct query q;
	const char *vals[4] = { NULL, NULL, NULL, NULL };

	memset(&q, 0, sizeof(q));
	CU_ASSERT_EQUAL_FATAL(query_parse("t=1&x=0&t=2&t=3", &q), 0);
	CU_ASSERT_EQUAL(query_get_all(&q, "t", vals, 4), 3);
	CU_ASSERT_STRING_EQUAL(vals[0], "1");
	CU_ASSERT_STRING_EQUAL(vals[1], "2");
	CU_ASSERT_STRING_EQUAL(vals[2], "3");
	CU_ASSERT_PTR_NULL(vals[3]);
	/* With less room it fills what fits and still counts all. */
	vals[0] = vals[1] = NULL;
	CU_ASSERT_EQUAL(query_get_all(&q, "t", vals, 1), 3);
	CU_ASSERT_STRING_EQUAL(vals[0], "1");
	CU_ASSERT_PTR_NULL(vals[1]);
	CU_ASSERT_EQUAL(query_get_all(&q, "t", NULL, 0), 3);
	CU_ASSERT_EQUAL(query_get_all(&q, "none", vals, 4), 0);
	query_free(&q);
}

static void test_parse_caps_length(void)
{
	char *qs = malloc(QUERY_MAX_LEN + 2);
	struct query q;

	CU_ASSERT_PTR_NOT_NULL_FATAL(qs);
	memset(&q, 0, sizeof(q));
	/* Exactly QUERY_MAX_LEN bytes is accepted. */
	memset(qs, 'v', QUERY_MAX_LEN);
	memcpy(qs, "k=", 2);
	qs[QUERY_MAX_LEN] = '\0';
	CU_ASSERT_EQUAL(query_parse(qs, &q), 0);
	CU_ASSERT_EQUAL(q.n, 1);
	CU_ASSERT_EQUAL(strlen(query_get(&q, "k")), QUERY_MAX_LEN - 2);
	query_free(&q);
	/* One byte more is refused. */
	qs[QUERY_MAX_LEN] = 'v';
	qs[QUERY_MAX_LEN + 1] = '\0';
	CU_ASSERT_EQUAL(query_parse(qs, &q), -1);
	CU_ASSERT_EQUAL(q.n, 0);
	query_free(&q);
	free(qs);
}

static void test_parse_caps_pair_count(void)
{
	char qs[QUERY_MAX_PARAMS * 8 + 16];
	struct query q;
	size_t i, o = 0;

	memset(&q, 0, sizeof(q));
	for (i = 0; i < QUERY_MAX_PARAMS; i++)
		o += (size_t)snprintf(qs + o, sizeof(qs) - o, "%sp=%zu", i ? "&" : "", i);
	CU_ASSERT_EQUAL(query_parse(qs, &q), 0);
	CU_ASSERT_EQUAL(q.n, QUERY_MAX_PARAMS);
	CU_ASSERT_STRING_EQUAL(q.kv[QUERY_MAX_PARAMS - 1].value, "63");
	query_free(&q);
	/* Empty pairs do not count towards the cap. */
	snprintf(qs + o, sizeof(qs) - o, "&&&");
	CU_ASSERT_EQUAL(query_parse(qs, &q), 0);
	CU_ASSERT_EQUAL(q.n, QUERY_MAX_PARAMS);
	query_free(&q);
	snprintf(qs + o, sizeof(qs) - o, "&one=more");
	CU_ASSERT_EQUAL(query_parse(qs, &q), -1);
	CU_ASSERT_EQUAL(q.n, 0);
	query_free(&q);
}

static void test_free_twice_is_safe(void)
{
	struct query q;

	memset(&q, 0, sizeof(q));
	CU_ASSERT_EQUAL(query_parse("a=1&b=2", &q), 0);
	query_free(&q);
	CU_ASSERT_EQUAL(q.n, 0);
	CU_ASSERT_PTR_NULL(q.kv[0].key);
	query_free(&q);
	CU_ASSERT_EQUAL(q.n, 0);
}

static const struct unit_test tests[] = {
	{ "decode percent escapes", test_decode_percent_escapes },
	{ "decode plus as space only when asked", test_decode_plus_as_space_only_when_asked },
	{ "decode rejects bad escapes", test_decode_rejects_bad_escapes },
	{ "decode rejects NUL", test_decode_rejects_nul },
	{ "decode failure leaves the output unchanged", test_decode_failure_leaves_output_unchanged },
	{ "parse keeps pairs in order", test_parse_pairs_in_order },
	{ "parse of NULL is empty", test_parse_null_is_empty },
	{ "get returns the first value", test_get_returns_first_value },
	{ "get_all returns repeated keys", test_get_all_returns_repeated_keys },
	{ "parse caps the length", test_parse_caps_length },
	{ "parse caps the pair count", test_parse_caps_pair_count },
	{ "free twice is safe", test_free_twice_is_safe },
};

UNIT_SUITES(UNIT_SUITE("query", NULL, NULL, tests));
