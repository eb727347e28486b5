/* test_range.c: CUnit tests for Range, Content-Range, If-Range, If-None-Match and HTTP-date. */
#include "config.h"

#include "http/range.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct range_case {
	const char *header;
	uint64_t size;
	enum http_range_result want;
	uint64_t start;
	uint64_t end;
};

/* Runs a table; on RANGE_OK the bounds must match, otherwise the outputs must be untouched. */
static void range_run(const struct range_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct range_case *tc = &cases[i];
		uint64_t s = 777, e = 888;
		enum http_range_result got = http_range_parse(tc->header, tc->size, &s, &e);
		bool ok = got == tc->want;

		if (ok && got == RANGE_OK)
			ok = s == tc->start && e == tc->end;
		else if (ok)
			ok = s == 777 && e == 888;
		if (!ok)
			fprintf(stderr,
			        "\nrange case %zu \"%s\" size %" PRIu64 ": got %d %" PRIu64 "-%" PRIu64 "\n",
			        i, tc->header ? tc->header : "(null)", tc->size, (int)got, s, e);
		CU_ASSERT(ok);
	}
}

static void test_range_accepts_the_three_forms(void)
{
	static const struct range_case cases[] = {
		{ "bytes=0-99", 100, RANGE_OK, 0, 99 },   { "bytes=0-0", 100, RANGE_OK, 0, 0 },
		{ "bytes=99-99", 100, RANGE_OK, 99, 99 }, { "bytes=10-", 100, RANGE_OK, 10, 99 },
		{ "bytes=0-", 1, RANGE_OK, 0, 0 },        { "bytes=-10", 100, RANGE_OK, 90, 99 },
		{ "bytes=-1", 100, RANGE_OK, 99, 99 },    { "bytes=-100", 100, RANGE_OK, 0, 99 },
	};

	range_run(cases, N_ELEMS(cases));
}

static void test_range_clips_last_pos_and_suffix_to_size(void)
{
	static const struct range_case cases[] = {
		{ "bytes=50-1000", 100, RANGE_OK, 50, 99 },
		{ "bytes=0-100", 100, RANGE_OK, 0, 99 },
		{ "bytes=-101", 100, RANGE_OK, 0, 99 },
		{ "bytes=-5000", 1, RANGE_OK, 0, 0 },
	};

	range_run(cases, N_ELEMS(cases));
}

static void test_range_unit_is_case_insensitive(void)
{
	static const struct range_case cases[] = {
		{ "BYTES=1-2", 10, RANGE_OK, 1, 2 },    { "Bytes=1-2", 10, RANGE_OK, 1, 2 },
		{ "items=1-2", 10, RANGE_NONE, 0, 0 },  { "byte=1-2", 10, RANGE_NONE, 0, 0 },
		{ "bytesx=1-2", 10, RANGE_NONE, 0, 0 },
	};

	range_run(cases, N_ELEMS(cases));
}

static void test_range_unsatisfiable(void)
{
	static const struct range_case cases[] = {
		{ "bytes=100-", 100, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=100-200", 100, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-0", 100, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-000", 100, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=0-0", 0, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=0-", 0, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-0", 0, RANGE_UNSATISFIABLE, 0, 0 },
	};

	range_run(cases, N_ELEMS(cases));
}

static void test_range_suffix_on_empty_representation_is_ignored(void)
{
	static const struct range_case cases[] = {
		{ "bytes=-1", 0, RANGE_NONE, 0, 0 },
		{ "bytes=-99999999999999999999999", 0, RANGE_NONE, 0, 0 },
	};

	range_run(cases, N_ELEMS(cases));
}

static void test_range_invalid_syntax_is_ignored(void)
{
	static const struct range_case cases[] = {
		{ NULL, 100, RANGE_NONE, 0, 0 },
		{ "", 100, RANGE_NONE, 0, 0 },
		{ "bytes", 100, RANGE_NONE, 0, 0 },
		{ "bytes=", 100, RANGE_NONE, 0, 0 },
		{ "bytes=,", 100, RANGE_NONE, 0, 0 },
		{ "bytes=-", 100, RANGE_NONE, 0, 0 },
		{ "bytes=--5", 100, RANGE_NONE, 0, 0 },
		{ "bytes=-5-", 100, RANGE_NONE, 0, 0 },
		{ "bytes=-5-6", 100, RANGE_NONE, 0, 0 },
		{ "bytes=+5-", 100, RANGE_NONE, 0, 0 },
		{ "bytes=5-+6", 100, RANGE_NONE, 0, 0 },
		{ "bytes=5", 100, RANGE_NONE, 0, 0 },
		{ "bytes=a-b", 100, RANGE_NONE, 0, 0 },
		{ "bytes=0-5x", 100, RANGE_NONE, 0, 0 },
		{ "bytes=0x10-", 100, RANGE_NONE, 0, 0 },
		{ "bytes=0 - 5", 100, RANGE_NONE, 0, 0 },
		{ "bytes =0-5", 100, RANGE_NONE, 0, 0 },
		{ "bytes 0-5", 100, RANGE_NONE, 0, 0 },
		{ "bytes=5-2", 100, RANGE_NONE, 0, 0 },
		{ "bytes=1.5-2", 100, RANGE_NONE, 0, 0 },
		{ "bytes=0-5\r\n", 100, RANGE_NONE, 0, 0 },
		{ "bytes=0-5;", 100, RANGE_NONE, 0, 0 },
		{ "bytes=5-2", 0, RANGE_NONE, 0, 0 },
	};

	range_run(cases, N_ELEMS(cases));
}

static void test_range_multiple_ranges_serve_the_whole_body(void)
{
	static const struct range_case cases[] = {
		{ "bytes=0-1,2-3", 100, RANGE_NONE, 0, 0 },
		{ "bytes=0-1, 5-6", 100, RANGE_NONE, 0, 0 },
		{ "bytes=-5,-0", 100, RANGE_NONE, 0, 0 },
		{ "bytes=200-300,400-", 100, RANGE_NONE, 0, 0 },
		{ "bytes=0-1,garbage", 100, RANGE_NONE, 0, 0 },
	};

	range_run(cases, N_ELEMS(cases));
}

static void test_range_tolerates_ows_and_empty_list_elements(void)
{
	static const struct range_case cases[] = {
		{ "bytes= 0-5", 100, RANGE_OK, 0, 5 },        { "bytes=0-5 ", 100, RANGE_OK, 0, 5 },
		{ "bytes=\t0-5\t", 100, RANGE_OK, 0, 5 },     { " bytes=0-5", 100, RANGE_OK, 0, 5 },
		{ "bytes=,0-5", 100, RANGE_OK, 0, 5 },        { "bytes=0-5 , ", 100, RANGE_OK, 0, 5 },
		{ "bytes= , ,0-5,, ,", 100, RANGE_OK, 0, 5 },
	};

	range_run(cases, N_ELEMS(cases));
}

static void test_range_huge_numbers_are_exact(void)
{
	static const struct range_case cases[] = {
		{ "bytes=99999999999999999999999-", 100, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=18446744073709551616-", UINT64_MAX, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=18446744073709551615-", UINT64_MAX, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=18446744073709551614-", UINT64_MAX, RANGE_OK, UINT64_MAX - 1, UINT64_MAX - 1 },
		{ "bytes=0-99999999999999999999999", 100, RANGE_OK, 0, 99 },
		{ "bytes=-99999999999999999999999", 100, RANGE_OK, 0, 99 },
		{ "bytes=-18446744073709551615", UINT64_MAX, RANGE_OK, 0, UINT64_MAX - 1 },
		{ "bytes=000000000000000000000000000005-0000000000000000000000000007", 100, RANGE_OK, 5, 7 },
		{ "bytes=99999999999999999999999-99999999999999999999998", 100, RANGE_NONE, 0, 0 },
		{ "bytes=99999999999999999999998-99999999999999999999999", 100, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=18446744073709551616-18446744073709551615", UINT64_MAX, RANGE_NONE, 0, 0 },
	};

	range_run(cases, N_ELEMS(cases));
}

static void test_range_overlong_header_is_ignored(void)
{
	char h[HTTP_RANGE_HEADER_MAX + 2];
	uint64_t s = 0, e = 0;

	memset(h, ' ', sizeof(h));
	memcpy(h, "bytes=0-5", 9);
	h[HTTP_RANGE_HEADER_MAX] = '\0';
	CU_ASSERT_EQUAL(http_range_parse(h, 100, &s, &e), RANGE_OK);
	h[HTTP_RANGE_HEADER_MAX] = ' ';
	h[HTTP_RANGE_HEADER_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(http_range_parse(h, 100, &s, &e), RANGE_NONE);
}

static void test_content_range_formats_and_checks(void)
{
	static const struct {
		uint64_t start, end, size;
		size_t n;
		int want;
		const char *text;
	} cases[] = {
		{ 0, 99, 100, HTTP_CONTENT_RANGE_SIZE, 0, "bytes 0-99/100" },
		{ 5, 5, 6, HTTP_CONTENT_RANGE_SIZE, 0, "bytes 5-5/6" },
		{ UINT64_MAX - 1, UINT64_MAX - 1, UINT64_MAX, HTTP_CONTENT_RANGE_SIZE, 0,
		  "bytes 18446744073709551614-18446744073709551614/18446744073709551615" },
		{ 0, 99, 100, 15, 0, "bytes 0-99/100" },
		{ 0, 99, 100, 14, -1, "" },
		{ 6, 5, 100, HTTP_CONTENT_RANGE_SIZE, -1, "" },
		{ 0, 100, 100, HTTP_CONTENT_RANGE_SIZE, -1, "" },
		{ 0, 0, 0, HTTP_CONTENT_RANGE_SIZE, -1, "" },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		char out[HTTP_CONTENT_RANGE_SIZE];
		int rc = http_content_range(out, cases[i].n, cases[i].start, cases[i].end, cases[i].size);

		CU_ASSERT_EQUAL(rc, cases[i].want);
		CU_ASSERT_STRING_EQUAL(out, cases[i].text);
	}
	CU_ASSERT_EQUAL(http_content_range(NULL, 10, 0, 0, 1), -1);
}

static void test_content_range_unsatisfied_formats(void)
{
	char out[HTTP_CONTENT_RANGE_SIZE];

	CU_ASSERT_EQUAL(http_content_range_unsatisfied(out, sizeof(out), 1234), 0);
	CU_ASSERT_STRING_EQUAL(out, "bytes */1234");
	CU_ASSERT_EQUAL(http_content_range_unsatisfied(out, sizeof(out), 0), 0);
	CU_ASSERT_STRING_EQUAL(out, "bytes */0");
	CU_ASSERT_EQUAL(http_content_range_unsatisfied(out, 9, 0), -1);
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void test_etag_match_weak_comparison_and_lists(void)
{
	static const struct {
		const char *inm;
		const char *etag;
		bool want;
	} cases[] = {
		{ "\"abc\"", "\"abc\"", true },
		{ "W/\"abc\"", "\"abc\"", true },
		{ "\"abc\"", "W/\"abc\"", true },
		{ "W/\"abc\"", "W/\"abc\"", true },
		{ "\"abd\"", "\"abc\"", false },
		{ "\"ab\"", "\"abc\"", false },
		{ "\"x\", \"abc\"", "\"abc\"", true },
		{ "\"x\",\"y\" ,\t\"abc\"", "\"abc\"", true },
		{ "\"x\", \"y\"", "\"abc\"", false },
		{ " , \"abc\" ,, ", "\"abc\"", true },
		{ "*", "\"abc\"", true },
		{ " * ", "\"abc\"", true },
		{ "*", NULL, false },
		{ "\"\"", "\"\"", true },
		{ NULL, "\"abc\"", false },
		{ "", "\"abc\"", false },
		{ "\"abc\"", NULL, false },
		{ "\"abc\"", "abc", false },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		bool got = http_etag_match(cases[i].inm, cases[i].etag);

		if (got != cases[i].want)
			fprintf(stderr, "\netag case %zu\n", i);
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
}

static void test_etag_match_malformed_is_false(void)
{
	static const char *const bad[] = {
		"abc",       "\"abc",      "\"abc\" \"abc\"", "w/\"abc\"",   "W/abc",    "\"a bc\"",
		"\"a\"bc\"", "*, \"abc\"", "\"abc\", *",      "\"abc\";q=1", "\"abc\"x", "\"abc\",x",
	};
	size_t i;

	for (i = 0; i < N_ELEMS(bad); i++) {
		if (http_etag_match(bad[i], "\"abc\""))
			fprintf(stderr, "\nmalformed etag case %zu matched\n", i);
		CU_ASSERT_FALSE(http_etag_match(bad[i], "\"abc\""));
	}
}

static void test_if_range_strong_etag_or_exact_date(void)
{
	/* 784111777 = Sun, 06 Nov 1994 08:49:37 GMT */
	static const struct {
		const char *if_range;
		const char *etag;
		time_t mtime;
		bool want;
	} cases[] = {
		{ NULL, "\"abc\"", 0, true },
		{ "\"abc\"", "\"abc\"", 0, true },
		{ " \"abc\" ", "\"abc\"", 0, true },
		{ "\"abc\"", "\"abd\"", 0, false },
		{ "W/\"abc\"", "\"abc\"", 0, false },
		{ "\"abc\"", "W/\"abc\"", 0, false },
		{ "\"abc\"", NULL, 0, false },
		{ "\"abc", "\"abc\"", 0, false },
		{ "Sun, 06 Nov 1994 08:49:37 GMT", "\"abc\"", 784111777, true },
		{ "Sun, 06 Nov 1994 08:49:37 GMT", NULL, 784111777, true },
		{ "Sun, 06 Nov 1994 08:49:38 GMT", "\"abc\"", 784111777, false },
		{ "Sun, 06 Nov 1994 08:49:36 GMT", "\"abc\"", 784111777, false },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", "\"abc\"", 784111777, true },
		{ "yesterday", "\"abc\"", 784111777, false },
		{ "", "\"abc\"", 784111777, false },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		bool got = http_if_range_ok(cases[i].if_range, cases[i].etag, cases[i].mtime);

		if (got != cases[i].want)
			fprintf(stderr, "\nif-range case %zu\n", i);
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
}

static void test_date_parse_accepts_the_three_formats(void)
{
	static const struct {
		const char *s;
		int64_t want;
	} cases[] = {
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Sun Nov  6 08:49:37 1994", 784111777 },
		{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
		{ "Wed, 31 Dec 1969 23:59:59 GMT", -1 },
		{ "Tue, 19 Jan 2038 03:14:08 GMT", 2147483648LL },
		{ "Tue, 29 Feb 2000 12:00:00 GMT", 951825600 },
		{ "Fri, 31 Dec 9999 23:59:59 GMT", 253402300799LL },
		{ "Thursday, 01-Jan-70 00:00:00 GMT", 0 },
		{ "Tuesday, 01-Jan-69 00:00:00 GMT", 3124224000LL },
		{ "Thu Jan  1 00:00:00 1970", 0 },
		{ "Wed Nov 16 08:49:37 1994", 784975777 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT ", 784111777 },
		{ "Wed, 31 Dec 2008 23:59:60 GMT", 1230768000 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		time_t t = 42;
		int rc = http_date_parse(cases[i].s, &t);

		if (rc != 0 || (int64_t)t != cases[i].want)
			fprintf(stderr, "\ndate case %zu \"%s\": rc %d t %" PRId64 "\n", i, cases[i].s, rc,
			        (int64_t)t);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL((int64_t)t, cases[i].want);
	}
}

static void test_date_parse_rejects_malformed(void)
{
	static const char *const bad[] = {
		"",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 nov 1994 08:49:37 GMT",
		"sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37 +0000",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 06 Nov 1994 8:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT",
		"Sun, 06 Nov 1994 08:49:61 GMT",
		"Sun, 00 Nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Thu, 29 Feb 1900 00:00:00 GMT",
		"Sun,  06 Nov 1994 08:49:37 GMT",
		"Sun 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06-Nov-94 08:49:37 GMT",
		"Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994",
		"Sun Nov 06 08:49:37 94",
		"Sun, 06 Nov 1994 08:49:37 GMTx",
		"Sun, 06 Nov 1994 08:49:37 GMT garbage",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"784111777",
		"Sun, 06 Nov 1994 08:49:37 GMT                                        ",
	};
	size_t i;

	for (i = 0; i < N_ELEMS(bad); i++) {
		time_t t = 42;

		if (http_date_parse(bad[i], &t) != -1)
			fprintf(stderr, "\nbad date case %zu \"%s\" accepted\n", i, bad[i]);
		CU_ASSERT_EQUAL(http_date_parse(bad[i], &t), -1);
		CU_ASSERT_EQUAL((int64_t)t, 42);
	}
	CU_ASSERT_EQUAL(http_date_parse(NULL, NULL), -1);
}

static void test_date_format_imf_fixdate(void)
{
	static const struct {
		int64_t t;
		const char *want;
	} cases[] = {
		{ 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },
		{ 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
		{ -1, "Wed, 31 Dec 1969 23:59:59 GMT" },
		{ 951825600, "Tue, 29 Feb 2000 12:00:00 GMT" },
		{ 2147483648LL, "Tue, 19 Jan 2038 03:14:08 GMT" },
		{ 253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT" },
		{ -62167219200LL, "Sat, 01 Jan 0000 00:00:00 GMT" },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		char out[HTTP_DATE_SIZE];

		CU_ASSERT_EQUAL(http_date_format((time_t)cases[i].t, out, sizeof(out)), 0);
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
}

static void test_date_format_rejects_small_buffer_and_far_years(void)
{
	char out[HTTP_DATE_SIZE];

	CU_ASSERT_EQUAL(http_date_format(0, out, HTTP_DATE_SIZE - 1), -1);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(http_date_format((time_t)253402300800LL, out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(http_date_format((time_t)-62167219201LL, out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(http_date_format(0, NULL, 0), -1);
}

static void test_date_format_then_parse_roundtrips(void)
{
	int64_t t;

	/* About every 11.6 days plus an odd second, from 1900 to 2200. */
	for (t = -2208988800LL; t < 7258118400LL; t += 1000003) {
		char out[HTTP_DATE_SIZE];
		time_t back = 0;

		CU_ASSERT_EQUAL_FATAL(http_date_format((time_t)t, out, sizeof(out)), 0);
		CU_ASSERT_EQUAL_FATAL(http_date_parse(out, &back), 0);
		CU_ASSERT_EQUAL_FATAL((int64_t)back, t);
	}
}

static const struct unit_test tests[] = {
	{ "range accepts the three forms", test_range_accepts_the_three_forms },
	{ "range clips last-pos and suffix", test_range_clips_last_pos_and_suffix_to_size },
	{ "range unit is case-insensitive", test_range_unit_is_case_insensitive },
	{ "range unsatisfiable", test_range_unsatisfiable },
	{ "range suffix on empty body ignored", test_range_suffix_on_empty_representation_is_ignored },
	{ "range invalid syntax ignored", test_range_invalid_syntax_is_ignored },
	{ "range multiple ranges serve all", test_range_multiple_ranges_serve_the_whole_body },
	{ "range OWS and empty elements", test_range_tolerates_ows_and_empty_list_elements },
	{ "range huge numbers exact", test_range_huge_numbers_are_exact },
	{ "range over-long header ignored", test_range_overlong_header_is_ignored },
	{ "content-range formats", test_content_range_formats_and_checks },
	{ "content-range unsatisfied", test_content_range_unsatisfied_formats },
	{ "etag weak match and lists", test_etag_match_weak_comparison_and_lists },
	{ "etag malformed is false", test_etag_match_malformed_is_false },
	{ "if-range strong etag or date", test_if_range_strong_etag_or_exact_date },
	{ "date parse three formats", test_date_parse_accepts_the_three_formats },
	{ "date parse rejects malformed", test_date_parse_rejects_malformed },
	{ "date format IMF-fixdate", test_date_format_imf_fixdate },
	{ "date format limits", test_date_format_rejects_small_buffer_and_far_years },
	{ "date format/parse roundtrip", test_date_format_then_parse_roundtrips },
};

UNIT_SUITES(UNIT_SUITE("range", NULL, NULL, tests));
