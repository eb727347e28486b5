/* test_progress.c: CUnit tests for the ffmpeg "-progress" parser, fed at every split position. */
#include "config.h"

#include "render/progress.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Real output of ffmpeg 5.1.x ("-f lavfi -i testsrc=duration=10:size=1280x720 -f lavfi -i
 * sine=duration=10 -c:v libx264 -c:a aac -progress pipe:1 -stats_period 0.25"), some of the
 * repeated early blocks left out. The input lasts 10 s.
 */
static const char ffmpeg51_output[] = "frame=1\n"
                                      "fps=0.00\n"
                                      "stream_0_0_q=0.0\n"
                                      "bitrate=N/A\n"
                                      "total_size=48\n"
                                      "out_time_us=0\n"
                                      "out_time_ms=0\n"
                                      "out_time=00:00:00.000000\n"
                                      "dup_frames=0\n"
                                      "drop_frames=0\n"
                                      "speed=   0x\n"
                                      "progress=continue\n"
                                      "frame=54\n"
                                      "fps=47.81\n"
                                      "stream_0_0_q=28.0\n"
                                      "bitrate=   2.1kbits/s\n"
                                      "total_size=48\n"
                                      "out_time_us=185760\n"
                                      "out_time_ms=185760\n"
                                      "out_time=00:00:00.185760\n"
                                      "dup_frames=0\n"
                                      "drop_frames=0\n"
                                      "speed=0.164x\n"
                                      "progress=continue\n"
                                      "frame=73\n"
                                      "fps=52.28\n"
                                      "stream_0_0_q=28.0\n"
                                      "bitrate=   0.4kbits/s\n"
                                      "total_size=48\n"
                                      "out_time_us=928798\n"
                                      "out_time_ms=928798\n"
                                      "out_time=00:00:00.928798\n"
                                      "dup_frames=0\n"
                                      "drop_frames=0\n"
                                      "speed=0.665x\n"
                                      "progress=continue\n"
                                      "frame=95\n"
                                      "fps=57.39\n"
                                      "stream_0_0_q=28.0\n"
                                      "bitrate=   0.2kbits/s\n"
                                      "total_size=48\n"
                                      "out_time_us=1811156\n"
                                      "out_time_ms=1811156\n"
                                      "out_time=00:00:01.811156\n"
                                      "dup_frames=0\n"
                                      "drop_frames=0\n"
                                      "speed=1.09x\n"
                                      "progress=continue\n"
                                      "frame=168\n"
                                      "fps=69.42\n"
                                      "stream_0_0_q=28.0\n"
                                      "bitrate=   0.1kbits/s\n"
                                      "total_size=48\n"
                                      "out_time_us=4720078\n"
                                      "out_time_ms=4720078\n"
                                      "out_time=00:00:04.720078\n"
                                      "dup_frames=0\n"
                                      "drop_frames=0\n"
                                      "speed=1.95x\n"
                                      "progress=continue\n"
                                      "frame=229\n"
                                      "fps=78.17\n"
                                      "stream_0_0_q=28.0\n"
                                      "bitrate=   0.1kbits/s\n"
                                      "total_size=48\n"
                                      "out_time_us=7174966\n"
                                      "out_time_ms=7174966\n"
                                      "out_time=00:00:07.174966\n"
                                      "dup_frames=0\n"
                                      "drop_frames=0\n"
                                      "speed=2.45x\n"
                                      "progress=continue\n"
                                      "frame=250\n"
                                      "fps=75.18\n"
                                      "stream_0_0_q=-1.0\n"
                                      "bitrate= 155.5kbits/s\n"
                                      "total_size=194509\n"
                                      "out_time_us=10007800\n"
                                      "out_time_ms=10007800\n"
                                      "out_time=00:00:10.007800\n"
                                      "dup_frames=0\n"
                                      "drop_frames=0\n"
                                      "speed=3.01x\n"
                                      "progress=end\n";

#define FIXTURE_TOTAL_US INT64_C(10000000)
#define FIXTURE_BLOCKS 7
#define FIXTURE_FINAL_US INT64_C(10007800)

/* The percent recorded after each block of the fixture closes. */
static const int fixture_percents[FIXTURE_BLOCKS] = { 0, 1, 9, 18, 47, 71, 100 };

static void feed_str(struct progress *p, const char *s)
{
	(void)progress_feed(p, s, strlen(s));
}

static void check_final(const struct progress *p, size_t split)
{
	bool ok = p->blocks == FIXTURE_BLOCKS && p->out_time_us == FIXTURE_FINAL_US && p->ended &&
	          progress_percent(p) == 100;

	if (!ok)
		fprintf(stderr, "\nsplit %zu: blocks %lu out_time_us %" PRId64 " ended %d\n", split,
		        p->blocks, p->out_time_us, (int)p->ended);
	CU_ASSERT(ok);
}

static void test_progress_whole_output_in_one_chunk(void)
{
	struct progress p;

	progress_init(&p, FIXTURE_TOTAL_US);
	CU_ASSERT_EQUAL(progress_feed(&p, ffmpeg51_output, sizeof(ffmpeg51_output) - 1), FIXTURE_BLOCKS);
	check_final(&p, 0);
}

static void test_progress_any_two_way_split_gives_the_same_result(void)
{
	size_t len = sizeof(ffmpeg51_output) - 1, i;

	for (i = 0; i <= len; i++) {
		struct progress p;
		size_t closed;

		progress_init(&p, FIXTURE_TOTAL_US);
		closed = progress_feed(&p, ffmpeg51_output, i);
		closed += progress_feed(&p, ffmpeg51_output + i, len - i);
		CU_ASSERT_EQUAL(closed, FIXTURE_BLOCKS);
		check_final(&p, i);
	}
}

static void test_progress_any_three_way_split_gives_the_same_result(void)
{
	size_t len = sizeof(ffmpeg51_output) - 1, i, j;

	/* Every first cut, with second cuts at a prime stride to keep the run short. */
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j += 37) {
			struct progress p;

			progress_init(&p, FIXTURE_TOTAL_US);
			(void)progress_feed(&p, ffmpeg51_output, i);
			(void)progress_feed(&p, ffmpeg51_output + i, j - i);
			(void)progress_feed(&p, ffmpeg51_output + j, len - j);
			check_final(&p, i * 100000 + j);
		}
	}
}

static void test_progress_one_byte_at_a_time_reports_each_block(void)
{
	size_t len = sizeof(ffmpeg51_output) - 1, i, nblock = 0;
	struct progress p;

	progress_init(&p, FIXTURE_TOTAL_US);
	for (i = 0; i < len; i++) {
		size_t closed = progress_feed(&p, ffmpeg51_output + i, 1);

		CU_ASSERT(closed <= 1);
		if (closed == 0)
			continue;
		CU_ASSERT_EQUAL(ffmpeg51_output[i], '\n');
		CU_ASSERT_FATAL(nblock < FIXTURE_BLOCKS);
		CU_ASSERT_EQUAL(progress_percent(&p), fixture_percents[nblock]);
		nblock++;
	}
	CU_ASSERT_EQUAL(nblock, FIXTURE_BLOCKS);
	check_final(&p, 1);
}

static void test_progress_half_written_block_is_not_shown(void)
{
	struct progress p;

	progress_init(&p, FIXTURE_TOTAL_US);
	feed_str(&p, "frame=10\nout_time_us=5000000\nout_time_ms=5000000\n");
	CU_ASSERT_EQUAL(p.out_time_us, -1);
	CU_ASSERT_EQUAL(progress_percent(&p), 0);
	feed_str(&p, "progress=continu");
	CU_ASSERT_EQUAL(p.out_time_us, -1);
	feed_str(&p, "e\n");
	CU_ASSERT_EQUAL(p.out_time_us, 5000000);
	CU_ASSERT_EQUAL(progress_percent(&p), 50);
	CU_ASSERT_FALSE(p.ended);
}

static void test_progress_percent_is_capped_at_99_until_end(void)
{
	static const struct {
		int64_t total, t;
		bool ended;
		int want;
	} cases[] = {
		{ 1000, -1, false, 0 },
		{ 1000, 0, false, 0 },
		{ 1000, 1, false, 0 },
		{ 1000, 10, false, 1 },
		{ 1000, 505, false, 50 },
		{ 1000, 989, false, 98 },
		{ 1000, 999, false, 99 },
		{ 1000, 1000, false, 99 },
		{ 1000, 5000, false, 99 },
		{ 1000, 500, true, 100 },
		{ 1000, -1, true, 100 },
		{ 0, 500, false, 0 },
		{ -1, 500, false, 0 },
		{ 0, 500, true, 100 },
		{ 3, 1, false, 33 },
		{ 3, 2, false, 66 },
		{ INT64_MAX, INT64_MAX / 2, false, 49 },
		{ INT64_MAX, INT64_MAX - 1, false, 99 },
		{ INT64_MAX, INT64_MAX / 100, false, 0 },
		{ INT64_MAX, INT64_MAX / 100 + 1, false, 1 },
		{ INT64_MAX, INT64_MAX, false, 99 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		struct progress p;

		progress_init(&p, cases[i].total);
		p.out_time_us = cases[i].t;
		p.ended = cases[i].ended;
		if (progress_percent(&p) != cases[i].want)
			fprintf(stderr, "\npercent case %zu: got %d\n", i, progress_percent(&p));
		CU_ASSERT_EQUAL(progress_percent(&p), cases[i].want);
	}
}

/* Each block is fed to a parser that already holds 1 s; want is the time afterwards. */
static void test_progress_time_keys_and_precedence(void)
{
	static const struct {
		const char *block;
		int64_t want;
	} cases[] = {
		{ "out_time_us=2000000\nprogress=continue\n", 2000000 },
		{ "out_time_ms=2000000\nprogress=continue\n", 2000000 },
		{ "out_time=00:00:02.000000\nprogress=continue\n", 2000000 },
		{ "out_time_us=3000000\nout_time_ms=2000000\nout_time=00:00:01.000000\n"
		  "progress=continue\n",
		  3000000 },
		{ "out_time=00:00:01.000000\nout_time_ms=2000000\nout_time_us=3000000\n"
		  "progress=continue\n",
		  3000000 },
		{ "out_time_us=N/A\nout_time_ms=2500000\nout_time=00:00:01.000000\n"
		  "progress=continue\n",
		  2500000 },
		{ "out_time_us=N/A\nout_time_ms=N/A\nout_time=00:00:04.250000\nprogress=continue\n",
		  4250000 },
		{ "out_time_us=N/A\nout_time_ms=N/A\nout_time=N/A\nprogress=continue\n", 1000000 },
		{ "out_time_us=-9223372036854775807\nout_time_ms=-9223372036854775807\n"
		  "out_time=-577014:32:22.775808\nprogress=continue\n",
		  1000000 },
		{ "frame=1\nprogress=continue\n", 1000000 },
		{ "out_time_us=0\nprogress=continue\n", 0 },
		{ "out_time_us=2000000\nout_time_us=2500000\nprogress=continue\n", 2500000 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		struct progress p;

		progress_init(&p, FIXTURE_TOTAL_US);
		feed_str(&p, "out_time_us=1000000\nprogress=continue\n");
		feed_str(&p, cases[i].block);
		if (p.out_time_us != cases[i].want)
			fprintf(stderr, "\nkey case %zu: got %" PRId64 "\n", i, p.out_time_us);
		CU_ASSERT_EQUAL(p.out_time_us, cases[i].want);
		CU_ASSERT_EQUAL(p.blocks, 2);
	}
}

static void test_progress_out_time_formats(void)
{
	static const struct {
		const char *value;
		int64_t want; /* -2: ignored */
	} cases[] = {
		{ "00:00:04.017052", 4017052 },
		{ "00:00:00.000000", 0 },
		{ "01:02:03.5", INT64_C(3723500000) },
		{ "1:02:03.000001", INT64_C(3723000001) },
		{ "123:00:00.000000", INT64_C(442800000000) },
		{ "00:00:04", 4000000 },
		{ "00:00:04.0170529", 4017052 },
		{ "00:59:59.999999", INT64_C(3599999999) },
		{ "2562047788:00:54.775807", INT64_MAX },
		{ "2562047788:00:54.775808", -2 },
		{ "99999999999999999999:00:00.000000", -2 },
		{ "00:60:00.000000", -2 },
		{ "00:00:60.000000", -2 },
		{ "00:00:4.000000", -2 },
		{ "0:0:04.000000", -2 },
		{ ":00:04.000000", -2 },
		{ "00:00:04.", -2 },
		{ "00:00:04.12a", -2 },
		{ "00:00:04 ", -2 },
		{ "00-00-04", -2 },
		{ "-00:00:04.000000", -2 },
		{ "N/A", -2 },
		{ "", -2 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		struct progress p;
		char line[128];
		int64_t want = cases[i].want == -2 ? 7 : cases[i].want;

		progress_init(&p, FIXTURE_TOTAL_US);
		feed_str(&p, "out_time_us=7\nprogress=continue\n");
		snprintf(line, sizeof(line), "out_time=%s\nprogress=continue\n", cases[i].value);
		feed_str(&p, line);
		if (p.out_time_us != want)
			fprintf(stderr, "\nout_time case %zu \"%s\": got %" PRId64 "\n", i, cases[i].value,
			        p.out_time_us);
		CU_ASSERT_EQUAL(p.out_time_us, want);
	}
}

static void test_progress_integer_values_are_strict(void)
{
	static const struct {
		const char *value;
		int64_t want; /* -2: ignored */
	} cases[] = {
		{ "0", 0 },
		{ "000123", 123 },
		{ "9223372036854775807", INT64_MAX },
		{ "9223372036854775808", -2 },
		{ "99999999999999999999999", -2 },
		{ "-1", -2 },
		{ "+1", -2 },
		{ " 1", -2 },
		{ "1 ", -2 },
		{ "1x", -2 },
		{ "0x10", -2 },
		{ "1.5", -2 },
		{ "", -2 },
		{ "N/A", -2 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		struct progress p;
		char line[128];
		int64_t want = cases[i].want == -2 ? 7 : cases[i].want;

		progress_init(&p, FIXTURE_TOTAL_US);
		feed_str(&p, "out_time_us=7\nprogress=continue\n");
		snprintf(line, sizeof(line), "out_time_us=%s\nprogress=continue\n", cases[i].value);
		feed_str(&p, line);
		if (p.out_time_us != want)
			fprintf(stderr, "\ninteger case %zu \"%s\": got %" PRId64 "\n", i, cases[i].value,
			        p.out_time_us);
		CU_ASSERT_EQUAL(p.out_time_us, want);
	}
}

static void test_progress_end_is_sticky_and_only_end_ends(void)
{
	struct progress p;

	progress_init(&p, FIXTURE_TOTAL_US);
	feed_str(&p, "out_time_us=5000000\nprogress=whatever\n");
	CU_ASSERT_FALSE(p.ended);
	CU_ASSERT_EQUAL(p.blocks, 1);
	CU_ASSERT_EQUAL(progress_percent(&p), 50);
	feed_str(&p, "progress=ending\nprogress=End\nprogress=end \n");
	CU_ASSERT_FALSE(p.ended);
	feed_str(&p, "progress=end\n");
	CU_ASSERT_TRUE(p.ended);
	CU_ASSERT_EQUAL(progress_percent(&p), 100);
	feed_str(&p, "out_time_us=1\nprogress=continue\n");
	CU_ASSERT_TRUE(p.ended);
	CU_ASSERT_EQUAL(progress_percent(&p), 100);
}

static void test_progress_unknown_total_reports_0_then_100(void)
{
	struct progress p;

	progress_init(&p, 0);
	feed_str(&p, "out_time_us=5000000\nprogress=continue\n");
	CU_ASSERT_EQUAL(p.out_time_us, 5000000);
	CU_ASSERT_EQUAL(progress_percent(&p), 0);
	feed_str(&p, "out_time_us=9000000\nprogress=end\n");
	CU_ASSERT_EQUAL(progress_percent(&p), 100);
}

/* A line of exactly len bytes (newline not counted) setting out_time_us to 42, zero-padded. */
static char *make_line(size_t len)
{
	static const char key[] = "out_time_us=";
	char *s = malloc(len + 2);

	if (s == NULL)
		return NULL;
	memcpy(s, key, sizeof(key) - 1);
	memset(s + sizeof(key) - 1, '0', len - (sizeof(key) - 1));
	s[len - 2] = '4';
	s[len - 1] = '2';
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

static void test_progress_overlong_lines_are_dropped(void)
{
	static const size_t lens[] = { PROGRESS_LINE_MAX, PROGRESS_LINE_MAX + 1, 5000 };
	static const size_t chunks[] = { 1, 7, 1000, 100000 };
	size_t i, k;

	for (i = 0; i < N_ELEMS(lens); i++) {
		for (k = 0; k < N_ELEMS(chunks); k++) {
			struct progress p;
			char *line = make_line(lens[i]);
			size_t off, len;

			CU_ASSERT_PTR_NOT_NULL_FATAL(line);
			len = strlen(line);
			progress_init(&p, FIXTURE_TOTAL_US);
			feed_str(&p, "out_time_us=7\nprogress=continue\n");
			for (off = 0; off < len; off += chunks[k])
				(void)progress_feed(&p, line + off,
				                    len - off < chunks[k] ? len - off : chunks[k]);
			feed_str(&p, "progress=continue\n");
			CU_ASSERT_EQUAL(p.blocks, 2);
			CU_ASSERT_EQUAL(p.out_time_us, lens[i] <= PROGRESS_LINE_MAX ? 42 : 7);
			free(line);
		}
	}
}

static void test_progress_overlong_line_does_not_swallow_the_next(void)
{
	static const char tail[] = "\nout_time_us=2000000\nprogress=continue\n";
	struct progress p;
	char big[3000];

	memset(big, 'a', sizeof(big));
	progress_init(&p, FIXTURE_TOTAL_US);
	(void)progress_feed(&p, "x=", 2);
	(void)progress_feed(&p, big, sizeof(big));
	CU_ASSERT_EQUAL(progress_feed(&p, tail, strlen(tail)), 1);
	CU_ASSERT_EQUAL(p.out_time_us, 2000000);
}

static void test_progress_tolerates_crlf_and_ignores_junk_lines(void)
{
	static const char junk[] = "garbage\n"
	                           "=\n"
	                           "=5\n"
	                           "out_time_us\n"
	                           "out_time_us==5\n"
	                           "OUT_TIME_US=5\n"
	                           " out_time_us=5\n"
	                           "out_time_us =5\n"
	                           "\n"
	                           "\r\n"
	                           "out_time_us=5\0\n"
	                           "out_time_us=\0005\n"
	                           "progress\n"
	                           "progress=continue\0\n"
	                           "out_time_us=3000000\r\n"
	                           "progress=continue\r\n";
	struct progress p;

	progress_init(&p, FIXTURE_TOTAL_US);
	CU_ASSERT_EQUAL(progress_feed(&p, junk, sizeof(junk) - 1), 1);
	CU_ASSERT_EQUAL(p.out_time_us, 3000000);
	CU_ASSERT_EQUAL(progress_feed(&p, "progress=end\r\n", 14), 1);
	CU_ASSERT_TRUE(p.ended);
}

static void test_progress_empty_feed_is_harmless(void)
{
	struct progress p;

	progress_init(&p, FIXTURE_TOTAL_US);
	CU_ASSERT_EQUAL(progress_feed(&p, NULL, 0), 0);
	CU_ASSERT_EQUAL(progress_feed(&p, "", 0), 0);
	CU_ASSERT_EQUAL(p.out_time_us, -1);
	CU_ASSERT_EQUAL(p.blocks, 0);
	CU_ASSERT_EQUAL(progress_percent(&p), 0);
}

static const struct unit_test tests[] = {
	{ "whole output in one chunk", test_progress_whole_output_in_one_chunk },
	{ "any two-way split", test_progress_any_two_way_split_gives_the_same_result },
	{ "any three-way split", test_progress_any_three_way_split_gives_the_same_result },
	{ "one byte at a time", test_progress_one_byte_at_a_time_reports_each_block },
	{ "half-written block not shown", test_progress_half_written_block_is_not_shown },
	{ "percent capped at 99 until end", test_progress_percent_is_capped_at_99_until_end },
	{ "time keys and precedence", test_progress_time_keys_and_precedence },
	{ "out_time formats", test_progress_out_time_formats },
	{ "integer values strict", test_progress_integer_values_are_strict },
	{ "end is sticky, only end ends", test_progress_end_is_sticky_and_only_end_ends },
	{ "unknown total 0 then 100", test_progress_unknown_total_reports_0_then_100 },
	{ "overlong lines dropped", test_progress_overlong_lines_are_dropped },
	{ "overlong line keeps the next", test_progress_overlong_line_does_not_swallow_the_next },
	{ "CRLF and junk lines", test_progress_tolerates_crlf_and_ignores_junk_lines },
	{ "empty feed harmless", test_progress_empty_feed_is_harmless },
};

UNIT_SUITES(UNIT_SUITE("progress", NULL, NULL, tests));
