/* test_ffmpeg.c: unit tests of ffmpeg_reason (render/ffmpeg.c): ffmpeg's stderr made into the
 * failedReason a client may read. */
#include "config.h"

#include "render/ffmpeg.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ROOT "/srv/media"

/* ffmpeg_reason over all of err into a FFRUN_REASON_MAX buffer; checks the returned length. */
static const char *reason(const char *err, const char *root)
{
	static char out[FFRUN_REASON_MAX + 1];
	size_t n;

	memset(out, 'z', sizeof(out));
	n = ffmpeg_reason(err, strlen(err), root, out, sizeof(out));
	CU_ASSERT_EQUAL(n, strlen(out));
	return out;
}

static void test_table(void)
{
	static const struct {
		const char *err, *want;
	} cases[] = {
		/* the last line that says something */
		{ "first\nsecond\n", "second" },
		{ "first\nsecond\n\n  \n\t\n", "second" },
		{ "only, no newline", "only, no newline" },
		{ "a\r\nInvalid data found when processing input\r\n",
		  "Invalid data found when processing input" },
		{ "", "" },
		{ "\n\n \t \r\n", "" },
		{ "error   \n", "error" },
		/* paths under the media root stay readable, relative to it */
		{ ROOT "/uploads/x.png: Invalid data found when processing input\n",
		  "uploads/x.png: Invalid data found when processing input" },
		{ "file:" ROOT "/uploads/x.png: Invalid data\n", "uploads/x.png: Invalid data" },
		{ "Error opening input file '" ROOT "/uploads/x.png'.\n",
		  "Error opening input file 'uploads/x.png'." },
		{ "Could not open \"" ROOT "/outputs/.tmp-j.mp4\"\n",
		  "Could not open \"outputs/.tmp-j.mp4\"" },
		/* any other absolute path is named, not shown */
		{ "Error opening output /tmp/secret/out.mp4: Permission denied\n",
		  "Error opening output <path>: Permission denied" },
		{ "/etc/ffmpeg/x.conf: No such file\n", "<path>: No such file" },
		{ "Could not open '/home/u/a.png'\n", "Could not open '<path>'" },
		{ "a /x/y, then /z\n", "a <path>, then <path>" },
		{ ROOT "X/uploads/a: nope\n", "<path>: nope" },
		{ "at " ROOT ": nope\n", "at <path>: nope" },
		{ "file:/etc/passwd: denied\n", "<path>: denied" },
		/* a '/' inside a word is not a path */
		{ "scale=trunc(iw/2)*2 failed\n", "scale=trunc(iw/2)*2 failed" },
		{ "1/25 fps\n", "1/25 fps" },
		/* control bytes and anything not ASCII are dropped */
		{ "bad\x01\x1b[31m byte\x7f\n", "bad[31m byte" },
		{ "caf\xc3\xa9 au lait\n", "caf au lait" },
		{ "tab\there\n", "tabhere" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const char *got = reason(cases[i].err, ROOT);

		CU_ASSERT_STRING_EQUAL(got, cases[i].want);
		if (strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "\n  case %zu: \"%s\", wanted \"%s\"", i, got, cases[i].want);
	}
}

static void test_without_a_media_root_every_absolute_path_is_hidden(void)
{
	CU_ASSERT_STRING_EQUAL(reason(ROOT "/uploads/x.png: Invalid data\n", NULL), "<path>: Invalid data");
	CU_ASSERT_STRING_EQUAL(reason(ROOT "/uploads/x.png: Invalid data\n", ""), "<path>: Invalid data");
}

static void test_only_len_bytes_are_read(void)
{
	char out[64];
	size_t n;

	n = ffmpeg_reason("abc\ndef", 3, ROOT, out, sizeof(out));
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(out, "abc");
	/* Cut just after the root: the path is not known to be under it, so it is hidden. */
	n = ffmpeg_reason("abc\n" ROOT "/uploads/a.png", 4 + strlen(ROOT), ROOT, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "<path>");
	CU_ASSERT_EQUAL(n, 6);
}

static void test_the_reason_is_capped_at_500_bytes(void)
{
	static char err[2000], out[FFRUN_REASON_MAX + 100];
	size_t n;

	memset(err, 'e', sizeof(err) - 1);
	n = ffmpeg_reason(err, strlen(err), ROOT, out, sizeof(out));
	CU_ASSERT_EQUAL(n, FFRUN_REASON_MAX);
	CU_ASSERT_EQUAL(strlen(out), FFRUN_REASON_MAX);
	n = ffmpeg_reason(err, strlen(err), ROOT, out, 10);
	CU_ASSERT_EQUAL(n, 9);
	CU_ASSERT_STRING_EQUAL(out, "eeeeeeeee");
}

static void test_a_placeholder_is_never_cut(void)
{
	char out[16];

	/* "ab " then "<path>" would need 9 bytes and the NUL: it is left out, not cut. */
	CU_ASSERT_EQUAL(ffmpeg_reason("ab /x/y", 7, ROOT, out, 9), 2);
	CU_ASSERT_STRING_EQUAL(out, "ab");
	CU_ASSERT_EQUAL(ffmpeg_reason("ab /x/y", 7, ROOT, out, 10), 9);
	CU_ASSERT_STRING_EQUAL(out, "ab <path>");
}

static void test_an_empty_buffer_is_left_alone(void)
{
	char out[4] = "xyz";

	CU_ASSERT_EQUAL(ffmpeg_reason("error\n", 6, ROOT, out, 0), 0);
	CU_ASSERT_STRING_EQUAL(out, "xyz");
	CU_ASSERT_EQUAL(ffmpeg_reason("error\n", 6, ROOT, out, 1), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
}

static const struct unit_test tests[] = {
	{ "last line, media root relative, other paths hidden, bytes cleaned", test_table },
	{ "without a media root every absolute path is hidden",
	  test_without_a_media_root_every_absolute_path_is_hidden },
	{ "only len bytes are read", test_only_len_bytes_are_read },
	{ "the reason is capped at 500 bytes", test_the_reason_is_capped_at_500_bytes },
	{ "a <path> placeholder is never cut", test_a_placeholder_is_never_cut },
	{ "an empty buffer is left alone", test_an_empty_buffer_is_left_alone },
};

UNIT_SUITES(UNIT_SUITE("ffmpeg_reason", NULL, NULL, tests));
