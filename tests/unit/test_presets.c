/* test_presets.c: unit tests of the render presets (render/presets.c): the table, and the ffmpeg
 * argv preset_argv builds for each input kind. */
#include "config.h"

#include "render/presets.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FFMPEG "/usr/bin/ffmpeg"
#define IN "/srv/media/uploads/in.bin"
#define OUT "/srv/media/outputs/.tmp-job-a1.mp4"

/* The common head every argv starts with, after argv[0]. */
static const char *const head[] = { "-nostdin", "-y",        "-hide_banner", "-loglevel",
	                            "error",    "-progress", "pipe:1",       "-nostats" };

/* One built argv. */
struct built {
	const char *argv[PRESET_MAX_ARGS];
	char scratch[1024];
	int64_t total_us;
	int n;
};

static int build(struct built *b, const char *preset, const char *kind, int64_t duration_ms)
{
	const struct preset *p = preset_find(preset);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(b, 0, sizeof(*b));
	b->total_us = -7;
	b->n = preset_argv(p, FFMPEG, IN, kind, duration_ms, OUT, b->argv, b->scratch, sizeof(b->scratch),
	                   &b->total_us);
	return b->n;
}

/* The argument after the first flag, or NULL. */
static const char *after(const struct built *b, const char *flag)
{
	int i;

	for (i = 1; i + 1 < b->n; i++)
		if (strcmp(b->argv[i], flag) == 0)
			return b->argv[i + 1];
	return NULL;
}

/* What every argv of every preset must hold. */
static void check_shape(const struct built *b)
{
	size_t i;
	int k, inputs = 0, whitelist = -1;

	CU_ASSERT_FATAL(b->n > (int)ARRAY_LEN(head) + 2 && b->n < PRESET_MAX_ARGS);
	CU_ASSERT_STRING_EQUAL(b->argv[0], FFMPEG);
	for (i = 0; i < ARRAY_LEN(head); i++)
		CU_ASSERT_STRING_EQUAL(b->argv[1 + i], head[i]);
	CU_ASSERT_STRING_EQUAL(b->argv[b->n - 1], OUT);
	CU_ASSERT_PTR_NULL(b->argv[b->n]);
	for (k = 0; k < b->n; k++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(b->argv[k]);
		/* Every placeholder was filled in. */
		CU_ASSERT_PTR_NULL(strchr(b->argv[k], '{'));
		if (strcmp(b->argv[k], "-i") == 0 && k + 1 < b->n &&
		    strncmp(b->argv[k + 1], "file:", 5) == 0) {
			/* The input is pinned to the file protocol, and nothing but a file may be opened. */
			CU_ASSERT_STRING_EQUAL(b->argv[k + 1], "file:" IN);
			CU_ASSERT_TRUE(whitelist >= 0 && whitelist < k);
			inputs++;
		}
		if (strcmp(b->argv[k], "-protocol_whitelist") == 0 && k + 1 < b->n &&
		    strcmp(b->argv[k + 1], "file") == 0)
			whitelist = k;
	}
	CU_ASSERT_EQUAL(inputs, 1);
}

static void test_find_knows_each_listed_name_and_no_other(void)
{
	const char *p = preset_names();
	char name[32];
	int n = 0;

	/* preset_names is "a, b, c": each one is found under its own name. */
	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		CU_ASSERT_FATAL(len > 0 && len < sizeof(name));
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		CU_ASSERT_PTR_NOT_NULL(preset_find(name));
		if (preset_find(name) != NULL)
			CU_ASSERT_STRING_EQUAL(preset_name(preset_find(name)), name);
		n++;
		p += len;
		if (*p == ',')
			p += strspn(p, ", ");
	}
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_PTR_NULL(preset_find("MP4"));
	CU_ASSERT_PTR_NULL(preset_find("mp4 "));
	CU_ASSERT_PTR_NULL(preset_find(""));
	CU_ASSERT_PTR_NULL(preset_find("gif"));
}

static void test_each_preset_names_its_output(void)
{
	CU_ASSERT_STRING_EQUAL(preset_ext(preset_find("mp4")), "mp4");
	CU_ASSERT_STRING_EQUAL(preset_output_kind(preset_find("mp4")), "video");
	CU_ASSERT_STRING_EQUAL(preset_ext(preset_find("thumbnail")), "jpg");
	CU_ASSERT_STRING_EQUAL(preset_output_kind(preset_find("thumbnail")), "image");
}

static void test_accepts_says_which_inputs_each_preset_renders(void)
{
	static const struct {
		const char *preset, *kind;
		bool ok;
	} cases[] = {
		{ "mp4", "image", true },       { "mp4", "video", true },
		{ "mp4", "audio", true },       { "thumbnail", "image", true },
		{ "thumbnail", "video", true }, { "thumbnail", "audio", false },
		{ "mp4", "text", false },       { "mp4", "", false },
		{ "mp4", "Video", false },
	};
	struct built b;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		CU_ASSERT_EQUAL(preset_accepts(preset_find(cases[i].preset), cases[i].kind) != 0,
		                cases[i].ok);
		/* and preset_argv agrees */
		CU_ASSERT_EQUAL(build(&b, cases[i].preset, cases[i].kind, 3000) > 0, cases[i].ok);
		if (!cases[i].ok)
			CU_ASSERT_EQUAL(b.n, -1);
	}
}

static void test_mp4_of_an_image_is_a_5_second_still(void)
{
	struct built b;

	CU_ASSERT_FATAL(build(&b, "mp4", "image", -1) > 0);
	check_shape(&b);
	CU_ASSERT_STRING_EQUAL(after(&b, "-loop"), "1");
	CU_ASSERT_STRING_EQUAL(after(&b, "-t"), "5");
	CU_ASSERT_STRING_EQUAL(after(&b, "-c:v"), "libx264");
	CU_ASSERT_STRING_EQUAL(after(&b, "-f"), "mp4");
	CU_ASSERT_EQUAL(b.total_us, (int64_t)PRESET_STILL_SECONDS * 1000000);
}

static void test_mp4_of_a_video_keeps_its_length_for_progress(void)
{
	struct built b;

	CU_ASSERT_FATAL(build(&b, "mp4", "video", 2500) > 0);
	check_shape(&b);
	CU_ASSERT_STRING_EQUAL(after(&b, "-c:a"), "aac");
	CU_ASSERT_STRING_EQUAL(after(&b, "-pix_fmt"), "yuv420p");
	CU_ASSERT_PTR_NULL(after(&b, "-t"));
	CU_ASSERT_EQUAL(b.total_us, 2500000);
	CU_ASSERT_FATAL(build(&b, "mp4", "video", -1) > 0);
	CU_ASSERT_EQUAL(b.total_us, 0);
}

static void test_mp4_of_audio_is_bounded_by_its_duration(void)
{
	static const struct {
		int64_t ms;
		const char *t;
		int64_t total_us;
	} cases[] = {
		{ 2500, "2.500", 2500000 }, { 3000, "3.000", 3000000 }, { 61007, "61.007", 61007000 },
		{ 1, "0.001", 1000 },       { 0, "86400", 0 },          { -1, "86400", 0 },
	};
	struct built b;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		CU_ASSERT_FATAL(build(&b, "mp4", "audio", cases[i].ms) > 0);
		check_shape(&b);
		CU_ASSERT_STRING_EQUAL(after(&b, "-t"), cases[i].t);
		CU_ASSERT_PTR_NOT_NULL(after(&b, "-shortest"));
		CU_ASSERT_EQUAL(b.total_us, cases[i].total_us);
	}
	/* The black frame comes from lavfi, the sound from the file. */
	CU_ASSERT_STRING_EQUAL(b.argv[1 + ARRAY_LEN(head)], "-f");
	CU_ASSERT_STRING_EQUAL(b.argv[2 + ARRAY_LEN(head)], "lavfi");
}

static void test_thumbnail_of_a_video_seeks_1_s_or_to_the_middle(void)
{
	static const struct {
		int64_t ms;
		const char *ss;
	} cases[] = {
		{ 10000, "1" }, { 2000, "1" }, { 1999, "0.999" }, { 1500, "0.750" },
		{ 1, "0.000" }, { 0, "1" },    { -1, "1" },
	};
	struct built b;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		CU_ASSERT_FATAL(build(&b, "thumbnail", "video", cases[i].ms) > 0);
		check_shape(&b);
		CU_ASSERT_STRING_EQUAL(after(&b, "-ss"), cases[i].ss);
		CU_ASSERT_STRING_EQUAL(after(&b, "-frames:v"), "1");
		CU_ASSERT_STRING_EQUAL(after(&b, "-c:v"), "mjpeg");
		/* One frame: progress jumps to 100 at the end. */
		CU_ASSERT_EQUAL(b.total_us, 0);
		if (strcmp(after(&b, "-ss") ? after(&b, "-ss") : "", cases[i].ss) != 0)
			fprintf(stderr, "\n  %lld ms: -ss %s", (long long)cases[i].ms, after(&b, "-ss"));
	}
}

static void test_thumbnail_of_an_image_does_not_seek(void)
{
	struct built b;

	CU_ASSERT_FATAL(build(&b, "thumbnail", "image", -1) > 0);
	check_shape(&b);
	CU_ASSERT_PTR_NULL(after(&b, "-ss"));
	CU_ASSERT_STRING_EQUAL(after(&b, "-vf"), "scale=320:-2");
	CU_ASSERT_EQUAL(b.total_us, 0);
}

static void test_an_odd_input_name_stays_one_file_argument(void)
{
	static const char *const names[] = { "-", "http://evil.example/x", "a b;c", "concat:a|b" };
	const char *argv[PRESET_MAX_ARGS];
	char scratch[512], want[64];
	int64_t total;
	size_t i;
	int n, k, hits;

	for (i = 0; i < ARRAY_LEN(names); i++) {
		n = preset_argv(preset_find("mp4"), FFMPEG, names[i], "video", 1000, OUT, argv, scratch,
		                sizeof(scratch), &total);
		CU_ASSERT_FATAL(n > 0);
		snprintf(want, sizeof(want), "file:%s", names[i]);
		for (k = 0, hits = 0; k < n; k++) {
			hits += strcmp(argv[k], want) == 0;
			CU_ASSERT_STRING_NOT_EQUAL(argv[k], names[i]);
		}
		CU_ASSERT_EQUAL(hits, 1);
	}
}

static void test_a_scratch_under_256_bytes_is_refused(void)
{
	const char *argv[PRESET_MAX_ARGS];
	char scratch[256];
	int64_t total = 0;

	CU_ASSERT_EQUAL(
	        preset_argv(preset_find("mp4"), FFMPEG, IN, "video", 1000, OUT, argv, scratch, 255, &total),
	        -1);
	CU_ASSERT_TRUE(preset_argv(preset_find("mp4"), FFMPEG, IN, "video", 1000, OUT, argv, scratch, 256,
	                           &total) > 0);
}

static void test_rendition_presets_write_folders_not_argv_templates(void)
{
	static const char *const names[] = { "hls", "poster", "storyboard" };
	const char *argv[PRESET_MAX_ARGS];
	char scratch[512];
	int64_t total = 0;
	size_t i;

	for (i = 0; i < ARRAY_LEN(names); i++) {
		const struct preset *p = preset_find(names[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_NOT_EQUAL(preset_rendition(p), 0);
		CU_ASSERT_STRING_EQUAL(preset_ext(p), "");
		CU_ASSERT_TRUE(preset_accepts(p, "video"));
		CU_ASSERT_FALSE(preset_accepts(p, "image"));
		CU_ASSERT_EQUAL(preset_argv(p, FFMPEG, IN, "video", 1000, OUT, argv, scratch, sizeof(scratch),
		                            &total),
		                -1);
	}
	CU_ASSERT_TRUE(preset_accepts(preset_find("hls"), "audio"));
	CU_ASSERT_FALSE(preset_accepts(preset_find("poster"), "audio"));
	CU_ASSERT_EQUAL(preset_rendition(preset_find("mp4")), 0);
}

static const struct unit_test tests[] = {
	{ "rendition presets write folders, not argv templates",
	  test_rendition_presets_write_folders_not_argv_templates },
	{ "find knows each listed name and no other", test_find_knows_each_listed_name_and_no_other },
	{ "each preset names its output", test_each_preset_names_its_output },
	{ "accepts says which inputs each preset renders",
	  test_accepts_says_which_inputs_each_preset_renders },
	{ "mp4 of an image is a 5 s still", test_mp4_of_an_image_is_a_5_second_still },
	{ "mp4 of a video keeps its length for progress", test_mp4_of_a_video_keeps_its_length_for_progress },
	{ "mp4 of audio is bounded by its duration", test_mp4_of_audio_is_bounded_by_its_duration },
	{ "thumbnail of a video seeks 1 s in, or to the middle",
	  test_thumbnail_of_a_video_seeks_1_s_or_to_the_middle },
	{ "thumbnail of an image does not seek", test_thumbnail_of_an_image_does_not_seek },
	{ "an odd input name stays one file: argument", test_an_odd_input_name_stays_one_file_argument },
	{ "a scratch under 256 bytes is refused", test_a_scratch_under_256_bytes_is_refused },
};

UNIT_SUITES(UNIT_SUITE("presets", NULL, NULL, tests));
