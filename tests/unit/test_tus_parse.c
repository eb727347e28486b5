/* test_tus_parse.c: CUnit tests for the tus header parsers: numbers, Upload-Metadata,
 * Upload-Checksum and the PATCH Content-Type. */
#include "config.h"

#include "http/tus_parse.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- numbers ------------------------------------------------------------------------------------ */

struct number_case {
	const char *s;
	bool ok;
	int64_t want;
};

static void test_number_takes_plain_decimal_digits_only(void)
{
	static const struct number_case cases[] = {
		{ "0", true, 0 },
		{ "1000", true, 1000 },
		{ "9223372036854775807", true, INT64_MAX },
		{ "007", true, 7 },
		{ NULL, false, 0 },
		{ "", false, 0 },
		{ "-1", false, 0 },
		{ "+1", false, 0 },
		{ " 1", false, 0 },
		{ "1 ", false, 0 },
		{ "12abc", false, 0 },
		{ "1.5", false, 0 },
		{ "0x10", false, 0 },
		{ "9223372036854775808", false, 0 },  /* past int64 */
		{ "00000000000000000001", false, 0 }, /* 20 digits */
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		int64_t v = -7;
		bool ok = tus_parse_number(cases[i].s, &v);

		if (ok != cases[i].ok || (ok && v != cases[i].want) || (!ok && v != -7))
			fprintf(stderr, "\nnumber case %zu \"%s\": got %d %" PRId64 "\n", i,
			        cases[i].s ? cases[i].s : "(null)", ok, v);
		CU_ASSERT(ok == cases[i].ok && (ok ? v == cases[i].want : v == -7));
	}
}

/* ---- Upload-Metadata ---------------------------------------------------------------------------- */

struct meta_case {
	const char *h;
	enum tus_meta_err want;
	const char *filename; /* NULL: absent */
	const char *title;
	const char *type;
	const char *project;
};

static bool value_is(const struct tus_meta_value *v, const char *want)
{
	if (want == NULL)
		return !v->present && v->len == 0 && v->v[0] == '\0';
	return v->present && v->len == strlen(want) && strcmp(v->v, want) == 0;
}

static void meta_run(const struct meta_case *cases, size_t n)
{
	static struct tus_metadata m;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct meta_case *tc = &cases[i];
		enum tus_meta_err got = tus_parse_metadata(tc->h, &m);
		bool ok = got == tc->want;

		if (ok && got == TUS_META_OK)
			ok = value_is(&m.value[TUS_META_FILENAME], tc->filename) &&
			     value_is(&m.value[TUS_META_TITLE], tc->title) &&
			     value_is(&m.value[TUS_META_TYPE], tc->type) &&
			     value_is(&m.value[TUS_META_PROJECT_ID], tc->project);
		if (!ok)
			fprintf(stderr, "\nmetadata case %zu \"%s\": got %d\n", i, tc->h ? tc->h : "(null)",
			        (int)got);
		CU_ASSERT(ok);
	}
}

static void test_metadata_decodes_the_keys_we_take(void)
{
	static const struct meta_case cases[] = {
		{ NULL, TUS_META_OK, NULL, NULL, NULL, NULL },
		{ "", TUS_META_OK, NULL, NULL, NULL, NULL },
		/* clip.mp4, My clip, video, 7 */
		{ "filename Y2xpcC5tcDQ=,title TXkgY2xpcA==,type dmlkZW8=,projectId Nw==", TUS_META_OK,
		  "clip.mp4", "My clip", "video", "7" },
		/* other keys are ignored, a key alone is the empty value, blanks after a comma skipped */
		{ "filetype dmlkZW8vbXA0, title TXkgY2xpcA==,empty", TUS_META_OK, NULL, "My clip", NULL,
		  NULL },
		{ "title", TUS_META_OK, NULL, "", NULL, NULL },
		{ "title ,type dmlkZW8=", TUS_META_OK, NULL, "", "video", NULL },
		{ "type dmlkZW8=,", TUS_META_OK, NULL, NULL, "video", NULL },
		/* keys are case-sensitive: Title is someone else's */
		{ "Title TXkgY2xpcA==", TUS_META_OK, NULL, NULL, NULL, NULL },
		/* UTF-8 passes through: "é" */
		{ "title w6k=", TUS_META_OK, NULL, "\xc3\xa9", NULL, NULL },
	};

	meta_run(cases, N_ELEMS(cases));
}

static void test_metadata_refuses_malformed_pairs(void)
{
	static const struct meta_case cases[] = {
		{ "title %%%", TUS_META_MALFORMED, NULL, NULL, NULL, NULL },        /* not base64 */
		{ "title TXkgY2xpcA", TUS_META_MALFORMED, NULL, NULL, NULL, NULL }, /* padding missing */
		{ "title TXkg Y2xpcA==", TUS_META_MALFORMED, NULL, NULL, NULL,
		  NULL }, /* a blank inside the value */
		{ "title  TXkgY2xpcA==", TUS_META_MALFORMED, NULL, NULL, NULL, NULL }, /* two blanks */
		{ ",title TXkgY2xpcA==", TUS_META_MALFORMED, NULL, NULL, NULL, NULL }, /* empty key */
		{ "title TXkgY2xpcA==,,type dmlkZW8=", TUS_META_MALFORMED, NULL, NULL, NULL, NULL },
		{ "title AGE=", TUS_META_MALFORMED, NULL, NULL, NULL, NULL }, /* "\0a": a NUL in a value */
		{ "other AGE=", TUS_META_MALFORMED, NULL, NULL, NULL, NULL }, /* in a key we ignore too */
		{ "title a-_b", TUS_META_MALFORMED, NULL, NULL, NULL, NULL }, /* the URL-safe alphabet */
	};

	meta_run(cases, N_ELEMS(cases));
}

static void test_metadata_refuses_a_key_twice(void)
{
	static struct tus_metadata m;

	CU_ASSERT_EQUAL(tus_parse_metadata("title YQ==,type dmlkZW8=,title Yg==", &m), TUS_META_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(m.duplicate, "title");
	CU_ASSERT_EQUAL(tus_parse_metadata("projectId MQ==,projectId MQ==", &m), TUS_META_DUPLICATE);
	CU_ASSERT_STRING_EQUAL(m.duplicate, "projectId");
	/* A key we ignore may come twice. */
	CU_ASSERT_EQUAL(tus_parse_metadata("x YQ==,x Yg==", &m), TUS_META_OK);
}

static void test_metadata_is_capped_at_4_kib(void)
{
	static struct tus_metadata m;
	static char h[TUS_METADATA_MAX + 2];
	size_t vlen = TUS_METADATA_MAX - 8; /* "title " and ",x" around it: a multiple of 4 */

	memcpy(h, "title ", 6);
	memset(h + 6, 'A', vlen);
	memcpy(h + 6 + vlen, ",x", 3);
	CU_ASSERT_EQUAL(strlen(h), TUS_METADATA_MAX);
	CU_ASSERT_EQUAL(tus_parse_metadata(h, &m), TUS_META_MALFORMED); /* "AAAA" decodes to NULs */
	memset(h + 6, 'Q', vlen);
	CU_ASSERT_EQUAL(tus_parse_metadata(h, &m), TUS_META_OK);
	CU_ASSERT_EQUAL(m.value[TUS_META_TITLE].len, vlen / 4 * 3);
	CU_ASSERT_EQUAL(strlen(m.value[TUS_META_TITLE].v), m.value[TUS_META_TITLE].len);
	memcpy(h + TUS_METADATA_MAX, "y", 2);
	CU_ASSERT_EQUAL(tus_parse_metadata(h, &m), TUS_META_TOO_LONG);
}

static void test_metadata_key_names(void)
{
	CU_ASSERT_STRING_EQUAL(tus_meta_key_name(TUS_META_FILENAME), "filename");
	CU_ASSERT_STRING_EQUAL(tus_meta_key_name(TUS_META_PROJECT_ID), "projectId");
	CU_ASSERT_STRING_EQUAL(tus_meta_key_name(TUS_META_KEYS), "");
}

/* ---- Upload-Checksum ---------------------------------------------------------------------------- */

struct checksum_case {
	const char *h;
	enum tus_checksum_err want;
	int alg; /* enum tus_checksum_alg; 0 when not OK */
	size_t len;
};

static void test_checksum_parses_sha1_and_sha256(void)
{
	static const struct checksum_case cases[] = {
		{ NULL, TUS_CHECKSUM_NONE, 0, 0 },
		/* sha1("") and sha256("") */
		{ "sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk=", TUS_CHECKSUM_OK, TUS_CHECKSUM_SHA1, 20 },
		{ "sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", TUS_CHECKSUM_OK, TUS_CHECKSUM_SHA256,
		  32 },
		{ "", TUS_CHECKSUM_MALFORMED, 0, 0 },
		{ "sha1", TUS_CHECKSUM_MALFORMED, 0, 0 },
		{ " sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk=", TUS_CHECKSUM_MALFORMED, 0, 0 },
		{ "md5 1B2M2Y8AsgTpgAmY7PhCfg==", TUS_CHECKSUM_UNSUPPORTED, 0, 0 },
		{ "SHA1 2jmj7l5rSw0yVb/vlWAYkK/YBwk=", TUS_CHECKSUM_UNSUPPORTED, 0, 0 },
		{ "sha1 ", TUS_CHECKSUM_BAD_DIGEST, 0, 0 },
		{ "sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk", TUS_CHECKSUM_BAD_DIGEST, 0, 0 }, /* no padding */
		{ "sha1 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", TUS_CHECKSUM_BAD_DIGEST, 0,
		  0 },                                                                    /* 32 */
		{ "sha256 2jmj7l5rSw0yVb/vlWAYkK/YBwk=", TUS_CHECKSUM_BAD_DIGEST, 0, 0 }, /* 20 bytes */
		{ "sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk= ", TUS_CHECKSUM_BAD_DIGEST, 0, 0 },  /* trailing blank */
		{ "sha1 !!!!", TUS_CHECKSUM_BAD_DIGEST, 0, 0 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		struct tus_checksum c;
		enum tus_checksum_err got = tus_parse_checksum(cases[i].h, &c);
		bool ok = got == cases[i].want &&
		          (got != TUS_CHECKSUM_OK || ((int)c.alg == cases[i].alg && c.len == cases[i].len));

		if (!ok)
			fprintf(stderr, "\nchecksum case %zu \"%s\": got %d\n", i,
			        cases[i].h ? cases[i].h : "(null)", (int)got);
		CU_ASSERT(ok);
	}
}

static void test_checksum_keeps_the_digest_and_names_an_unsupported_algorithm(void)
{
	static const unsigned char sha1_empty[20] = { 0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b,
		                                      0x0d, 0x32, 0x55, 0xbf, 0xef, 0x95, 0x60,
		                                      0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09 };
	struct tus_checksum c;
	char h[TUS_CHECKSUM_HEADER_MAX + 8];

	CU_ASSERT_EQUAL(tus_parse_checksum("sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk=", &c), TUS_CHECKSUM_OK);
	CU_ASSERT_EQUAL(memcmp(c.digest, sha1_empty, 20), 0);
	CU_ASSERT_EQUAL(tus_parse_checksum("crc32 AAAAAA==", &c), TUS_CHECKSUM_UNSUPPORTED);
	CU_ASSERT(c.name_len == 5 && memcmp(c.name, "crc32", 5) == 0);
	memset(h, 'a', sizeof(h) - 1);
	h[sizeof(h) - 1] = '\0';
	memcpy(h, "sha1 ", 5);
	CU_ASSERT_EQUAL(tus_parse_checksum(h, &c), TUS_CHECKSUM_MALFORMED); /* past the cap */
}

/* ---- Content-Type ------------------------------------------------------------------------------- */

static void test_content_type_ignores_case_parameters_and_blanks(void)
{
	static const struct {
		const char *ct;
		bool ok;
	} cases[] = {
		{ "application/offset+octet-stream", true },
		{ "Application/Offset+Octet-Stream", true },
		{ "application/offset+octet-stream; charset=binary", true },
		{ "application/offset+octet-stream ;x=1", true },
		{ " application/offset+octet-stream\t", true },
		{ NULL, false },
		{ "", false },
		{ "application/octet-stream", false },
		{ "application/offset+octet-streamx", false },
		{ "application/offset+octet", false },
		{ "text/plain; application/offset+octet-stream", false },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		bool got = tus_content_type_ok(cases[i].ct);

		if (got != cases[i].ok)
			fprintf(stderr, "\ncontent-type case %zu \"%s\": got %d\n", i,
			        cases[i].ct ? cases[i].ct : "(null)", got);
		CU_ASSERT(got == cases[i].ok);
	}
}

static const struct unit_test tests[] = {
	{ "numbers are plain decimal digits only", test_number_takes_plain_decimal_digits_only },
	{ "metadata decodes the keys we take", test_metadata_decodes_the_keys_we_take },
	{ "metadata refuses malformed pairs", test_metadata_refuses_malformed_pairs },
	{ "metadata refuses a key twice", test_metadata_refuses_a_key_twice },
	{ "metadata is capped at 4 KiB", test_metadata_is_capped_at_4_kib },
	{ "metadata key names", test_metadata_key_names },
	{ "checksum parses sha1 and sha256", test_checksum_parses_sha1_and_sha256 },
	{ "checksum keeps the digest and names an unsupported algorithm",
	  test_checksum_keeps_the_digest_and_names_an_unsupported_algorithm },
	{ "content type ignores case, parameters and blanks",
	  test_content_type_ignores_case_parameters_and_blanks },
};

UNIT_SUITES(UNIT_SUITE("tus_parse", NULL, NULL, tests));
