/* test_probe.c: CUnit tests for the upload classifier, on canned ffprobe JSON and on real files. */
#include "config.h"

#include "media/probe.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

extern char **environ;

/* ---- canned ffprobe output ---------------------------------------------------------------- */

/*
 * Real "ffprobe -v error -hide_banner -protocol_whitelist file -print_format json -show_format
 * -show_streams" output (ffmpeg 5.1, Debian 12) of files made with ffmpeg's lavfi sources,
 * trimmed to the members the classifier reads, path changed. FULL_PNG is one output whole.
 */
/* clang-format off */
static const char FULL_PNG[] =
	"{\n"
	"    \"streams\": [\n"
	"        {\n"
	"            \"index\": 0,\n"
	"            \"codec_name\": \"png\",\n"
	"            \"codec_long_name\": \"PNG (Portable Network Graphics) image\",\n"
	"            \"codec_type\": \"video\",\n"
	"            \"codec_tag_string\": \"[0][0][0][0]\",\n"
	"            \"codec_tag\": \"0x0000\",\n"
	"            \"width\": 64,\n"
	"            \"height\": 48,\n"
	"            \"coded_width\": 64,\n"
	"            \"coded_height\": 48,\n"
	"            \"closed_captions\": 0,\n"
	"            \"film_grain\": 0,\n"
	"            \"has_b_frames\": 0,\n"
	"            \"sample_aspect_ratio\": \"1:1\",\n"
	"            \"display_aspect_ratio\": \"4:3\",\n"
	"            \"pix_fmt\": \"rgb24\",\n"
	"            \"level\": -99,\n"
	"            \"color_range\": \"pc\",\n"
	"            \"refs\": 1,\n"
	"            \"r_frame_rate\": \"25/1\",\n"
	"            \"avg_frame_rate\": \"25/1\",\n"
	"            \"time_base\": \"1/25\",\n"
	"            \"disposition\": {\n"
	"                \"default\": 0,\n"
	"                \"dub\": 0,\n"
	"                \"original\": 0,\n"
	"                \"comment\": 0,\n"
	"                \"lyrics\": 0,\n"
	"                \"karaoke\": 0,\n"
	"                \"forced\": 0,\n"
	"                \"hearing_impaired\": 0,\n"
	"                \"visual_impaired\": 0,\n"
	"                \"clean_effects\": 0,\n"
	"                \"attached_pic\": 0,\n"
	"                \"timed_thumbnails\": 0,\n"
	"                \"captions\": 0,\n"
	"                \"descriptions\": 0,\n"
	"                \"metadata\": 0,\n"
	"                \"dependent\": 0,\n"
	"                \"still_image\": 0\n"
	"            }\n"
	"        }\n"
	"    ],\n"
	"    \"format\": {\n"
	"        \"filename\": \"file:/srv/up/x.png\",\n"
	"        \"nb_streams\": 1,\n"
	"        \"nb_programs\": 0,\n"
	"        \"format_name\": \"png_pipe\",\n"
	"        \"format_long_name\": \"piped png sequence\",\n"
	"        \"size\": \"170\",\n"
	"        \"probe_score\": 99\n"
	"    }\n"
	"}\n";
/* clang-format on */

/* One video or audio stream, as ffprobe prints it, trimmed. */
#define VSTREAM(codec, w, h, extra)                                                        \
	"{\"index\":0,\"codec_name\":\"" codec "\",\"codec_type\":\"video\",\"width\":" #w \
	",\"height\":" #h extra ",\"disposition\":{\"default\":0,\"attached_pic\":0}}"
#define ASTREAM(codec)                                                                                  \
	"{\"index\":0,\"codec_name\":\"" codec "\",\"codec_type\":\"audio\",\"duration\":\"1.000000\"," \
	"\"disposition\":{\"default\":0,\"attached_pic\":0}}"
/* A whole document: streams (comma-separated), format_name, and format members after it. */
#define DOC(streams, fmt, extra)                                                                   \
	"{\"streams\":[" streams "],\"format\":{\"filename\":\"file:/srv/up/f\",\"nb_streams\":1," \
	"\"format_name\":\"" fmt "\"" extra ",\"size\":\"9000\"}}"
#define DUR1 ",\"duration\":\"1.000000\""

static const char JSON_MP4[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"h264\",\"codec_type\":\"video\",\"width\":160,\"height\":120,"
        "\"nb_frames\":\"10\",\"duration\":\"1.000000\",\"disposition\":{\"default\":1,\"attached_pic\":0}}],"
        "\"format\":{\"filename\":\"file:/srv/up/x.mp4\",\"nb_streams\":1,"
        "\"format_name\":\"mov,mp4,m4a,3gp,3g2,mj2\",\"duration\":\"1.000000\",\"size\":\"5390\"}}";
static const char JSON_M4A[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"aac\",\"codec_type\":\"audio\",\"nb_frames\":\"45\","
        "\"duration\":\"1.000000\",\"disposition\":{\"default\":1,\"attached_pic\":0}}],"
        "\"format\":{\"filename\":\"file:/srv/up/x.m4a\",\"nb_streams\":1,"
        "\"format_name\":\"mov,mp4,m4a,3gp,3g2,mj2\",\"duration\":\"1.000000\",\"size\":\"9976\"}}";
static const char JSON_COVER_MP3[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"mp3\",\"codec_type\":\"audio\",\"duration\":\"1.044898\","
        "\"disposition\":{\"default\":0,\"attached_pic\":0}},"
        "{\"index\":1,\"codec_name\":\"mjpeg\",\"codec_type\":\"video\",\"width\":64,\"height\":48,"
        "\"duration\":\"1.044900\",\"disposition\":{\"default\":0,\"attached_pic\":1}}],"
        "\"format\":{\"filename\":\"file:/srv/up/cover.mp3\",\"nb_streams\":2,\"format_name\":\"mp3\","
        "\"duration\":\"1.044898\",\"size\":\"8878\"}}";
static const char JSON_GIF_STILL[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"gif\",\"codec_type\":\"video\",\"width\":64,\"height\":48,"
        "\"nb_frames\":\"1\",\"duration\":\"0.100000\",\"disposition\":{\"default\":0,\"attached_pic\":0}}],"
        "\"format\":{\"filename\":\"file:/srv/up/x.gif\",\"nb_streams\":1,\"format_name\":\"gif\","
        "\"duration\":\"0.100000\",\"size\":\"998\"}}";
static const char JSON_GIF_ANIMATED[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"gif\",\"codec_type\":\"video\",\"width\":64,\"height\":48,"
        "\"nb_frames\":\"10\",\"duration\":\"1.000000\",\"disposition\":{\"default\":0,\"attached_pic\":0}}],"
        "\"format\":{\"filename\":\"file:/srv/up/a.gif\",\"nb_streams\":1,\"format_name\":\"gif\","
        "\"duration\":\"1.000000\",\"size\":\"6436\"}}";
/* A text file of 2000 lines: the tty demuxer reports it as ANSI art "video". */
static const char JSON_TTY[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"ansi\",\"codec_type\":\"video\",\"width\":640,\"height\":400,"
        "\"duration\":\"1.520000\",\"disposition\":{\"default\":0,\"attached_pic\":0}}],"
        "\"format\":{\"filename\":\"file:/srv/up/big.txt\",\"nb_streams\":1,\"format_name\":\"tty\","
        "\"duration\":\"1.520000\",\"size\":\"8893\"}}";
/* "hello world\n" named t.png: image2 picks it by name, the png decoder refuses it, exit 0. */
static const char JSON_TEXT_AS_PNG[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"png\",\"codec_type\":\"video\",\"width\":0,\"height\":0,"
        "\"duration\":\"0.040000\",\"disposition\":{\"default\":0,\"attached_pic\":0}}],"
        "\"format\":{\"filename\":\"file:/srv/up/t.png\",\"nb_streams\":1,\"format_name\":\"image2\","
        "\"duration\":\"0.040000\",\"size\":\"12\"}}";
static const char JSON_FLV[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"flv1\",\"codec_type\":\"video\",\"width\":160,\"height\":120,"
        "\"disposition\":{\"default\":0,\"attached_pic\":0}}],"
        "\"format\":{\"filename\":\"file:/srv/up/x.flv\",\"nb_streams\":1,\"format_name\":\"flv\","
        "\"duration\":\"1.000000\",\"size\":\"12955\"}}";

/* Runs probe_classify on a NUL-terminated document. */
static int classify(const char *json, struct probe_result *r, char *why, size_t whylen)
{
	return probe_classify(json, strlen(json), r, why, whylen);
}

static void test_classify_png_in_png_pipe_is_an_image(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(FULL_PNG, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_IMAGE);
	CU_ASSERT_STRING_EQUAL(r.mime, "image/png");
	CU_ASSERT_STRING_EQUAL(r.ext, "png");
	CU_ASSERT_STRING_EQUAL(r.format_name, "png_pipe");
	CU_ASSERT_STRING_EQUAL(r.video_codec, "png");
	CU_ASSERT_STRING_EQUAL(r.audio_codec, "");
	CU_ASSERT_EQUAL(r.width, 64);
	CU_ASSERT_EQUAL(r.height, 48);
	CU_ASSERT_EQUAL(r.duration_ms, -1);
	CU_ASSERT_STRING_EQUAL(r.found, "an image (png)");
	CU_ASSERT_STRING_EQUAL(why, "");
}

static void test_classify_h264_in_mp4_is_a_video(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(JSON_MP4, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_VIDEO);
	CU_ASSERT_STRING_EQUAL(r.mime, "video/mp4");
	CU_ASSERT_STRING_EQUAL(r.ext, "mp4");
	CU_ASSERT_STRING_EQUAL(r.format_name, "mov,mp4,m4a,3gp,3g2,mj2");
	CU_ASSERT_STRING_EQUAL(r.video_codec, "h264");
	CU_ASSERT_EQUAL(r.width, 160);
	CU_ASSERT_EQUAL(r.height, 120);
	CU_ASSERT_EQUAL(r.duration_ms, 1000);
	CU_ASSERT_STRING_EQUAL(r.found, "a video (h264 in mp4)");
}

/* A phone's portrait clip: stored 1920x1080, shown turned (display matrix -90), 30000/1001 fps. */
static const char JSON_ROTATED[] =
        "{\"streams\":[{\"index\":0,\"codec_name\":\"h264\",\"codec_type\":\"video\",\"width\":1920,"
        "\"height\":1080,\"avg_frame_rate\":\"30000/1001\",\"side_data_list\":[{\"side_data_type\":"
        "\"Display Matrix\",\"rotation\":-90}],\"disposition\":{\"default\":1,\"attached_pic\":0}}],"
        "\"format\":{\"filename\":\"file:/srv/up/p.mov\",\"nb_streams\":1,\"format_name\":"
        "\"mov,mp4,m4a,3gp,3g2,mj2\",\"duration\":\"2.000000\",\"size\":\"1000\"}}";

static void test_classify_shows_a_turned_video_turned_with_its_frame_rate(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(JSON_ROTATED, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_VIDEO);
	CU_ASSERT_EQUAL(r.width, 1080);
	CU_ASSERT_EQUAL(r.height, 1920);
	CU_ASSERT_EQUAL(r.frame_rate_milli, 29970);
	/* No avg_frame_rate (or ffprobe's "0/0"): unknown. */
	CU_ASSERT_EQUAL_FATAL(classify(JSON_MP4, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.frame_rate_milli, -1);
	CU_ASSERT_EQUAL(r.width, 160);
}

static void test_classify_audio_only_mp4_is_m4a(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(JSON_M4A, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_AUDIO);
	CU_ASSERT_STRING_EQUAL(r.mime, "audio/mp4");
	CU_ASSERT_STRING_EQUAL(r.ext, "m4a");
	CU_ASSERT_STRING_EQUAL(r.audio_codec, "aac");
	CU_ASSERT_STRING_EQUAL(r.video_codec, "");
	CU_ASSERT_EQUAL(r.width, -1);
	CU_ASSERT_EQUAL(r.height, -1);
	CU_ASSERT_EQUAL(r.duration_ms, 1000);
}

static void test_classify_cover_art_does_not_make_a_video(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(JSON_COVER_MP3, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_AUDIO);
	CU_ASSERT_STRING_EQUAL(r.mime, "audio/mpeg");
	CU_ASSERT_STRING_EQUAL(r.ext, "mp3");
	CU_ASSERT_STRING_EQUAL(r.video_codec, "");
	CU_ASSERT_EQUAL(r.width, -1);
	CU_ASSERT_EQUAL(r.duration_ms, 1044);
	CU_ASSERT_STRING_EQUAL(r.found, "an audio file (mp3 in mp3)");
}

static void test_classify_single_frame_gif_is_a_still_image(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(JSON_GIF_STILL, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_IMAGE);
	CU_ASSERT_STRING_EQUAL(r.mime, "image/gif");
	CU_ASSERT_EQUAL(r.duration_ms, -1);
	CU_ASSERT_STRING_EQUAL(r.found, "an image (gif)");
}

static void test_classify_animated_gif_is_an_image_with_a_duration(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(JSON_GIF_ANIMATED, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_IMAGE);
	CU_ASSERT_STRING_EQUAL(r.mime, "image/gif");
	CU_ASSERT_STRING_EQUAL(r.ext, "gif");
	CU_ASSERT_EQUAL(r.duration_ms, 1000);
	CU_ASSERT_EQUAL(r.width, 64);
	CU_ASSERT_STRING_EQUAL(r.found, "an animated image (gif)");
}

static void test_classify_text_file_is_other_not_tty_video(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(JSON_TTY, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_OTHER);
	CU_ASSERT_STRING_EQUAL(r.found, "a tty file with no audio or video stream");
	CU_ASSERT_STRING_EQUAL(why, "no audio or video stream");
	CU_ASSERT_STRING_EQUAL(r.mime, "");
	CU_ASSERT_STRING_EQUAL(r.ext, "");
	CU_ASSERT_EQUAL(r.width, -1);
	CU_ASSERT_EQUAL(r.duration_ms, -1);
}

static void test_classify_undecodable_image_is_other(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(JSON_TEXT_AS_PNG, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_OTHER);
	CU_ASSERT_STRING_EQUAL(r.found, "an image2 file whose png image could not be decoded");
	CU_ASSERT_STRING_EQUAL(why, "the image could not be decoded");
	CU_ASSERT_STRING_EQUAL(r.mime, "");
	CU_ASSERT_EQUAL(r.width, -1);
	CU_ASSERT_EQUAL(r.height, -1);
}

static void test_classify_unknown_container_is_unsupported(void)
{
	struct probe_result r;
	char why[128];

	CU_ASSERT_EQUAL_FATAL(classify(JSON_FLV, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_OTHER);
	CU_ASSERT_STRING_EQUAL(why, "unsupported container flv");
	CU_ASSERT_STRING_EQUAL(r.found, "a video (flv1) in an unsupported container (flv)");
	CU_ASSERT_STRING_EQUAL(r.video_codec, "flv1");
	CU_ASSERT_STRING_EQUAL(r.mime, "");
}

struct map_case {
	const char *json;
	enum probe_kind kind;
	const char *mime;
	const char *ext;
};

static void test_classify_maps_containers_to_mime_and_ext(void)
{
	/* clang-format off */
	static const struct map_case cases[] = {
		{ DOC(VSTREAM("mjpeg", 64, 48, ""), "jpeg_pipe", ""), PROBE_IMAGE, "image/jpeg", "jpg" },
		{ DOC(VSTREAM("mjpeg", 64, 48, ""), "image2", ""), PROBE_IMAGE, "image/jpeg", "jpg" },
		{ DOC(VSTREAM("png", 64, 48, ""), "image2", ""), PROBE_IMAGE, "image/png", "png" },
		{ DOC(VSTREAM("webp", 64, 48, ""), "webp_pipe", ""), PROBE_IMAGE, "image/webp", "webp" },
		{ DOC(VSTREAM("bmp", 64, 48, ""), "bmp_pipe", ""), PROBE_IMAGE, "image/bmp", "bmp" },
		{ DOC(VSTREAM("tiff", 64, 48, ""), "tiff_pipe", ""), PROBE_IMAGE, "image/tiff", "tiff" },
		{ DOC(VSTREAM("h264", 160, 120, ""), "matroska,webm", DUR1), PROBE_VIDEO, "video/webm", "webm" },
		{ DOC(VSTREAM("vp8", 160, 120, ""), "matroska,webm", DUR1), PROBE_VIDEO, "video/webm", "webm" },
		{ DOC(ASTREAM("opus"), "matroska,webm", DUR1), PROBE_AUDIO, "audio/webm", "webm" },
		{ DOC(VSTREAM("mpeg4", 160, 120, ""), "avi", DUR1), PROBE_VIDEO, "video/x-msvideo", "avi" },
		/* An image codec outside an image demuxer is a video (Motion JPEG). */
		{ DOC(VSTREAM("mjpeg", 160, 120, ""), "avi", DUR1), PROBE_VIDEO, "video/x-msvideo", "avi" },
		{ DOC(VSTREAM("mpeg2video", 160, 120, ""), "mpegts", DUR1), PROBE_VIDEO, "video/mp2t", "ts" },
		{ DOC(VSTREAM("theora", 160, 120, ""), "ogg", DUR1), PROBE_VIDEO, "video/ogg", "ogv" },
		{ DOC(ASTREAM("vorbis"), "ogg", DUR1), PROBE_AUDIO, "audio/ogg", "ogg" },
		{ DOC(ASTREAM("pcm_s16le"), "wav", DUR1), PROBE_AUDIO, "audio/wav", "wav" },
		{ DOC(ASTREAM("mp3"), "mp3", DUR1), PROBE_AUDIO, "audio/mpeg", "mp3" },
		{ DOC(ASTREAM("flac"), "flac", DUR1), PROBE_AUDIO, "audio/flac", "flac" },
		{ DOC(ASTREAM("aac"), "aac", DUR1), PROBE_AUDIO, "audio/aac", "aac" },
		/* Video with audio: the video decides. */
		{ DOC(VSTREAM("h264", 160, 120, "") "," ASTREAM("aac"), "mov,mp4,m4a,3gp,3g2,mj2", DUR1),
		  PROBE_VIDEO, "video/mp4", "mp4" },
		/* A kind the container is not mapped for, or a near-miss name. */
		{ DOC(ASTREAM("mp3"), "avi", DUR1), PROBE_OTHER, "", "" },
		{ DOC(VSTREAM("h264", 160, 120, ""), "wav", DUR1), PROBE_OTHER, "", "" },
		{ DOC(VSTREAM("h264", 160, 120, ""), "mov", DUR1), PROBE_OTHER, "", "" },
		{ DOC(VSTREAM("png", 64, 48, ""), "jpeg_pipe", ""), PROBE_OTHER, "", "" },
	};
	/* clang-format on */
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		struct probe_result r;
		char why[128];
		int rc = classify(cases[i].json, &r, why, sizeof(why));
		bool ok = rc == 0 && r.kind == cases[i].kind && strcmp(r.mime, cases[i].mime) == 0 &&
		          strcmp(r.ext, cases[i].ext) == 0;

		if (ok && r.kind == PROBE_OTHER)
			ok = strncmp(why, "unsupported container ", 22) == 0;
		if (!ok)
			fprintf(stderr, "\nmap case %zu: rc %d kind %d mime \"%s\" ext \"%s\" why \"%s\"\n",
			        i, rc, (int)r.kind, r.mime, r.ext, why);
		CU_ASSERT(ok);
	}
}

static void test_classify_no_streams_is_other(void)
{
	static const char *const docs[] = {
		DOC("", "tty", DUR1),
		"{\"format\":{\"format_name\":\"mp3\"}}",
		/* Subtitles and data streams are neither audio nor video. */
		DOC("{\"index\":0,\"codec_name\":\"subrip\",\"codec_type\":\"subtitle\"}", "srt", ""),
		/* Cover art alone is not an image upload. */
		DOC("{\"codec_name\":\"png\",\"codec_type\":\"video\",\"width\":9,\"height\":9,"
		    "\"disposition\":{\"attached_pic\":1}}",
		    "mp3", ""),
	};
	size_t i;

	for (i = 0; i < N_ELEMS(docs); i++) {
		struct probe_result r;
		char why[128];

		CU_ASSERT_EQUAL(classify(docs[i], &r, why, sizeof(why)), 0);
		CU_ASSERT_EQUAL(r.kind, PROBE_OTHER);
		CU_ASSERT_STRING_EQUAL(why, "no audio or video stream");
		CU_ASSERT_PTR_NOT_NULL(strstr(r.found, "file with no audio or video stream"));
	}
}

static void test_classify_rejects_malformed_json(void)
{
	static const char *const docs[] = {
		"",
		"{",
		"{\n\n}\n", /* what ffprobe prints when it fails */
		"[]",
		"null",
		"\"format\"",
		"{\"format\":1}",
		"{\"format\":{}}",
		"{\"format\":{\"format_name\":\"\"}}",
		"{\"format\":{\"format_name\":7}}",
		"{\"format\":{\"format_name\":\"mp3\"},\"streams\":{}}",
		"{\"format\":{\"format_name\":\"mp3\"}} x",
		"{\"format\":{\"format_name\":\"mp3\"}}{}",
		"{\"format\":{\"format_name\":\"mp3\",}}",
		"{'format':{'format_name':'mp3'}}",
		"{\"format\":{\"format_name\":\"mp3\"},\"streams\":[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]}",
	};
	size_t i;

	for (i = 0; i < N_ELEMS(docs); i++) {
		struct probe_result r;
		char why[128] = "unset";
		int rc;

		memset(&r, 0x5a, sizeof(r));
		rc = classify(docs[i], &r, why, sizeof(why));
		if (rc != -1)
			fprintf(stderr, "\nmalformed case %zu accepted\n", i);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT(strncmp(why, "ffprobe output ", 15) == 0);
		CU_ASSERT_EQUAL(r.kind, PROBE_OTHER);
		CU_ASSERT_EQUAL(r.duration_ms, -1);
		CU_ASSERT_STRING_EQUAL(r.found, "");
	}
}

static void test_classify_reads_only_len_bytes(void)
{
	struct probe_result r;
	char why[128];
	size_t n = strlen(FULL_PNG);

	CU_ASSERT_EQUAL(probe_classify(FULL_PNG, n - 3, &r, why, sizeof(why)), -1);
	CU_ASSERT_EQUAL(probe_classify(FULL_PNG, n, &r, NULL, 0), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_IMAGE);
}

struct duration_case {
	const char *duration;
	int64_t ms;
};

static void test_classify_parses_duration_strictly(void)
{
	static const struct duration_case cases[] = {
		{ "1.000000", 1000 },  { "1.044898", 1044 },
		{ "0.040000", 40 },    { "12", 12000 },
		{ "3600.5", 3600500 }, { "0.0009", 0 },
		{ "N/A", -1 },         { "-1.000000", -1 },
		{ "1e3", -1 },         { "", -1 },
		{ " 1.0", -1 },        { "1.0s", -1 },
		{ ".5", -1 },          { "99999999999999999999", -1 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		char doc[512];
		struct probe_result r;
		char why[128];

		snprintf(doc, sizeof(doc),
		         "{\"streams\":[" ASTREAM("pcm_s16le") "],\"format\":{\"format_name\":\"wav\","
		                                               "\"duration\":\"%s\"}}",
		         cases[i].duration);
		CU_ASSERT_EQUAL_FATAL(classify(doc, &r, why, sizeof(why)), 0);
		if (r.duration_ms != cases[i].ms)
			fprintf(stderr, "\nduration \"%s\": got %" PRId64 "\n", cases[i].duration,
			        r.duration_ms);
		CU_ASSERT_EQUAL(r.duration_ms, cases[i].ms);
	}
}

static void test_classify_caps_and_cleans_names(void)
{
	static const char doc[] =
	        "{\"streams\":[{\"codec_name\":\"h2\\n64\\u00e9<b>\",\"codec_type\":\"video\",\"width\":8,\"height\":8},"
	        "{\"codec_name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"codec_type\":\"audio\"}],"
	        "\"format\":{\"format_name\":\"f/o\\\"o,bar,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}}";
	struct probe_result r;
	char why[40];

	CU_ASSERT_EQUAL_FATAL(classify(doc, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_OTHER);
	CU_ASSERT_EQUAL(strlen(r.format_name), PROBE_FORMAT_NAME_MAX - 1);
	CU_ASSERT(strncmp(r.format_name, "f?o?o,bar,bbb", 13) == 0);
	/* "\n", the two bytes of U+00E9, '<' and '>' each become '?'. */
	CU_ASSERT_STRING_EQUAL(r.video_codec, "h2?64???b?");
	CU_ASSERT_EQUAL(strlen(r.audio_codec), PROBE_CODEC_MAX - 1);
	/* why is cut to its buffer, never overrun. */
	CU_ASSERT_EQUAL(strlen(why), sizeof(why) - 1);
}

static void test_kind_names(void)
{
	CU_ASSERT_STRING_EQUAL(probe_kind_name(PROBE_IMAGE), "image");
	CU_ASSERT_STRING_EQUAL(probe_kind_name(PROBE_VIDEO), "video");
	CU_ASSERT_STRING_EQUAL(probe_kind_name(PROBE_AUDIO), "audio");
	CU_ASSERT_STRING_EQUAL(probe_kind_name(PROBE_OTHER), "other");
	CU_ASSERT_STRING_EQUAL(probe_kind_name((enum probe_kind)42), "other");
}

/* ---- real ffprobe on real files ----------------------------------------------------------- */

#define FFPROBE "ffprobe"
#define FFMPEG "ffmpeg"

static char tmpdir[] = "/tmp/test_probe.XXXXXX";
static bool have_tmpdir;
static char mp4_codec[16];

/* tmpdir/name into out. */
static const char *tpath(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s", tmpdir, name);
	return out;
}

/* Runs argv with all three standard streams on /dev/null; returns its exit status or -1. */
static int run_quiet(const char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status = 0, err, rc = -1;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	return rc;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fputs(text, f) >= 0)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && chmod(path, mode) != 0)
		rc = -1;
	return rc;
}

static int copy_file(const char *from, const char *to)
{
	const char *const argv[] = { "cp", "--", from, to, NULL };

	return run_quiet(argv) == 0 ? 0 : -1;
}

/* Makes the test files with the real ffmpeg; libx264 when built in, else mpeg4. */
static int files_init(void)
{
	char png[PATH_MAX], mp4[PATH_MAX], wav[PATH_MAX], p[PATH_MAX], q[PATH_MAX], script[PATH_MAX + 64];

	if (mkdtemp(tmpdir) == NULL)
		return -1;
	have_tmpdir = true;
	/* Leaves its pid, which is also its process group's id, for the test to look for. */
	snprintf(script, sizeof(script), "#!/bin/sh\necho $$ > '%s/hang.pid'\nsleep 30\n", tmpdir);
	tpath(png, sizeof(png), "x.png");
	tpath(mp4, sizeof(mp4), "x.mp4");
	tpath(wav, sizeof(wav), "x.wav");
	{
		const char *const argv[] = {
			FFMPEG,      "-nostdin", "-y", "-f", "lavfi", "-i", "color=c=red:s=64x48:d=1",
			"-frames:v", "1",        png,  NULL
		};

		if (run_quiet(argv) != 0)
			return -1;
	}
	{
		const char *const argv[] = { FFMPEG,
			                     "-nostdin",
			                     "-y",
			                     "-f",
			                     "lavfi",
			                     "-i",
			                     "testsrc=size=160x120:rate=10",
			                     "-t",
			                     "1",
			                     "-pix_fmt",
			                     "yuv420p",
			                     "-c:v",
			                     "libx264",
			                     mp4,
			                     NULL };
		const char *const fallback[] = { FFMPEG,
			                         "-nostdin",
			                         "-y",
			                         "-f",
			                         "lavfi",
			                         "-i",
			                         "testsrc=size=160x120:rate=10",
			                         "-t",
			                         "1",
			                         "-pix_fmt",
			                         "yuv420p",
			                         "-c:v",
			                         "mpeg4",
			                         mp4,
			                         NULL };

		snprintf(mp4_codec, sizeof(mp4_codec), "h264");
		if (run_quiet(argv) != 0) {
			snprintf(mp4_codec, sizeof(mp4_codec), "mpeg4");
			if (run_quiet(fallback) != 0)
				return -1;
		}
	}
	{
		const char *const argv[] = {
			FFMPEG, "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
			wav,    NULL
		};

		if (run_quiet(argv) != 0)
			return -1;
	}
	if (write_file(tpath(p, sizeof(p), "text.png"), "hello world\n", 0600) != 0 ||
	    write_file(tpath(p, sizeof(p), "garbage.bin"),
	               "\x01\x02\x03 this is not a media file at all, just some bytes\n", 0600) != 0 ||
	    copy_file(png, tpath(p, sizeof(p), "-evil:name.png")) != 0 ||
	    /* "a%d.png" is text, "a1.png" a real image that a sequence pattern would find instead. */
	    write_file(tpath(p, sizeof(p), "a%d.png"), "hello world\n", 0600) != 0 ||
	    copy_file(png, tpath(q, sizeof(q), "a1.png")) != 0 ||
	    write_file(tpath(p, sizeof(p), "hang.sh"), script, 0700) != 0 ||
	    write_file(tpath(p, sizeof(p), "flood.sh"), "#!/bin/sh\nexec yes\n", 0700) != 0)
		return -1;
	return 0;
}

static int files_cleanup(void)
{
	DIR *d;
	struct dirent *e;
	char p[PATH_MAX];

	if (!have_tmpdir)
		return 0;
	d = opendir(tmpdir);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlink(tpath(p, sizeof(p), e->d_name));
		}
		closedir(d);
	}
	return rmdir(tmpdir) == 0 ? 0 : -1;
}

/* Entries in /proc/self/fd (the directory's own descriptor included, the same each time). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

/* Reads the decimal pid the fake ffprobe wrote. */
static bool read_pid(const char *path, pid_t *pid)
{
	FILE *f = fopen(path, "r");
	char line[32];
	char *end;
	long v = 0;

	if (f == NULL)
		return false;
	if (fgets(line, sizeof(line), f) != NULL) {
		errno = 0;
		v = strtol(line, &end, 10);
		if (errno != 0 || end == line || (*end != '\n' && *end != '\0') || v <= 1)
			v = 0;
	}
	fclose(f);
	*pid = (pid_t)v;
	return v > 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* why must not show where the files live. */
static void assert_no_path(const char *why)
{
	CU_ASSERT_PTR_NULL(strstr(why, tmpdir));
	CU_ASSERT_PTR_NULL(strstr(why, "/tmp"));
}

static void test_file_png_is_an_image(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(probe_file(FFPROBE, tpath(p, sizeof(p), "x.png"), 10, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_IMAGE);
	CU_ASSERT_STRING_EQUAL(r.mime, "image/png");
	CU_ASSERT_STRING_EQUAL(r.ext, "png");
	CU_ASSERT_EQUAL(r.width, 64);
	CU_ASSERT_EQUAL(r.height, 48);
	CU_ASSERT_EQUAL(r.duration_ms, -1);
}

/* An HLS playlist naming a real local video: without -format_whitelist ffprobe follows it (and
 * reports the hls demuxer); with it the playlist is refused before anything is opened. */
static void test_file_hls_playlist_is_refused_unopened(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX], mp4[PATH_MAX], body[PATH_MAX + 128];
	FILE *f;
	int rc;

	snprintf(body, sizeof(body), "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\n%s\n#EXT-X-ENDLIST\n",
	         tpath(mp4, sizeof(mp4), "x.mp4"));
	f = fopen(tpath(p, sizeof(p), "list.m3u8"), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(body, f);
	fclose(f);
	rc = probe_file(FFPROBE, p, 10, &r, why, sizeof(why));
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(r.kind, PROBE_OTHER);
	CU_ASSERT_PTR_NULL(strstr(r.format_name, "hls"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ffprobe could not read the file"));
}

static void test_file_mp4_is_a_video(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(probe_file(FFPROBE, tpath(p, sizeof(p), "x.mp4"), 10, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_VIDEO);
	CU_ASSERT_STRING_EQUAL(r.mime, "video/mp4");
	CU_ASSERT_STRING_EQUAL(r.ext, "mp4");
	CU_ASSERT_STRING_EQUAL(r.video_codec, mp4_codec);
	CU_ASSERT_EQUAL(r.width, 160);
	CU_ASSERT_EQUAL(r.height, 120);
	CU_ASSERT(r.duration_ms >= 900 && r.duration_ms <= 1100);
}

static void test_file_wav_is_audio(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(probe_file(FFPROBE, tpath(p, sizeof(p), "x.wav"), 10, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_AUDIO);
	CU_ASSERT_STRING_EQUAL(r.mime, "audio/wav");
	CU_ASSERT_STRING_EQUAL(r.ext, "wav");
	CU_ASSERT_STRING_EQUAL(r.audio_codec, "pcm_s16le");
	CU_ASSERT_EQUAL(r.duration_ms, 1000);
	CU_ASSERT_EQUAL(r.width, -1);
}

static void test_file_text_named_png_is_not_an_image(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX];
	int rc = probe_file(FFPROBE, tpath(p, sizeof(p), "text.png"), 10, &r, why, sizeof(why));

	CU_ASSERT(rc == -1 || (rc == 0 && r.kind == PROBE_OTHER));
	CU_ASSERT_NOT_EQUAL(r.kind, PROBE_IMAGE);
	CU_ASSERT_STRING_EQUAL(r.mime, "");
	CU_ASSERT(why[0] != '\0');
	assert_no_path(why);
	assert_no_path(r.found);
}

static void test_file_unreadable_reason_has_no_path(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX];

	CU_ASSERT_EQUAL(probe_file(FFPROBE, tpath(p, sizeof(p), "garbage.bin"), 10, &r, why, sizeof(why)),
	                -1);
	CU_ASSERT_STRING_EQUAL(why,
	                       "ffprobe could not read the file: Invalid data found when processing input");
	CU_ASSERT_EQUAL(r.kind, PROBE_OTHER);
	assert_no_path(why);
}

static void test_file_missing_or_not_regular_fails(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX];

	CU_ASSERT_EQUAL(probe_file(FFPROBE, tpath(p, sizeof(p), "nope.png"), 10, &r, why, sizeof(why)), -1);
	CU_ASSERT_STRING_EQUAL(why, "the file cannot be opened: No such file or directory");
	CU_ASSERT_EQUAL(probe_file(FFPROBE, tmpdir, 10, &r, why, sizeof(why)), -1);
	CU_ASSERT_STRING_EQUAL(why, "not a regular file");
	CU_ASSERT_EQUAL(probe_file(FFPROBE, "", 10, &r, why, sizeof(why)), -1);
	CU_ASSERT_EQUAL(probe_file(FFPROBE, tpath(p, sizeof(p), "x.png"), 0, &r, why, sizeof(why)), -1);
}

static void test_file_name_is_never_an_option_or_protocol(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX], cwd[PATH_MAX];

	CU_ASSERT_EQUAL(probe_file(FFPROBE, tpath(p, sizeof(p), "-evil:name.png"), 10, &r, why, sizeof(why)),
	                0);
	CU_ASSERT_EQUAL(r.kind, PROBE_IMAGE);
	CU_ASSERT_STRING_EQUAL(r.mime, "image/png");

	/* The dangerous form: relative, so argv would start with '-' and hold "evil:" as a protocol. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	CU_ASSERT_EQUAL_FATAL(chdir(tmpdir), 0);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(probe_file(FFPROBE, "-evil:name.png", 10, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_IMAGE);
	CU_ASSERT_EQUAL(r.width, 64);
	CU_ASSERT_EQUAL(probe_file(FFPROBE, "./x.wav", 10, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_AUDIO);
	CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
}

static void test_file_percent_name_is_not_a_sequence_pattern(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX];
	int rc = probe_file(FFPROBE, tpath(p, sizeof(p), "a%d.png"), 10, &r, why, sizeof(why));

	/* As a pattern, "a%d.png" would find the real image a1.png beside it. */
	CU_ASSERT(rc == -1 || (rc == 0 && r.kind == PROBE_OTHER));
	CU_ASSERT_NOT_EQUAL(r.kind, PROBE_IMAGE);
}

static void test_file_hanging_ffprobe_is_killed_at_the_deadline(void)
{
	struct probe_result r;
	char why[256], sh[PATH_MAX], p[PATH_MAX];
	double t0 = now_s(), took;
	int status, i;
	pid_t pgid = 0;

	CU_ASSERT_EQUAL(probe_file(tpath(sh, sizeof(sh), "hang.sh"), tpath(p, sizeof(p), "x.png"), 1, &r, why,
	                           sizeof(why)),
	                -1);
	took = now_s() - t0;
	CU_ASSERT_STRING_EQUAL(why, "ffprobe timed out after 1 s");
	CU_ASSERT(took >= 0.9 && took < 3.0);
	/* The whole group went, the script's "sleep" too (a zombie until init reaps it, which can take seconds). */
	CU_ASSERT_FATAL(read_pid(tpath(p, sizeof(p), "hang.pid"), &pgid));
	for (i = 0; i < 500 && kill(-pgid, 0) == 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	CU_ASSERT_EQUAL(kill(-pgid, 0), -1);
	/* Reaped: no child of ours is left, not even a zombie. */
	errno = 0;
	CU_ASSERT_EQUAL(waitpid(-1, &status, WNOHANG), -1);
	CU_ASSERT_EQUAL(errno, ECHILD);
}

static void test_file_output_over_the_cap_fails(void)
{
	struct probe_result r;
	char why[256], sh[PATH_MAX], p[PATH_MAX];
	int status;

	CU_ASSERT_EQUAL(probe_file(tpath(sh, sizeof(sh), "flood.sh"), tpath(p, sizeof(p), "x.png"), 10, &r,
	                           why, sizeof(why)),
	                -1);
	CU_ASSERT_STRING_EQUAL(why, "ffprobe output is larger than 1024 KiB");
	errno = 0;
	CU_ASSERT_EQUAL(waitpid(-1, &status, WNOHANG), -1);
	CU_ASSERT_EQUAL(errno, ECHILD);
}

static void test_file_missing_ffprobe_fails(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX];

	CU_ASSERT_EQUAL(
	        probe_file("/nonexistent/ffprobe", tpath(p, sizeof(p), "x.png"), 10, &r, why, sizeof(why)),
	        -2);
	CU_ASSERT_STRING_EQUAL(why, "could not start ffprobe: No such file or directory");
}

static void test_file_leaks_no_descriptors(void)
{
	struct probe_result r;
	char why[256], p[PATH_MAX], q[PATH_MAX];
	int before = count_fds(), after, i, status;

	CU_ASSERT_FATAL(before > 0);
	/* Successes and failures before and after the spawn; text.png may go either way. */
	for (i = 0; i < 20; i++) {
		static const char *const names[] = { "x.png", "x.wav", "garbage.bin", "text.png", "nope" };
		int rc = probe_file(FFPROBE, tpath(p, sizeof(p), names[i % 5]), 10, &r, why, sizeof(why));

		if (i % 5 < 2)
			CU_ASSERT_EQUAL(rc, 0);
		if (i % 5 == 2 || i % 5 == 4)
			CU_ASSERT_EQUAL(rc, -1);
	}
	/* The failure paths after the spawn: killed at the deadline, output over the cap. */
	CU_ASSERT_EQUAL(probe_file(tpath(q, sizeof(q), "hang.sh"), tpath(p, sizeof(p), "x.png"), 1, &r, why,
	                           sizeof(why)),
	                -1);
	CU_ASSERT_EQUAL(probe_file(tpath(q, sizeof(q), "flood.sh"), tpath(p, sizeof(p), "x.png"), 10, &r, why,
	                           sizeof(why)),
	                -1);
	after = count_fds();
	CU_ASSERT_EQUAL(after, before);
	errno = 0;
	CU_ASSERT_EQUAL(waitpid(-1, &status, WNOHANG), -1);
	CU_ASSERT_EQUAL(errno, ECHILD);
}

static void test_cmd_build_makes_a_safe_argv(void)
{
	struct probe_cmd cmd;
	char why[256], p[PATH_MAX], want[PATH_MAX + 8];
	size_t n = 0;
	bool pattern = false;

	CU_ASSERT_EQUAL_FATAL(
	        probe_cmd_build(&cmd, FFPROBE, tpath(p, sizeof(p), "a%d.png"), 10, why, sizeof(why)), 0);
	while (n < PROBE_ARGV_MAX && cmd.argv[n] != NULL) {
		if (strcmp(cmd.argv[n], "-pattern_type") == 0 && cmd.argv[n + 1] != NULL &&
		    strcmp(cmd.argv[n + 1], "none") == 0)
			pattern = true;
		n++;
	}
	CU_ASSERT_FATAL(n > 1 && n < PROBE_ARGV_MAX);
	CU_ASSERT_STRING_EQUAL(cmd.argv[0], FFPROBE);
	snprintf(want, sizeof(want), "file:%s", p);
	CU_ASSERT_STRING_EQUAL(cmd.argv[n - 1], want);
	CU_ASSERT(pattern);
	CU_ASSERT_EQUAL(cmd.opts.timeout_ms, 10000);
	CU_ASSERT_EQUAL(cmd.opts.out_max, PROBE_STDOUT_MAX);
	CU_ASSERT_EQUAL(cmd.opts.err_keep, PROBE_STDERR_KEEP);
	probe_cmd_free(&cmd);
	CU_ASSERT_EQUAL(probe_cmd_build(&cmd, FFPROBE, tpath(p, sizeof(p), "nope.png"), 10, why, sizeof(why)),
	                -1);
	CU_ASSERT_STRING_EQUAL(why, "the file cannot be opened: No such file or directory");
	probe_cmd_free(&cmd);
}

/*
 * The output probe of the spawner: ffprobe started before the file exists, waiting on its stdin,
 * then fed the file. Returns probe_verdict's answer.
 */
static int probe_fed(const char *name, struct probe_result *r, char *why, size_t whylen)
{
	struct probe_cmd cmd;
	struct probe_outcome o;
	struct child ch;
	char p[PATH_MAX];
	double t0;
	int rc = -3, fd;

	probe_result_reset(r);
	if (probe_cmd_build_stdin(&cmd, FFPROBE, 10, why, whylen) != 0)
		goto out;
	CU_ASSERT_TRUE(cmd.opts.in_feed);
	CU_ASSERT_EQUAL(cmd.opts.timeout_ms, 0);
	if (child_start(&ch, cmd.argv, &cmd.opts) != 0)
		goto out;
	/* Its start-up done, it waits: the file is handed over later, the deadline armed then. */
	nap_ms(200);
	CU_ASSERT_FALSE(child_tick(&ch));
	fd = open(tpath(p, sizeof(p), name), O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	child_arm(&ch, (int64_t)cmd.timeout_s * 1000);
	CU_ASSERT_EQUAL(child_feed(&ch, fd), 0);
	t0 = now_s();
	while (!child_tick(&ch) && now_s() - t0 < 20.0) {
		struct pollfd pfd[CHILD_POLLFDS];
		size_t n = child_pollfds(&ch, pfd), i;
		int wait = child_next_ms(&ch);

		if (poll(pfd, (nfds_t)n, wait < 0 || wait > 100 ? 100 : wait) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			if (pfd[i].revents != 0)
				child_read(&ch, pfd[i].fd);
	}
	probe_outcome_of(&o, &ch);
	rc = probe_verdict(&cmd, &o, r, why, whylen);
	child_close(&ch);
out:
	probe_cmd_free(&cmd);
	return rc;
}

static void test_stdin_probe_started_early_gives_the_files_answer(void)
{
	struct probe_result a, b;
	char why[256], p[PATH_MAX];
	/* x.mp4 has its index at the end: all of it is read before the answer. */
	static const char *const names[] = { "x.mp4", "x.png", "x.wav" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(
		        probe_file(FFPROBE, tpath(p, sizeof(p), names[i]), 10, &a, why, sizeof(why)), 0);
		CU_ASSERT_EQUAL_FATAL(probe_fed(names[i], &b, why, sizeof(why)), 0);
		CU_ASSERT_EQUAL(b.kind, a.kind);
		CU_ASSERT_STRING_EQUAL(b.mime, a.mime);
		CU_ASSERT_STRING_EQUAL(b.ext, a.ext);
		CU_ASSERT_STRING_EQUAL(b.video_codec, a.video_codec);
		CU_ASSERT_STRING_EQUAL(b.audio_codec, a.audio_codec);
		CU_ASSERT_EQUAL(b.width, a.width);
		CU_ASSERT_EQUAL(b.height, a.height);
		/* WAV's length comes from the file's size, which a stream does not have (probe.h). */
		CU_ASSERT_EQUAL(b.duration_ms, strcmp(names[i], "x.wav") == 0 ? -1 : a.duration_ms);
	}
	CU_ASSERT_EQUAL(probe_fed("garbage.bin", &b, why, sizeof(why)), -1);
	CU_ASSERT_EQUAL(b.kind, PROBE_OTHER);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ffprobe could not read the file"));
	CU_ASSERT_PTR_NULL(strstr(why, "pipe:"));
	assert_no_path(why);
}

static void test_stdin_cmd_reads_only_stdin(void)
{
	struct probe_cmd cmd;
	char why[256];
	size_t n = 0;
	bool pipe_only = false;

	CU_ASSERT_EQUAL_FATAL(probe_cmd_build_stdin(&cmd, FFPROBE, 10, why, sizeof(why)), 0);
	while (n < PROBE_ARGV_MAX && cmd.argv[n] != NULL) {
		if (strcmp(cmd.argv[n], "-protocol_whitelist") == 0 && cmd.argv[n + 1] != NULL &&
		    strcmp(cmd.argv[n + 1], "pipe") == 0)
			pipe_only = true;
		n++;
	}
	CU_ASSERT_FATAL(n > 1 && n < PROBE_ARGV_MAX);
	CU_ASSERT_STRING_EQUAL(cmd.argv[n - 1], "pipe:0");
	CU_ASSERT(pipe_only);
	CU_ASSERT_EQUAL(cmd.timeout_s, 10);
	probe_cmd_free(&cmd);
	CU_ASSERT_EQUAL(probe_cmd_build_stdin(&cmd, FFPROBE, 0, why, sizeof(why)), -1);
	probe_cmd_free(&cmd);
}

static void test_verdict_gives_probe_file_answers(void)
{
	static const char err_bad[] = "[png @ 0x55d0c0] bad header\n"
	                              "file:%s: Invalid data found when processing input\n";
	struct probe_cmd cmd;
	struct probe_outcome o;
	struct probe_result r;
	char why[256], p[PATH_MAX], err[PATH_MAX + 128];

	CU_ASSERT_EQUAL_FATAL(
	        probe_cmd_build(&cmd, FFPROBE, tpath(p, sizeof(p), "x.png"), 10, why, sizeof(why)), 0);
	memset(&o, 0, sizeof(o));
	o.timed_out = true;
	o.status = SIGTERM;
	CU_ASSERT_EQUAL(probe_verdict(&cmd, &o, &r, why, sizeof(why)), -1);
	CU_ASSERT_STRING_EQUAL(why, "ffprobe timed out after 10 s");

	memset(&o, 0, sizeof(o));
	o.out_over_cap = true;
	o.status = SIGKILL;
	CU_ASSERT_EQUAL(probe_verdict(&cmd, &o, &r, why, sizeof(why)), -1);
	CU_ASSERT_STRING_EQUAL(why, "ffprobe output is larger than 1024 KiB");

	memset(&o, 0, sizeof(o));
	o.read_errno = ENOMEM;
	CU_ASSERT_EQUAL(probe_verdict(&cmd, &o, &r, why, sizeof(why)), -2);
	CU_ASSERT_STRING_EQUAL(why, "could not read ffprobe's output: out of memory");

	memset(&o, 0, sizeof(o));
	o.wait_errno = ECHILD;
	CU_ASSERT_EQUAL(probe_verdict(&cmd, &o, &r, why, sizeof(why)), -2);
	CU_ASSERT_STRING_EQUAL(why, "could not get ffprobe's exit status: No child processes");

	memset(&o, 0, sizeof(o));
	o.status = SIGSEGV; /* killed by a signal, as waitpid encodes it */
	CU_ASSERT_EQUAL(probe_verdict(&cmd, &o, &r, why, sizeof(why)), -1);
	CU_ASSERT_STRING_EQUAL(why, "ffprobe was killed by signal 11");

	memset(&o, 0, sizeof(o));
	o.status = W_EXITCODE(1, 0);
	snprintf(err, sizeof(err), err_bad, p);
	o.err = err;
	o.err_len = strlen(err);
	CU_ASSERT_EQUAL(probe_verdict(&cmd, &o, &r, why, sizeof(why)), -1);
	CU_ASSERT_STRING_EQUAL(why,
	                       "ffprobe could not read the file: Invalid data found when processing input");
	assert_no_path(why);
	o.err_len = 0;
	CU_ASSERT_EQUAL(probe_verdict(&cmd, &o, &r, why, sizeof(why)), -1);
	CU_ASSERT_STRING_EQUAL(why, "ffprobe failed with exit status 1");

	memset(&o, 0, sizeof(o));
	o.status = W_EXITCODE(0, 0);
	o.out = FULL_PNG;
	o.out_len = strlen(FULL_PNG);
	CU_ASSERT_EQUAL(probe_verdict(&cmd, &o, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r.kind, PROBE_IMAGE);
	CU_ASSERT_STRING_EQUAL(why, "");
	probe_cmd_free(&cmd);
}

static const struct unit_test pure[] = {
	{ "png in png_pipe is an image", test_classify_png_in_png_pipe_is_an_image },
	{ "h264 in mp4 is a video", test_classify_h264_in_mp4_is_a_video },
	{ "a turned video is shown turned, with its frame rate",
	  test_classify_shows_a_turned_video_turned_with_its_frame_rate },
	{ "audio-only mp4 is m4a", test_classify_audio_only_mp4_is_m4a },
	{ "cover art does not make a video", test_classify_cover_art_does_not_make_a_video },
	{ "single-frame gif is a still image", test_classify_single_frame_gif_is_a_still_image },
	{ "animated gif is an image with a duration",
	  test_classify_animated_gif_is_an_image_with_a_duration },
	{ "text file is other, not tty video", test_classify_text_file_is_other_not_tty_video },
	{ "undecodable image is other", test_classify_undecodable_image_is_other },
	{ "unknown container is unsupported", test_classify_unknown_container_is_unsupported },
	{ "containers map to mime and ext", test_classify_maps_containers_to_mime_and_ext },
	{ "no streams is other", test_classify_no_streams_is_other },
	{ "malformed JSON rejected", test_classify_rejects_malformed_json },
	{ "reads only len bytes", test_classify_reads_only_len_bytes },
	{ "duration parsed strictly", test_classify_parses_duration_strictly },
	{ "names capped and cleaned", test_classify_caps_and_cleans_names },
	{ "kind names", test_kind_names },
};

static const struct unit_test real[] = {
	{ "png is an image", test_file_png_is_an_image },
	{ "mp4 is a video", test_file_mp4_is_a_video },
	{ "an HLS playlist is refused unopened", test_file_hls_playlist_is_refused_unopened },
	{ "wav is audio", test_file_wav_is_audio },
	{ "text named .png is not an image", test_file_text_named_png_is_not_an_image },
	{ "unreadable reason has no path", test_file_unreadable_reason_has_no_path },
	{ "missing or not regular fails", test_file_missing_or_not_regular_fails },
	{ "name never an option or protocol", test_file_name_is_never_an_option_or_protocol },
	{ "'%' name is not a sequence pattern", test_file_percent_name_is_not_a_sequence_pattern },
	{ "hanging ffprobe killed at deadline", test_file_hanging_ffprobe_is_killed_at_the_deadline },
	{ "output over the cap fails", test_file_output_over_the_cap_fails },
	{ "missing ffprobe fails", test_file_missing_ffprobe_fails },
	{ "leaks no descriptors", test_file_leaks_no_descriptors },
	{ "cmd build makes a safe argv", test_cmd_build_makes_a_safe_argv },
	{ "verdict gives probe_file's answers", test_verdict_gives_probe_file_answers },
	{ "stdin probe started early gives the file's answer",
	  test_stdin_probe_started_early_gives_the_files_answer },
	{ "stdin cmd reads only stdin", test_stdin_cmd_reads_only_stdin },
};

UNIT_SUITES(UNIT_SUITE("probe_classify", NULL, NULL, pure),
            UNIT_SUITE("probe_file", files_init, files_cleanup, real));
