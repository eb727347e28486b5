/* test_playlist.c: CUnit tests for the master playlist and the signed copies of stored playlists and
 * WebVTT files (api/playlist.c). */
#include "config.h"

#include "api/playlist.h"

#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/signlink.h"
#include "store/renditions.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define MEDIA_ID INT64_C(42)
#define EXPIRES INT64_C(1700000600)
#define EXPIRES_STR "1700000600"
#define NOW INT64_C(1700000000)

static unsigned char test_key[SIGNLINK_KEY_LEN];
static struct playlist_signer signer;

static int suite_init(void)
{
	size_t i;

	if (sodium_init() < 0)
		return -1;
	for (i = 0; i < sizeof(test_key); i++)
		test_key[i] = (unsigned char)(i * 7);
	signer = (struct playlist_signer){ test_key, MEDIA_ID, EXPIRES };
	return 0;
}

/* The signature the signer gives path. */
static void sig_of(const char *path, char *out)
{
	CU_ASSERT_FATAL(signlink_sign_path(test_key, MEDIA_ID, EXPIRES, path, out, SIGNLINK_SIG_SIZE) == 0);
}

/* "<file>?expires=E&sig=<sig of path>". */
static void signed_uri(const char *file, const char *path, char *out, size_t n)
{
	char sig[SIGNLINK_SIG_SIZE];

	sig_of(path, sig);
	snprintf(out, n, "%s?expires=" EXPIRES_STR "&sig=%s", file, sig);
}

static void test_file_names(void)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{ "init_0.mp4", true },
		{ "init_12.mp4", true },
		/* a ladder of one rung */
		{ "init.mp4", true },
		{ "init0.mp4", false },
		{ "seg_00000.m4s", true },
		{ "seg_123456789.m4s", true },
		{ "init_.mp4", false },
		{ "init_123.mp4", false },
		{ "init_a.mp4", false },
		{ "seg_0000.m4s", false },
		{ "seg_1234567890.m4s", false },
		{ "seg_00000.mp4", false },
		{ "seg_00000.m4s.tmp", false },
		{ "index.m3u8", false },
		{ "master.m3u8", false },
		{ "../seg_00000.m4s", false },
		{ "seg_00000.ts", false },
		{ "SEG_00000.m4s", false },
		{ "seg_-0000.m4s", false },
		{ "seg_00 00.m4s", false },
		{ "", false },
		{ "init_0.mp4/", false },
		{ "xinit_0.mp4", false },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		if (playlist_file_ok(cases[i].name) != cases[i].ok)
			fprintf(stderr, "\n  \"%s\" should be %s", cases[i].name,
			        cases[i].ok ? "ok" : "refused");
		CU_ASSERT_EQUAL(playlist_file_ok(cases[i].name), cases[i].ok);
	}
	CU_ASSERT_FALSE(playlist_file_ok(NULL));
	CU_ASSERT_STRING_EQUAL(playlist_file_type("seg_00000.m4s"), "video/mp4");
	CU_ASSERT_STRING_EQUAL(playlist_file_type("init_0.mp4"), "video/mp4");
	CU_ASSERT_STRING_EQUAL(playlist_file_type("seg_00000.ts"), "video/mp2t");
}

static struct rendition variant(const char *name, int64_t bw, int64_t avg, int64_t w, int64_t h,
                                const char *codecs, const char *fps)
{
	struct rendition r;

	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "hls");
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.dir, sizeof(r.dir), "outputs/0b0e3e0a-1a23-4e98-b3d5-04c97e2c1f10");
	snprintf(r.path, sizeof(r.path), "%s/index.m3u8", name);
	r.bandwidth = bw;
	r.average_bandwidth = avg;
	r.width = w;
	r.height = h;
	snprintf(r.codecs, sizeof(r.codecs), "%s", codecs);
	snprintf(r.frame_rate, sizeof(r.frame_rate), "%s", fps);
	r.size_bytes = 1000;
	return r;
}

static void test_master_lists_every_variant_with_its_attributes(void)
{
	struct rendition v[3];
	struct buf out = BUF_INIT;
	char want[2048], u0[200], u1[200], u2[200], err[128];

	v[0] = variant("a64k", 70000, 66000, -1, -1, "mp4a.40.2", "");
	v[1] = variant("240p", 500000, 450000, 426, 240, "avc1.64001e,mp4a.40.2", "25.000");
	v[2] = variant("360p", 900000, -1, 640, 360, "", "29.970");
	CU_ASSERT_EQUAL_FATAL(playlist_master(v, 3, &signer, &out, err, sizeof(err)), 0);
	signed_uri("a64k/index.m3u8", "a64k/index.m3u8", u0, sizeof(u0));
	signed_uri("240p/index.m3u8", "240p/index.m3u8", u1, sizeof(u1));
	signed_uri("360p/index.m3u8", "360p/index.m3u8", u2, sizeof(u2));
	snprintf(want, sizeof(want),
	         "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
	         "#EXT-X-STREAM-INF:BANDWIDTH=70000,AVERAGE-BANDWIDTH=66000,CODECS=\"mp4a.40.2\"\n%s\n"
	         "#EXT-X-STREAM-INF:BANDWIDTH=500000,AVERAGE-BANDWIDTH=450000,RESOLUTION=426x240,"
	         "CODECS=\"avc1.64001e,mp4a.40.2\",FRAME-RATE=25.000\n%s\n"
	         "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,FRAME-RATE=29.970\n%s\n",
	         u0, u1, u2);
	CU_ASSERT_STRING_EQUAL(out.data, want);
	buf_free(&out);
}

static void test_master_refuses_rows_it_cannot_write_safely(void)
{
	struct rendition bad[] = {
		variant("240p", 0, 1, 426, 240, "avc1", "25.000"),           /* no bandwidth */
		variant("240p", 1, 1, 426, 240, "avc1\",URI=\"x", "25.000"), /* a quote in codecs */
		variant("240p", 1, 1, 426, 240, "avc1\nx", "25.000"),        /* a line break */
		variant("240p", 1, 1, 426, 240, "avc1", "25,0"),             /* a malformed frame rate */
		variant("240p", 1, 1, 426, 240, "avc1", "25.0\n"),
		variant("../x", 1, 1, 426, 240, "avc1", "25.000"), /* a name no row may have */
		variant("", 1, 1, 426, 240, "avc1", "25.000"),
	};
	size_t i;

	for (i = 0; i < N_ELEMS(bad); i++) {
		struct buf out = BUF_INIT;
		char err[128] = "";

		CU_ASSERT_EQUAL(playlist_master(&bad[i], 1, &signer, &out, err, sizeof(err)), -1);
		CU_ASSERT_NOT_EQUAL(err[0], '\0');
		buf_free(&out);
	}
}

/* ffmpeg's fMP4 VOD media playlist, as the render writes it. */
#define FFMPEG_PLAYLIST                                                                                          \
	"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"                          \
	"#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init_0.mp4\"\n"                 \
	"#EXTINF:4.000000,\nseg_00000.m4s\n#EXTINF:4.000000,\nseg_00001.m4s\n#EXTINF:1.500000,\nseg_00002.m4s\n" \
	"#EXT-X-ENDLIST\n"

static void test_media_playlist_signs_every_uri_for_its_path(void)
{
	static const char in[] = FFMPEG_PLAYLIST;
	struct buf out = BUF_INIT;
	char want[4096], m[200], s0[200], s1[200], s2[200], err[128];

	CU_ASSERT_EQUAL_FATAL(playlist_sign_media(in, strlen(in), "240p", &signer, &out, err, sizeof(err)),
	                      0);
	signed_uri("init_0.mp4", "240p/init_0.mp4", m, sizeof(m));
	signed_uri("seg_00000.m4s", "240p/seg_00000.m4s", s0, sizeof(s0));
	signed_uri("seg_00001.m4s", "240p/seg_00001.m4s", s1, sizeof(s1));
	signed_uri("seg_00002.m4s", "240p/seg_00002.m4s", s2, sizeof(s2));
	snprintf(want, sizeof(want),
	         "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
	         "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"%s\"\n"
	         "#EXTINF:4.000000,\n%s\n#EXTINF:4.000000,\n%s\n#EXTINF:1.500000,\n%s\n#EXT-X-ENDLIST\n",
	         m, s0, s1, s2);
	CU_ASSERT_STRING_EQUAL(out.data, want);
	buf_free(&out);
}

/* The signatures written verify for their own path and no other. */
static void test_media_playlist_signatures_verify_for_their_path_only(void)
{
	static const char in[] = "#EXTM3U\n#EXTINF:4.0,\nseg_00007.m4s\n";
	struct buf out = BUF_INIT;
	char err[128], sig[SIGNLINK_SIG_SIZE] = "";
	const char *p;

	CU_ASSERT_EQUAL_FATAL(playlist_sign_media(in, strlen(in), "720p", &signer, &out, err, sizeof(err)),
	                      0);
	p = strstr(out.data, "&sig=");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	snprintf(sig, sizeof(sig), "%.*s", SIGNLINK_SIG_LEN, p + 5);
	CU_ASSERT_EQUAL(
	        signlink_verify_path(test_key, MEDIA_ID, "720p/seg_00007.m4s", EXPIRES_STR, sig, NOW, 0),
	        SIGNLINK_OK);
	CU_ASSERT_EQUAL(
	        signlink_verify_path(test_key, MEDIA_ID, "720p/seg_00008.m4s", EXPIRES_STR, sig, NOW, 0),
	        SIGNLINK_BAD);
	CU_ASSERT_EQUAL(
	        signlink_verify_path(test_key, MEDIA_ID, "240p/seg_00007.m4s", EXPIRES_STR, sig, NOW, 0),
	        SIGNLINK_BAD);
	buf_free(&out);
}

static void test_media_playlist_keeps_map_attributes_and_takes_crlf(void)
{
	static const char in[] = "#EXTM3U\r\n#EXT-X-MAP:BYTERANGE=\"720@0\",URI=\"init_1.mp4\"\r\n\r\n"
	                         "#EXTINF:4.0,\r\nseg_00000.m4s";
	struct buf out = BUF_INIT;
	char want[1024], m[200], s0[200], err[128];

	CU_ASSERT_EQUAL_FATAL(playlist_sign_media(in, strlen(in), "360p", &signer, &out, err, sizeof(err)),
	                      0);
	signed_uri("init_1.mp4", "360p/init_1.mp4", m, sizeof(m));
	signed_uri("seg_00000.m4s", "360p/seg_00000.m4s", s0, sizeof(s0));
	snprintf(want, sizeof(want),
	         "#EXTM3U\n#EXT-X-MAP:BYTERANGE=\"720@0\",URI=\"%s\"\n\n#EXTINF:4.0,\n%s\n", m, s0);
	CU_ASSERT_STRING_EQUAL(out.data, want);
	buf_free(&out);
}

static void test_media_playlist_refuses_what_a_render_does_not_write(void)
{
	static const char *const bad[] = {
		"",
		"#EXTM3\nseg_00000.m4s\n",
		"\n#EXTM3U\nseg_00000.m4s\n",
		"#EXTM3U \nseg_00000.m4s\n",
		"#EXTM3U\n../seg_00000.m4s\n",
		"#EXTM3U\nhttps://example.com/seg_00000.m4s\n",
		"#EXTM3U\nseg_00000.m4s?x=1\n",
		"#EXTM3U\n/media/1/stream\n",
		"#EXTM3U\n index.m3u8\n",
		"#EXTM3U\n#EXT-X-MAP:URI=\"../init_0.mp4\"\n",
		"#EXTM3U\n#EXT-X-MAP:URI=\"init_0.mp4\n",
		"#EXTM3U\n#EXT-X-MAP:BYTERANGE=\"1,2\n",
		"#EXTM3U\n#EXT-X-MAP:BYTERANGE=\"1@0\"\n",
		"#EXTM3U\n#EXT-X-MAP:XURI=\"init_0.mp4\"\n",
		"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"\n",
		"#EXTM3U\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg_00001.m4s\"\n",
	};
	size_t i;

	for (i = 0; i < N_ELEMS(bad); i++) {
		struct buf out = BUF_INIT;
		char err[128] = "";

		int rc = playlist_sign_media(bad[i], strlen(bad[i]), "240p", &signer, &out, err, sizeof(err));

		if (rc != -1)
			fprintf(stderr, "\n  accepted \"%s\"", bad[i]);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_NOT_EQUAL(err[0], '\0');
		buf_free(&out);
	}
}

static void test_media_playlist_refuses_a_nul_byte(void)
{
	static const char in[] = "#EXTM3U\nseg_00000.m4s\0\n";
	struct buf out = BUF_INIT;
	char err[128];

	CU_ASSERT_EQUAL(playlist_sign_media(in, sizeof(in) - 1, "240p", &signer, &out, err, sizeof(err)), -1);
	buf_free(&out);
}

static void test_vtt_signs_each_cue_and_keeps_its_fragment(void)
{
	static const char in[] = "WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nstoryboard.jpg#xywh=0,0,160,90\n\n"
	                         "2\n00:00:05.000 --> 00:00:10.000\nstoryboard.jpg#xywh=160,0,160,90\n";
	struct buf out = BUF_INIT;
	char want[1024], u[200], err[128];

	CU_ASSERT_EQUAL_FATAL(
	        playlist_sign_vtt(in, strlen(in), "storyboard.jpg", &signer, &out, err, sizeof(err)), 0);
	signed_uri("storyboard.jpg", "storyboard.jpg", u, sizeof(u));
	snprintf(want, sizeof(want),
	         "WEBVTT\n\n00:00:00.000 --> 00:00:05.000\n%s#xywh=0,0,160,90\n\n"
	         "2\n00:00:05.000 --> 00:00:10.000\n%s#xywh=160,0,160,90\n",
	         u, u);
	CU_ASSERT_STRING_EQUAL(out.data, want);
	buf_free(&out);
}

static void test_vtt_keeps_a_bom_a_header_text_and_notes(void)
{
	static const char in[] = "\xEF\xBB\xBFWEBVTT - thumbnails\r\n\r\nNOTE made by mediad\r\n\r\n"
	                         "00:00.000 --> 00:05.000\r\nstoryboard.jpg\r\n";
	struct buf out = BUF_INIT;
	char want[1024], u[200], err[128];

	CU_ASSERT_EQUAL_FATAL(
	        playlist_sign_vtt(in, strlen(in), "storyboard.jpg", &signer, &out, err, sizeof(err)), 0);
	signed_uri("storyboard.jpg", "storyboard.jpg", u, sizeof(u));
	snprintf(want, sizeof(want),
	         "\xEF\xBB\xBFWEBVTT - thumbnails\n\nNOTE made by mediad\n\n00:00.000 --> 00:05.000\n%s\n",
	         u);
	CU_ASSERT_STRING_EQUAL(out.data, want);
	buf_free(&out);
}

static void test_vtt_refuses_what_a_render_does_not_write(void)
{
	static const char *const bad[] = {
		"",
		"WEBVT\n",
		"WEBVTTX\n",
		"\nWEBVTT\n",
		"WEBVTT\n\n00:00.000 --> 00:05.000\nother.jpg#xywh=0,0,1,1\n",
		"WEBVTT\n\n00:00.000 --> 00:05.000\nstoryboard.jpgx#xywh=0,0,1,1\n",
		"WEBVTT\n\n00:00.000 --> 00:05.000\nhttps://example.com/storyboard.jpg#xywh=0,0,1,1\n",
		"WEBVTT\n\n00:00.000 --> 00:05.000\nstoryboard.jpg#xywh=0,0,1,1\n../x.jpg\n",
	};
	size_t i;

	for (i = 0; i < N_ELEMS(bad); i++) {
		struct buf out = BUF_INIT;
		char err[128] = "";

		int rc = playlist_sign_vtt(bad[i], strlen(bad[i]), "storyboard.jpg", &signer, &out, err,
		                           sizeof(err));

		if (rc != -1)
			fprintf(stderr, "\n  accepted \"%s\"", bad[i]);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_NOT_EQUAL(err[0], '\0');
		buf_free(&out);
	}
}

static const struct unit_test tests[] = {
	{ "file names: init and segments only", test_file_names },
	{ "the master lists every variant with its attributes",
	  test_master_lists_every_variant_with_its_attributes },
	{ "the master refuses rows it cannot write safely", test_master_refuses_rows_it_cannot_write_safely },
	{ "a media playlist's every URI is signed for its path",
	  test_media_playlist_signs_every_uri_for_its_path },
	{ "a media playlist's signatures verify for their path only",
	  test_media_playlist_signatures_verify_for_their_path_only },
	{ "a media playlist keeps EXT-X-MAP attributes and takes CRLF",
	  test_media_playlist_keeps_map_attributes_and_takes_crlf },
	{ "a media playlist a render does not write is refused",
	  test_media_playlist_refuses_what_a_render_does_not_write },
	{ "a media playlist with a NUL byte is refused", test_media_playlist_refuses_a_nul_byte },
	{ "WebVTT: each cue signed, its fragment kept", test_vtt_signs_each_cue_and_keeps_its_fragment },
	{ "WebVTT: a BOM, a header text and notes are kept", test_vtt_keeps_a_bom_a_header_text_and_notes },
	{ "WebVTT a render does not write is refused", test_vtt_refuses_what_a_render_does_not_write },
};

UNIT_SUITES(UNIT_SUITE("playlist", suite_init, NULL, tests));
