/* test_rendition.c: unit tests of the rendition presets (render/rendition.c): ladders, storyboard
 * grids, the ffmpeg argv, the JPEG and WebVTT helpers, and the read-back of an HLS folder. */
#include "config.h"

#include "render/rendition.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/files.h"
#include "unit.h"

static struct rend_input video(int w, int h, bool audio)
{
	struct rend_input in = { .path = "/m/uploads/in.mp4",
		                 .kind = "video",
		                 .duration_ms = 10000,
		                 .width = w,
		                 .height = h,
		                 .has_audio = audio,
		                 .frame_rate_milli = 25000 };
	return in;
}

static void plan_ok(const struct rend_input *in, enum rend_kind k, struct rend_plan *p)
{
	char why[128] = "";

	CU_ASSERT_EQUAL_FATAL(rend_plan(k, in, p, why, sizeof(why)), 0);
}

static void test_a_1080p_source_gets_the_whole_ladder(void)
{
	static const char *const names[] = { "240p", "360p", "480p", "720p", "1080p" };
	struct rend_input in = video(1920, 1080, true);
	struct rend_plan p;
	int i;

	plan_ok(&in, REND_HLS, &p);
	CU_ASSERT_EQUAL_FATAL(p.nrungs, 5);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_STRING_EQUAL(p.rungs[i].name, names[i]);
		CU_ASSERT_TRUE(p.rungs[i].audio_kbps > 0);
		CU_ASSERT_TRUE(p.rungs[i].box_w > p.rungs[i].box_h);
	}
	CU_ASSERT_EQUAL(p.rungs[4].box_w, 1920);
	CU_ASSERT_EQUAL(p.rungs[4].box_h, 1080);
}

static void test_no_rung_is_above_the_source(void)
{
	struct rend_input in = video(1280, 720, true), wide = video(1280, 536, true);
	struct rend_plan p;

	plan_ok(&in, REND_HLS, &p);
	CU_ASSERT_EQUAL(p.nrungs, 4);
	CU_ASSERT_STRING_EQUAL(p.rungs[3].name, "720p");
	/* A wide 1280 source reaches the 720p box on its width: its 720p rung is its own size. */
	plan_ok(&wide, REND_HLS, &p);
	CU_ASSERT_EQUAL(p.nrungs, 4);
	in = video(1000, 700, false);
	plan_ok(&in, REND_HLS, &p);
	CU_ASSERT_EQUAL(p.nrungs, 3);
	CU_ASSERT_STRING_EQUAL(p.rungs[2].name, "480p");
	CU_ASSERT_EQUAL(p.rungs[0].audio_kbps, 0);
}

static void test_a_portrait_source_gets_portrait_boxes(void)
{
	struct rend_input in = video(360, 640, true);
	struct rend_plan p;

	plan_ok(&in, REND_HLS, &p);
	CU_ASSERT_EQUAL_FATAL(p.nrungs, 2);
	CU_ASSERT_STRING_EQUAL(p.rungs[1].name, "360p");
	CU_ASSERT_EQUAL(p.rungs[1].box_w, 360);
	CU_ASSERT_EQUAL(p.rungs[1].box_h, 640);
	CU_ASSERT_EQUAL(p.rungs[0].box_w, 240);
	CU_ASSERT_EQUAL(p.rungs[0].box_h, 426);
}

static void test_a_tiny_source_gets_one_rung_at_its_size(void)
{
	struct rend_input in = video(161, 121, true);
	struct rend_plan p;

	plan_ok(&in, REND_HLS, &p);
	CU_ASSERT_EQUAL_FATAL(p.nrungs, 1);
	CU_ASSERT_STRING_EQUAL(p.rungs[0].name, "120p");
	CU_ASSERT_EQUAL(p.rungs[0].box_w, 160);
	CU_ASSERT_EQUAL(p.rungs[0].box_h, 120);
}

static void test_audio_gets_two_audio_renditions(void)
{
	struct rend_input in = video(-1, -1, true);
	struct rend_plan p;

	in.kind = "audio";
	plan_ok(&in, REND_HLS, &p);
	CU_ASSERT_TRUE(p.audio_only);
	CU_ASSERT_EQUAL_FATAL(p.nrungs, 2);
	CU_ASSERT_STRING_EQUAL(p.rungs[0].name, "a64k");
	CU_ASSERT_STRING_EQUAL(p.rungs[1].name, "a128k");
}

static void test_inputs_a_rendition_cannot_take_are_refused(void)
{
	struct rend_input in = video(-1, -1, true);
	struct rend_plan p;
	char why[128] = "";

	CU_ASSERT_EQUAL(rend_plan(REND_HLS, &in, &p, why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "size"));
	in.kind = "image";
	CU_ASSERT_EQUAL(rend_plan(REND_POSTER, &in, &p, why, sizeof(why)), -1);
	CU_ASSERT_EQUAL(rend_plan(REND_HLS, &in, &p, why, sizeof(why)), -1);
	in = video(640, 360, true);
	in.duration_ms = -1;
	CU_ASSERT_EQUAL(rend_plan(REND_STORYBOARD, &in, &p, why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "duration"));
}

static void test_the_storyboard_grid_holds_at_most_100_tiles(void)
{
	struct rend_input in = video(640, 360, false);
	struct rend_plan p;

	in.duration_ms = 9000;
	plan_ok(&in, REND_STORYBOARD, &p);
	CU_ASSERT_EQUAL(p.story_step_s, 1);
	CU_ASSERT_EQUAL(p.story_count, 9);
	CU_ASSERT_EQUAL(p.story_cols, 9);
	CU_ASSERT_EQUAL(p.story_rows, 1);
	in.duration_ms = 1000000;
	plan_ok(&in, REND_STORYBOARD, &p);
	CU_ASSERT_EQUAL(p.story_step_s, 10);
	CU_ASSERT_EQUAL(p.story_count, 100);
	CU_ASSERT_EQUAL(p.story_rows, 10);
	in.duration_ms = 1000001;
	plan_ok(&in, REND_STORYBOARD, &p);
	CU_ASSERT_EQUAL(p.story_step_s, 11);
	CU_ASSERT_EQUAL(p.story_count, 91);
	CU_ASSERT_EQUAL(p.story_cols, 10);
	CU_ASSERT_EQUAL(p.story_rows, 10);
}

/* The argument after name in a, or NULL. */
static const char *after(const struct rend_argv *a, const char *name)
{
	int i;

	for (i = 0; i + 1 < a->n; i++)
		if (strcmp(a->argv[i], name) == 0)
			return a->argv[i + 1];
	return NULL;
}

static void test_one_ffmpeg_run_makes_the_whole_ladder(void)
{
	struct rend_input in = video(1920, 1080, true);
	struct rend_plan p;
	struct rend_argv *a = malloc(sizeof(*a));
	int64_t total = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	plan_ok(&in, REND_HLS, &p);
	CU_ASSERT_EQUAL_FATAL(rend_argv(&p, &in, "ffmpeg", "/m/outputs/.tmp-j-a1", a, &total), 0);
	CU_ASSERT_EQUAL(total, 10000000);
	CU_ASSERT_STRING_EQUAL(a->argv[0], "ffmpeg");
	CU_ASSERT_PTR_NULL(a->argv[a->n]);
	CU_ASSERT_STRING_EQUAL(after(a, "-i"), "file:/m/uploads/in.mp4");
	CU_ASSERT_STRING_EQUAL(after(a, "-var_stream_map"),
	                       "v:0,a:0,name:240p v:1,a:1,name:360p v:2,a:2,name:480p v:3,a:3,name:720p "
	                       "v:4,a:4,name:1080p");
	CU_ASSERT_STRING_EQUAL(after(a, "-force_key_frames"), "expr:gte(t,n_forced*2)");
	CU_ASSERT_STRING_EQUAL(after(a, "-sc_threshold"), "0");
	CU_ASSERT_STRING_EQUAL(after(a, "-hls_segment_type"), "fmp4");
	CU_ASSERT_STRING_EQUAL(after(a, "-b:v:4"), "5000k");
	CU_ASSERT_STRING_EQUAL(after(a, "-maxrate:v:0"), "440k");
	CU_ASSERT_STRING_EQUAL(after(a, "-hls_segment_filename"), "/m/outputs/.tmp-j-a1/%v/seg_%05d.m4s");
	CU_ASSERT_STRING_EQUAL(a->argv[a->n - 1], "/m/outputs/.tmp-j-a1/%v/index.m3u8");
	CU_ASSERT_PTR_NOT_NULL(strstr(after(a, "-filter_complex"), "split=5[s0][s1][s2][s3][s4];"));
	free(a);
}

static void test_a_silent_video_maps_no_audio(void)
{
	struct rend_input in = video(640, 360, false);
	struct rend_plan p;
	struct rend_argv *a = malloc(sizeof(*a));
	int64_t total;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	plan_ok(&in, REND_HLS, &p);
	CU_ASSERT_EQUAL_FATAL(rend_argv(&p, &in, "ffmpeg", "/o", a, &total), 0);
	CU_ASSERT_STRING_EQUAL(after(a, "-var_stream_map"), "v:0,name:240p v:1,name:360p");
	for (i = 0; i < a->n; i++)
		CU_ASSERT_STRING_NOT_EQUAL(a->argv[i], "0:a:0");
	CU_ASSERT_PTR_NULL(after(a, "-c:a"));
	free(a);
}

static void test_the_poster_skips_black_frames_unless_told_not_to(void)
{
	struct rend_input in = video(640, 360, true);
	struct rend_plan p;
	struct rend_argv *a = malloc(sizeof(*a));
	int64_t total = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	plan_ok(&in, REND_POSTER, &p);
	CU_ASSERT_EQUAL_FATAL(rend_argv(&p, &in, "ffmpeg", "/o", a, &total), 0);
	CU_ASSERT_STRING_EQUAL(after(a, "-ss"), "1.000");
	CU_ASSERT_PTR_NOT_NULL(strstr(after(a, "-vf"), "blackframe"));
	CU_ASSERT_STRING_EQUAL(a->argv[a->n - 1], "/o/poster.jpg");
	CU_ASSERT_EQUAL(total, 0);
	p.poster_plain = true;
	CU_ASSERT_EQUAL_FATAL(rend_argv(&p, &in, "ffmpeg", "/o", a, &total), 0);
	CU_ASSERT_PTR_NULL(strstr(after(a, "-vf"), "blackframe"));
	CU_ASSERT_PTR_NULL(after(a, "-t"));
	free(a);
}

static void test_jpeg_sizes_come_from_the_frame_header(void)
{
	/* SOI, an APP0 of 16 bytes, then SOF2 (progressive) of 120 x 640. */
	unsigned char j[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F',  'I',  'F',  0,    1,    1,
		              0,    0,    1,    0,    1,    0,    0,   0xFF, 0xC2, 0x00, 0x11, 0x08, 0x00,
		              0x78, 0x02, 0x80, 3,    1,    0x22, 0,   2,    0x11, 1,    3,    0x11, 1 };
	int w = 0, h = 0;

	CU_ASSERT_EQUAL(rend_jpeg_size(j, sizeof(j), &w, &h), 0);
	CU_ASSERT_EQUAL(w, 640);
	CU_ASSERT_EQUAL(h, 120);
	CU_ASSERT_EQUAL(rend_jpeg_size(j, 24, &w, &h), -1); /* cut before the frame header */
	j[0] = 0;
	CU_ASSERT_EQUAL(rend_jpeg_size(j, sizeof(j), &w, &h), -1);
}

static void test_every_storyboard_cue_lies_inside_the_sprite(void)
{
	struct rend_input in = video(640, 360, false);
	struct rend_plan p;
	char vtt[16384], *line;
	int cues = 0, x, y, w, h;

	in.duration_ms = 25500;
	plan_ok(&in, REND_STORYBOARD, &p);
	CU_ASSERT_EQUAL_FATAL(p.story_count, 26);
	CU_ASSERT_FATAL(rend_story_vtt(&p, in.duration_ms, 160, 90, vtt, sizeof(vtt)) > 0);
	CU_ASSERT_EQUAL(strncmp(vtt, "WEBVTT\n", 7), 0);
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(vtt, "\n00:00:25.000 --> 00:00:25.500\nstoryboard.jpg#xywh=800,180,160,90\n"));
	for (line = strstr(vtt, "#xywh="); line != NULL; line = strstr(line + 1, "#xywh=")) {
		CU_ASSERT_EQUAL_FATAL(sscanf(line, "#xywh=%d,%d,%d,%d", &x, &y, &w, &h), 4);
		CU_ASSERT_TRUE(x >= 0 && y >= 0 && x + w <= 160 * p.story_cols && y + h <= 90 * p.story_rows);
		cues++;
	}
	CU_ASSERT_EQUAL(cues, 26);
	CU_ASSERT_EQUAL(rend_story_vtt(&p, in.duration_ms, 160, 90, vtt, 100), 0); /* does not fit */
}

static void put(const char *dir, const char *name, const char *text, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (text != NULL)
		fputs(text, f);
	else
		while (n-- > 0)
			fputc('x', f);
	fclose(f);
}

static void test_an_hls_folder_is_measured_from_its_segments(void)
{
	char dir[] = "/tmp/test_rendition.XXXXXX", sub[600], why[256] = "";
	struct rend_input in = video(426, 240, true);
	struct rend_result r;
	struct rend_plan p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	plan_ok(&in, REND_HLS, &p);
	CU_ASSERT_EQUAL_FATAL(p.nrungs, 1);
	snprintf(sub, sizeof(sub), "%s/240p", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	put(dir, "master.m3u8",
	    "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=426x240,"
	    "CODECS=\"avc1.640015,mp4a.40.2\"\n240p/index.m3u8\n\n",
	    0);
	/* 4 s of 200,000 bytes (400 kbit/s), then 0.5 s of 50,000 (800 kbit/s: too short to be
	 * the peak). */
	put(sub, "index.m3u8",
	    "#EXTM3U\n#EXT-X-MAP:URI=\"init_0.mp4\"\n#EXTINF:4.000000,\nseg_00000.m4s\n#EXTINF:0.500000,\n"
	    "seg_00001.m4s\n#EXT-X-ENDLIST\n",
	    0);
	put(sub, "init_0.mp4", NULL, 800);
	put(sub, "seg_00000.m4s", NULL, 200000);
	put(sub, "seg_00001.m4s", NULL, 50000);
	CU_ASSERT_EQUAL_FATAL(rend_finish(&p, &in, dir, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL_FATAL(r.n, 1);
	CU_ASSERT_STRING_EQUAL(r.rows[0].name, "240p");
	CU_ASSERT_STRING_EQUAL(r.rows[0].path, "240p/index.m3u8");
	CU_ASSERT_STRING_EQUAL(r.rows[0].codecs, "avc1.640015,mp4a.40.2");
	CU_ASSERT_EQUAL(r.rows[0].width, 426);
	CU_ASSERT_EQUAL(r.rows[0].height, 240);
	CU_ASSERT_EQUAL(r.rows[0].average_bandwidth, 444444); /* 250,000 bytes over 4.5 s */
	/* The peak ignores the 0.5 s sliver (it would be 800 kbit/s), so the 4 s segment's 400 kbit/s
	 * is below the average: BANDWIDTH is never below AVERAGE-BANDWIDTH. */
	CU_ASSERT_EQUAL(r.rows[0].bandwidth, 444444);
	CU_ASSERT_EQUAL(r.rows[0].frame_rate_milli, 25000);
	/* A segment gone: the folder is refused, with the reason. */
	snprintf(sub, sizeof(sub), "%s/240p/seg_00001.m4s", dir);
	CU_ASSERT_EQUAL(unlink(sub), 0);
	CU_ASSERT_EQUAL(rend_finish(&p, &in, dir, &r, why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "seg_00001.m4s"));
	CU_ASSERT_EQUAL(files_remove_tree(dir), 0);
	CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
}

static const struct unit_test tests[] = {
	{ "a 1080p source gets the whole ladder", test_a_1080p_source_gets_the_whole_ladder },
	{ "no rung is above the source", test_no_rung_is_above_the_source },
	{ "a portrait source gets portrait boxes", test_a_portrait_source_gets_portrait_boxes },
	{ "a tiny source gets one rung at its size", test_a_tiny_source_gets_one_rung_at_its_size },
	{ "audio gets two audio renditions", test_audio_gets_two_audio_renditions },
	{ "inputs a rendition cannot take are refused", test_inputs_a_rendition_cannot_take_are_refused },
	{ "the storyboard grid holds at most 100 tiles", test_the_storyboard_grid_holds_at_most_100_tiles },
	{ "one ffmpeg run makes the whole ladder", test_one_ffmpeg_run_makes_the_whole_ladder },
	{ "a silent video maps no audio", test_a_silent_video_maps_no_audio },
	{ "the poster skips black frames unless told not to",
	  test_the_poster_skips_black_frames_unless_told_not_to },
	{ "jpeg sizes come from the frame header", test_jpeg_sizes_come_from_the_frame_header },
	{ "every storyboard cue lies inside the sprite", test_every_storyboard_cue_lies_inside_the_sprite },
	{ "an hls folder is measured from its segments", test_an_hls_folder_is_measured_from_its_segments },
};

UNIT_SUITES(UNIT_SUITE("rendition", NULL, NULL, tests));
