/* test_renditions.c: the rendition presets (hls, poster, storyboard) through media-spawner with the
 * real ffmpeg: ladders of landscape, portrait, silent and audio-only sources read back from disk,
 * the media's status and renditions in the API, failures and cancels that leave nothing, and the
 * folders going with their media. The shared stack has auto_renditions off, so jobs are asked for
 * by preset; the automatic path has a stack of its own (tests/browser/run-hls.sh). */
#include "config.h"

#include <CUnit/Basic.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"
#include "rtest.h"

/* Extra fixtures of this program: a portrait clip with no audio, and one that is all black. */
static char portrait[PATH_MAX], black[PATH_MAX];

static int make_more_fixtures(void)
{
	const char *p[] = { "ffmpeg",    "-nostdin",  "-y",
		            "-loglevel", "error",     "-f",
		            "lavfi",     "-i",        "testsrc=size=360x640:rate=30",
		            "-t",        "5",         "-pix_fmt",
		            "yuv420p",   "-c:v",      "libx264",
		            "-preset",   "ultrafast", portrait,
		            NULL };
	const char *b[] = { "ffmpeg",    "-nostdin",  "-y",
		            "-loglevel", "error",     "-f",
		            "lavfi",     "-i",        "color=c=black:size=320x240:rate=25",
		            "-t",        "2",         "-pix_fmt",
		            "yuv420p",   "-c:v",      "libx264",
		            "-preset",   "ultrafast", black,
		            NULL };

	snprintf(portrait, sizeof(portrait), "%s/portrait.mp4", rt.fixtures);
	snprintf(black, sizeof(black), "%s/black.mp4", rt.fixtures);
	return itest_run(p) == 0 && itest_run(b) == 0 ? 0 : -1;
}

/*
 * Whether mediad can remove what the spawner writes. Under Apache as root the harness runs mediad
 * as the web user while this program's spawners run as root: mediad cannot remove a root-owned
 * folder (a file it could). A deployment runs both as one user (README); the lighttpd run, where
 * both are root, checks the removal.
 */
static bool mediad_can_remove_spawner_folders(void)
{
	struct stat st;

	return getuid() != 0 || stat(rt.media_root, &st) != 0 || st.st_uid == 0;
}

/* GET /media/id as user A (the asset's owner); fatal unless 200. */
static void get_media(long long id, struct itest_resp *r)
{
	char path[64];

	snprintf(path, sizeof(path), "/media/%lld", id);
	CU_ASSERT_EQUAL_FATAL(itest_json("GET", path, rt.tok_a, NULL, r), 0);
	CU_ASSERT_EQUAL_FATAL(r->status, 200);
}

/* A project holding fixture name; the asset's id into *asset. */
static long long project_with(const char *name, long long *asset)
{
	return rtest_project_with(name, asset, NULL, 0);
}

/* Enqueues preset on asset and runs it to the end with the real ffmpeg (spawner --once). */
static void render(long long pid, long long asset, const char *preset, const char *want_state,
                   char uuid[RTEST_UUID_LEN + 1], struct itest_resp *r)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"preset\":\"%s\",\"assetId\":%lld}", preset, asset);
	rtest_enqueue_ok(pid, body, uuid);
	CU_ASSERT_EQUAL(rtest_spawner_once(NULL, "1"), 0);
	rtest_expect_job(uuid, want_state, 10000, r);
}

/* The media's renditions of kind, in the API's order. */
static int renditions_of(struct json_object *media, const char *kind, struct json_object **out, int max)
{
	struct json_object *list = itest_member(media, "renditions");
	int n = 0;
	size_t i;

	for (i = 0; list != NULL && i < json_object_array_length(list); i++) {
		struct json_object *o = json_object_array_get_idx(list, i);

		if (strcmp(itest_member_str(o, "kind") ? itest_member_str(o, "kind") : "", kind) == 0 &&
		    n < max)
			out[n++] = o;
	}
	return n;
}

/* Reads MEDIA_ROOT/rel into buf (NUL-terminated). Returns its length, or -1. */
static long read_rel(const char *rel, char *buf, size_t len)
{
	char p[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", rt.media_root, rel);
	f = fopen(p, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (long)n;
}

/* The EXTINF durations of a variant playlist, joined ("4.000000,4.000000,1.000000,"), and checks
 * that every segment and the init segment exist beside it. */
static void variant_on_disk(const char *rel_playlist, char *durations, size_t dlen)
{
	char pl[65536], dir[PATH_MAX], p[PATH_MAX * 2];
	const char *line, *slash = strrchr(rel_playlist, '/');
	size_t o = 0;
	int segs = 0;
	struct stat st;

	durations[0] = '\0';
	CU_ASSERT_FATAL(read_rel(rel_playlist, pl, sizeof(pl)) > 0);
	CU_ASSERT_FATAL(slash != NULL);
	snprintf(dir, sizeof(dir), "%s/%.*s", rt.media_root, (int)(slash - rel_playlist), rel_playlist);
	CU_ASSERT_EQUAL(strncmp(pl, "#EXTM3U", 7), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(pl, "#EXT-X-ENDLIST"));
	CU_ASSERT_PTR_NOT_NULL(strstr(pl, "#EXT-X-PLAYLIST-TYPE:VOD"));
	CU_ASSERT_PTR_NOT_NULL(strstr(pl, "#EXT-X-MAP:URI=\"init_"));
	for (line = pl; line != NULL && *line != '\0';
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		size_t n = strcspn(line, "\n");

		if (strncmp(line, "#EXTINF:", 8) == 0 && o + n < dlen) {
			o += (size_t)snprintf(durations + o, dlen - o, "%.*s", (int)(n - 8), line + 8);
		} else if (line[0] != '#' && n > 0) {
			snprintf(p, sizeof(p), "%s/%.*s", dir, (int)n, line);
			CU_ASSERT_EQUAL(stat(p, &st), 0);
			CU_ASSERT_TRUE(st.st_size > 0);
			segs++;
		}
	}
	CU_ASSERT_TRUE(segs >= 1);
}

/* Asserts an hls rendition's attributes as the API shows them. */
static void check_variant(struct json_object *v, const char *name, int w, int h, bool audio, bool video)
{
	const char *codecs = itest_member_str(v, "codecs");
	char res[32];

	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "name"), name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(codecs);
	CU_ASSERT_EQUAL(strstr(codecs, "mp4a.40.2") != NULL, audio);
	CU_ASSERT_EQUAL(strstr(codecs, "avc1.") != NULL, video);
	CU_ASSERT_TRUE(itest_member_int(v, "bandwidth") >= itest_member_int(v, "bitrate"));
	CU_ASSERT_TRUE(itest_member_int(v, "bitrate") > 0);
	CU_ASSERT_TRUE(itest_member_int(v, "sizeBytes") > 0);
	if (video) {
		snprintf(res, sizeof(res), "%dx%d", w, h);
		CU_ASSERT_STRING_EQUAL(
		        itest_member_str(v, "resolution") ? itest_member_str(v, "resolution") : "", res);
		CU_ASSERT_TRUE(itest_member(v, "frameRate") != NULL && !itest_member_null(v, "frameRate"));
	} else {
		CU_ASSERT_TRUE(itest_member_null(v, "resolution"));
	}
}

static void test_hls_of_a_landscape_clip_is_two_aligned_rungs(void)
{
	char uuid[RTEST_UUID_LEN + 1], want[64], d240[256], d360[256];
	struct json_object *v[8];
	struct itest_resp r;
	long long asset, pid = project_with("clip.mp4", &asset);

	render(pid, asset, "hls", "completed", uuid, &r);
	snprintf(want, sizeof(want), "outputs/%s", uuid);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "result"), want);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "progress"), 100);
	CU_ASSERT_TRUE(itest_member_null(r.json, "outputMediaId"));
	itest_resp_free(&r);
	/* Only the final folder holds the job's id: the temp folder was renamed. */
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 1);
	get_media(asset, &r);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "ready");
	CU_ASSERT_EQUAL_FATAL(renditions_of(r.json, "hls", v, 8), 2);
	check_variant(v[0], "240p", 426, 240, true, true);
	check_variant(v[1], "360p", 640, 360, true, true);
	/* Segments cut at the same instants in every rung. */
	variant_on_disk(itest_member_str(v[0], "path"), d240, sizeof(d240));
	variant_on_disk(itest_member_str(v[1], "path"), d360, sizeof(d360));
	CU_ASSERT_STRING_EQUAL(d240, d360);
	itest_resp_free(&r);
	/* Its rows protect the folder from mediactl gc, however old. */
	{
		char dir[PATH_MAX], ctl[PATH_MAX];
		struct timespec ts[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
		const char *top = getenv("abs_top_builddir");
		const char *argv[] = { ctl, "gc", "--older-than", "1h", NULL };
		struct stat st;

		snprintf(dir, sizeof(dir), "%s/outputs/%s", rt.media_root, uuid);
		snprintf(ctl, sizeof(ctl), "%s/mediactl", top != NULL ? top : ".");
		CU_ASSERT_EQUAL(utimensat(AT_FDCWD, dir, ts, 0), 0);
		CU_ASSERT_EQUAL(itest_run(argv), 0);
		CU_ASSERT_EQUAL(stat(dir, &st), 0);
	}
}

static void test_a_portrait_clip_without_audio_gets_portrait_video_only_rungs(void)
{
	char uuid[RTEST_UUID_LEN + 1], d[256];
	struct json_object *v[8];
	struct itest_resp r;
	long long asset, pid = itest_new_project(rt.tok_a, "portrait", NULL);
	const char *name = strrchr(portrait, '/') + 1;

	CU_ASSERT_FATAL(pid > 0);
	asset = rtest_upload_asset(rt.tok_a, pid, name, NULL, 0);
	CU_ASSERT_FATAL(asset > 0);
	render(pid, asset, "hls", "completed", uuid, &r);
	itest_resp_free(&r);
	get_media(asset, &r);
	CU_ASSERT_EQUAL_FATAL(renditions_of(r.json, "hls", v, 8), 2);
	check_variant(v[0], "240p", 240, 426, false, true);
	check_variant(v[1], "360p", 360, 640, false, true);
	variant_on_disk(itest_member_str(v[1], "path"), d, sizeof(d));
	itest_resp_free(&r);
}

static void test_audio_gets_an_audio_only_hls(void)
{
	char uuid[RTEST_UUID_LEN + 1], d[256];
	struct json_object *v[8];
	struct itest_resp r;
	long long asset, pid = project_with("tone.wav", &asset);

	render(pid, asset, "hls", "completed", uuid, &r);
	itest_resp_free(&r);
	get_media(asset, &r);
	CU_ASSERT_EQUAL_FATAL(renditions_of(r.json, "hls", v, 8), 2);
	check_variant(v[0], "a64k", 0, 0, true, false);
	check_variant(v[1], "a128k", 0, 0, true, false);
	variant_on_disk(itest_member_str(v[0], "path"), d, sizeof(d));
	itest_resp_free(&r);
}

/* ffprobe's width and height of MEDIA_ROOT/rel (an image), or false. */
static bool image_size(const char *rel, int *w, int *h)
{
	char file[PATH_MAX + 300], out[4096];
	const char *argv[] = {
		"ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of",
		"csv=p=0", file, NULL
	};

	snprintf(file, sizeof(file), "%s/%s", rt.media_root, rel);
	if (itest_run_capture(argv, out, sizeof(out)) != 0)
		return false;
	return sscanf(out, "mjpeg,%d,%d", w, h) == 2;
}

/* GET /auth/me's storage.usedBytes for user A. */
static long long used_bytes(void)
{
	struct itest_resp r;
	long long n;

	CU_ASSERT_EQUAL_FATAL(itest_json("GET", "/auth/me", rt.tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	n = itest_member_int(itest_member(r.json, "storage"), "usedBytes");
	itest_resp_free(&r);
	return n;
}

static void test_the_poster_is_a_jpeg_even_of_a_black_clip(void)
{
	char uuid[RTEST_UUID_LEN + 1];
	struct json_object *v[2];
	struct itest_resp r;
	long long asset, pid = project_with("clip.mp4", &asset), pid2, asset2, before = used_bytes();
	int w = 0, h = 0;

	render(pid, asset, "poster", "completed", uuid, &r);
	itest_resp_free(&r);
	get_media(asset, &r);
	CU_ASSERT_EQUAL_FATAL(renditions_of(r.json, "poster", v, 2), 1);
	/* What the user stores counts the rendition (the quota and GET /auth/me). */
	CU_ASSERT_TRUE(itest_member_int(v[0], "sizeBytes") > 0);
	CU_ASSERT_EQUAL(used_bytes() - before, itest_member_int(v[0], "sizeBytes"));
	CU_ASSERT_TRUE(image_size(itest_member_str(v[0], "path"), &w, &h));
	CU_ASSERT_EQUAL(w, 640);
	CU_ASSERT_EQUAL(h, 360);
	itest_resp_free(&r);
	/* Every frame black: the black-frame filter finds none, the plain retry takes one anyway. */
	pid2 = itest_new_project(rt.tok_a, "black", NULL);
	asset2 = rtest_upload_asset(rt.tok_a, pid2, strrchr(black, '/') + 1, NULL, 0);
	CU_ASSERT_FATAL(asset2 > 0);
	render(pid2, asset2, "poster", "completed", uuid, &r);
	itest_resp_free(&r);
	get_media(asset2, &r);
	CU_ASSERT_EQUAL_FATAL(renditions_of(r.json, "poster", v, 2), 1);
	CU_ASSERT_TRUE(image_size(itest_member_str(v[0], "path"), &w, &h));
	CU_ASSERT_EQUAL(w, 320);
	itest_resp_free(&r);
}

/* GETs url (absolute, on the stack: only its path from "/media/" is sent); fatal unless 200. */
static void get_link(const char *url, struct itest_resp *r)
{
	const char *path = url != NULL ? strstr(url, "/media/") : NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL_FATAL(itest_request("GET", path, NULL, NULL, 0, r), 0);
	if (r->status != 200)
		fprintf(stderr, "test_renditions: GET %s: %ld %s\n", path, r->status, r->body ? r->body : "");
	CU_ASSERT_EQUAL_FATAL(r->status, 200);
}

/* The first line of text that is not a tag or blank, or the URI of its EXT-X-MAP when map; into
 * out. */
static void first_uri(const char *text, bool map, char *out, size_t len)
{
	const char *l;

	out[0] = '\0';
	for (l = text; l != NULL && *l != '\0'; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t n = strcspn(l, "\r\n");

		if (map && strncmp(l, "#EXT-X-MAP:URI=\"", 16) == 0) {
			snprintf(out, len, "%.*s", (int)strcspn(l + 16, "\""), l + 16);
			return;
		}
		if (!map && l[0] != '#' && n > 0) {
			snprintf(out, len, "%.*s", (int)n, l);
			return;
		}
	}
}

/* url with its last path segment (and query) replaced by rel, as a player resolves it. */
static void resolve(const char *url, const char *rel, char *out, size_t len)
{
	const char *q = strchr(url, '?'), *slash;
	size_t n = q != NULL ? (size_t)(q - url) : strlen(url);

	for (slash = url + n; slash > url && slash[-1] != '/'; slash--)
		;
	snprintf(out, len, "%.*s%s", (int)(slash - url), url, rel);
}

static void test_a_ladder_of_one_rung_plays_through_its_signed_links(void)
{
	char uuid[RTEST_UUID_LEN + 1], path[64], master[2048], variant[2048], uri[1024], url[4096];
	struct itest_resp r, m, v, f;
	long long pid = itest_new_project(rt.tok_a, "one rung", NULL), asset;

	CU_ASSERT_FATAL(pid > 0);
	asset = rtest_upload_asset(rt.tok_a, pid, strrchr(black, '/') + 1, NULL, 0);
	CU_ASSERT_FATAL(asset > 0);
	render(pid, asset, "hls", "completed", uuid, &r);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/media/%lld/stream-url", asset);
	CU_ASSERT_EQUAL_FATAL(itest_json("GET", path, rt.tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL_FATAL(itest_jstr(&r, "hlsUrl"));
	snprintf(master, sizeof(master), "%s", itest_jstr(&r, "hlsUrl"));
	itest_resp_free(&r);
	get_link(master, &m);
	first_uri(m.body, false, uri, sizeof(uri));
	CU_ASSERT_EQUAL(strncmp(uri, "240p/index.m3u8?", 16), 0);
	resolve(master, uri, variant, sizeof(variant));
	itest_resp_free(&m);
	get_link(variant, &v);
	/* ffmpeg names a lone variant's init segment init.mp4, not init_0.mp4. */
	first_uri(v.body, true, uri, sizeof(uri));
	CU_ASSERT_EQUAL(strncmp(uri, "init.mp4?", 9), 0);
	resolve(variant, uri, url, sizeof(url));
	get_link(url, &f);
	CU_ASSERT_TRUE(f.body_len > 0);
	itest_resp_free(&f);
	first_uri(v.body, false, uri, sizeof(uri));
	resolve(variant, uri, url, sizeof(url));
	itest_resp_free(&v);
	get_link(url, &f);
	CU_ASSERT_TRUE(f.body_len > 0);
	itest_resp_free(&f);
	/* Responders keep a master's rows for 2 s (hls.c): once the media is deleted, its master
	 * link stops answering within that bound. */
	snprintf(path, sizeof(path), "/media/%lld", asset);
	CU_ASSERT_EQUAL_FATAL(itest_json("DELETE", path, rt.tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 204);
	itest_resp_free(&r);
	{
		long long t0 = itest_now_ms(), t;
		const char *mpath = strstr(master, "/media/");
		int late_200 = 0, late_404 = 0;

		/* Every answer 2.6 s after the delete (the TTL and a margin) is a 404, in whichever
		 * responder takes it; before that, a 200 from a responder's copy is allowed. */
		while ((t = itest_now_ms() - t0) < 4000) {
			CU_ASSERT_EQUAL_FATAL(itest_request("GET", mpath, NULL, NULL, 0, &m), 0);
			CU_ASSERT_TRUE(m.status == 200 || m.status == 404);
			if (t > 2600) {
				late_200 += m.status == 200;
				late_404 += m.status == 404;
			}
			itest_resp_free(&m);
			usleep(20000);
		}
		CU_ASSERT_EQUAL(late_200, 0);
		CU_ASSERT_TRUE(late_404 > 10);
	}
}

static void test_the_storyboard_vtt_maps_every_second_inside_the_sprite(void)
{
	char uuid[RTEST_UUID_LEN + 1], vtt[8192], sprite[256];
	struct json_object *v[2];
	struct itest_resp r;
	long long asset, pid = project_with("clip.mp4", &asset);
	const char *path, *cue;
	int sw = 0, sh = 0, x, y, w, h, cues = 0;

	render(pid, asset, "storyboard", "completed", uuid, &r);
	itest_resp_free(&r);
	get_media(asset, &r);
	CU_ASSERT_EQUAL_FATAL(renditions_of(r.json, "storyboard", v, 2), 1);
	path = itest_member_str(v[0], "path");
	CU_ASSERT_FATAL(path != NULL && read_rel(path, vtt, sizeof(vtt)) > 0);
	CU_ASSERT_EQUAL(strncmp(vtt, "WEBVTT\n", 7), 0);
	snprintf(sprite, sizeof(sprite), "%.*s/storyboard.jpg", (int)(strrchr(path, '/') - path), path);
	CU_ASSERT_FATAL(image_size(sprite, &sw, &sh));
	for (cue = strstr(vtt, " --> "); cue != NULL; cue = strstr(cue + 1, " --> ")) {
		const char *xy = strstr(cue, "storyboard.jpg#xywh=");

		CU_ASSERT_FATAL(xy != NULL);
		CU_ASSERT_EQUAL_FATAL(sscanf(xy, "storyboard.jpg#xywh=%d,%d,%d,%d", &x, &y, &w, &h), 4);
		CU_ASSERT_TRUE(x >= 0 && y >= 0 && w == 160 && h > 0 && x + w <= sw && y + h <= sh);
		cues++;
	}
	CU_ASSERT_EQUAL(cues, 2); /* a 2 s clip: one thumbnail a second */
	itest_resp_free(&r);
}

static void test_a_failed_rendition_shows_on_the_media_until_a_new_one_succeeds(void)
{
	char uuid[RTEST_UUID_LEN + 1], body[128];
	struct itest_resp r;
	long long asset, pid = project_with("clip.mp4", &asset);
	const char *reason;

	/* Waiting: the media is processing. */
	snprintf(body, sizeof(body), "{\"preset\":\"hls\",\"assetId\":%lld}", asset);
	rtest_enqueue_ok(pid, body, uuid);
	get_media(asset, &r);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "processing");
	itest_resp_free(&r);
	/* ffmpeg refuses the input: failed at once, the reason on the media. */
	rtest_fake_mode("mode=fail\nlog=%s\n", rt.fake_log);
	CU_ASSERT_EQUAL(rtest_spawner_once(RTEST_FAKE_ENV(NULL), "1"), 0);
	rtest_expect_job(uuid, "failed", 5000, &r);
	itest_resp_free(&r);
	get_media(asset, &r);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "failed");
	reason = itest_jstr(&r, "statusReason");
	CU_ASSERT_TRUE(reason != NULL && strncmp(reason, "hls: ", 5) == 0);
	itest_resp_free(&r);
	/* Nothing of the failed run is left in outputs/. */
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 0);
	/* A new hls job with the real ffmpeg: ready again. */
	render(pid, asset, "hls", "completed", uuid, &r);
	itest_resp_free(&r);
	get_media(asset, &r);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "ready");
	CU_ASSERT_TRUE(itest_member_null(r.json, "statusReason"));
	itest_resp_free(&r);
}

static void test_a_cancelled_rendition_leaves_nothing(void)
{
	char uuid[RTEST_UUID_LEN + 1], body[128], path[64];
	struct itest_resp r;
	long long asset, pid = project_with("clip.mp4", &asset);
	int sp;

	snprintf(body, sizeof(body), "{\"preset\":\"poster\",\"assetId\":%lld}", asset);
	rtest_fake_mode("mode=hang\nlog=%s\n", rt.fake_log);
	rtest_enqueue_ok(pid, body, uuid);
	sp = rtest_spawner_start((const char *const[]){ "--concurrency", "1", NULL }, RTEST_FAKE_ENV(NULL));
	CU_ASSERT_FATAL(sp >= 0);
	CU_ASSERT_FATAL(rtest_wait_run_started(uuid, 10000));
	/* The fake, like ffmpeg, has created its output in the job's temp folder by now. */
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 1);
	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	CU_ASSERT_EQUAL_FATAL(itest_json("DELETE", path, rt.tok_a, NULL, &r), 0);
	CU_ASSERT_TRUE(r.status == 200 || r.status == 202 || r.status == 204);
	itest_resp_free(&r);
	rtest_expect_job(uuid, "cancelled", 10000, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 0);
	get_media(asset, &r);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "failed");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "statusReason") ? itest_jstr(&r, "statusReason") : "",
	                       "poster: cancelled");
	itest_resp_free(&r);
}

static void test_deleting_the_media_removes_its_rendition_folders(void)
{
	char uuid[RTEST_UUID_LEN + 1], path[64], dir[PATH_MAX];
	struct itest_resp r;
	long long asset, pid = project_with("clip.mp4", &asset);
	struct stat st;

	render(pid, asset, "poster", "completed", uuid, &r);
	itest_resp_free(&r);
	snprintf(dir, sizeof(dir), "%s/outputs/%s", rt.media_root, uuid);
	CU_ASSERT_EQUAL_FATAL(stat(dir, &st), 0);
	snprintf(path, sizeof(path), "/media/%lld", asset);
	CU_ASSERT_EQUAL_FATAL(itest_json("DELETE", path, rt.tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 204);
	itest_resp_free(&r);
	if (mediad_can_remove_spawner_folders())
		CU_ASSERT_NOT_EQUAL(stat(dir, &st), 0);
	CU_ASSERT_EQUAL(
	        rtest_sql_count("SELECT count(*) FROM media_renditions WHERE job_id = $1::uuid", uuid), 0);
}

static void test_an_older_job_finishing_last_does_not_replace_a_newer_ones_renditions(void)
{
	char older[RTEST_UUID_LEN + 1], newer[RTEST_UUID_LEN + 1], body[128];
	struct json_object *v[2];
	struct itest_resp r;
	long long asset, pid = project_with("clip.mp4", &asset);

	snprintf(body, sizeof(body), "{\"preset\":\"poster\",\"assetId\":%lld}", asset);
	rtest_enqueue_ok(pid, body, older);
	rtest_enqueue_ok(pid, body, newer);
	/* The older job waits while the newer one runs to the end; then the older one runs. */
	CU_ASSERT_EQUAL(
	        rtest_sql_count("WITH u AS (UPDATE render_jobs SET run_after = now() + interval '1 hour' "
	                        "WHERE id = $1::uuid RETURNING 1) SELECT count(*) FROM u",
	                        older),
	        1);
	CU_ASSERT_EQUAL(rtest_spawner_once(NULL, "1"), 0);
	rtest_expect_job(newer, "completed", 10000, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(
	        rtest_sql_count("WITH u AS (UPDATE render_jobs SET run_after = now() WHERE id = $1::uuid "
	                        "RETURNING 1) SELECT count(*) FROM u",
	                        older),
	        1);
	CU_ASSERT_EQUAL(rtest_spawner_once(NULL, "1"), 0);
	rtest_expect_job(older, "completed", 10000, &r);
	itest_resp_free(&r);
	get_media(asset, &r);
	CU_ASSERT_EQUAL_FATAL(renditions_of(r.json, "poster", v, 2), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(itest_member_str(v[0], "path"), newer));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_outputs_of(older), 0);
	CU_ASSERT_EQUAL(rtest_outputs_of(newer), 1);
}

static void test_deleting_the_project_removes_its_rendition_folders(void)
{
	char uuid[RTEST_UUID_LEN + 1], path[64];
	struct itest_resp r;
	long long asset, pid = project_with("clip.mp4", &asset);

	render(pid, asset, "poster", "completed", uuid, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 1);
	snprintf(path, sizeof(path), "/projects/%lld", pid);
	CU_ASSERT_EQUAL_FATAL(itest_json("DELETE", path, rt.tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 204);
	itest_resp_free(&r);
	if (mediad_can_remove_spawner_folders())
		CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 0);
}

/* POSTs /media/id/renditions with preset as tok; the status, and the job id into uuid on 202. */
static long ask_rendition(const char *tok, long long id, const char *preset, char uuid[RTEST_UUID_LEN + 1])
{
	char path[64], body[64];
	struct itest_resp r;
	long st;

	snprintf(path, sizeof(path), "/media/%lld/renditions", id);
	snprintf(body, sizeof(body), "{\"preset\":\"%s\"}", preset);
	CU_ASSERT_EQUAL_FATAL(itest_json("POST", path, tok, body, &r), 0);
	st = r.status;
	if (st == 202 && uuid != NULL)
		snprintf(uuid, RTEST_UUID_LEN + 1, "%s",
		         itest_jstr(&r, "jobId") ? itest_jstr(&r, "jobId") : "");
	itest_resp_free(&r);
	return st;
}

static void test_a_media_upload_gets_renditions_on_request_and_shows_their_jobs(void)
{
	char file[PATH_MAX], uuid[RTEST_UUID_LEN + 1];
	const struct itest_req q = {
		.method = "POST", .path = "/media", .token = rt.tok_a, .file = file, .field = "file"
	};
	struct json_object *jobs, *v[2];
	struct itest_resp r;
	long long id;

	snprintf(file, sizeof(file), "%s/clip.mp4", rt.fixtures);
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	id = itest_member_int(r.json, "id");
	/* The shared stack has auto_renditions off: ready, nothing queued. */
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "ready");
	jobs = itest_member(r.json, "renditionJobs");
	CU_ASSERT_TRUE(jobs != NULL && json_object_array_length(jobs) == 0);
	itest_resp_free(&r);
	/* Refusals: not a rendition preset, one that cannot take the media, another user's media. */
	CU_ASSERT_EQUAL(ask_rendition(rt.tok_a, id, "mp4", NULL), 400);
	CU_ASSERT_EQUAL(ask_rendition(rt.tok_a, id, "bogus", NULL), 400);
	CU_ASSERT_EQUAL(ask_rendition(rt.tok_b, id, "poster", NULL), 404);
	/* A poster: the job shows on the media at once, with its id, and the media is processing. */
	CU_ASSERT_EQUAL_FATAL(ask_rendition(rt.tok_a, id, "poster", uuid), 202);
	get_media(id, &r);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "processing");
	jobs = itest_member(r.json, "renditionJobs");
	CU_ASSERT_FATAL(jobs != NULL && json_object_array_length(jobs) == 1);
	CU_ASSERT_STRING_EQUAL(itest_member_str(json_object_array_get_idx(jobs, 0), "id"), uuid);
	CU_ASSERT_STRING_EQUAL(itest_member_str(json_object_array_get_idx(jobs, 0), "state"), "waiting");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_spawner_once(NULL, "1"), 0);
	rtest_expect_job(uuid, "completed", 10000, &r);
	CU_ASSERT_TRUE(itest_member_null(r.json, "projectId"));
	itest_resp_free(&r);
	get_media(id, &r);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "ready");
	CU_ASSERT_EQUAL(renditions_of(r.json, "poster", v, 2), 1);
	jobs = itest_member(r.json, "renditionJobs");
	CU_ASSERT_FATAL(jobs != NULL && json_object_array_length(jobs) == 1);
	CU_ASSERT_STRING_EQUAL(itest_member_str(json_object_array_get_idx(jobs, 0), "state"), "completed");
	CU_ASSERT_EQUAL(itest_member_int(json_object_array_get_idx(jobs, 0), "progress"), 100);
	itest_resp_free(&r);
	/* The list shows the same. */
	CU_ASSERT_EQUAL_FATAL(itest_json("GET", "/media?limit=1", rt.tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	{
		struct json_object *items = itest_member(r.json, "items");
		struct json_object *first = items != NULL ? json_object_array_get_idx(items, 0) : NULL;

		CU_ASSERT_FATAL(first != NULL);
		CU_ASSERT_EQUAL(itest_member_int(first, "id"), id);
		jobs = itest_member(first, "renditionJobs");
		CU_ASSERT_TRUE(jobs != NULL && json_object_array_length(jobs) == 1);
	}
	itest_resp_free(&r);
}

static void test_an_image_cannot_have_an_hls_rendition(void)
{
	char body[128];
	struct itest_resp r;
	long long asset, pid = project_with("still.png", &asset);

	snprintf(body, sizeof(body), "{\"preset\":\"hls\",\"assetId\":%lld}", asset);
	CU_ASSERT_EQUAL(rtest_enqueue(rt.tok_a, pid, body, NULL, &r), 400);
	CU_ASSERT_PTR_NOT_NULL(r.body != NULL ? strstr(r.body, "cannot render image") : NULL);
	itest_resp_free(&r);
}

/* The suite's clean-up: this program's own fixtures (rtest removes its own). */
static int remove_more_fixtures(void)
{
	unlink(portrait);
	unlink(black);
	return 0;
}

int main(void)
{
	CU_pSuite s;

	if (rtest_init("test_renditions") != 0 || make_more_fixtures() != 0)
		return 1;
	s = CU_add_suite_with_setup_and_teardown("renditions", NULL, remove_more_fixtures, rtest_test_setup,
	                                         rtest_test_teardown);
	CU_add_test(s, "two users register and log in", rtest_setup_users);
	CU_add_test(s, "hls of a landscape clip is two aligned rungs",
	            test_hls_of_a_landscape_clip_is_two_aligned_rungs);
	CU_add_test(s, "a portrait clip without audio gets portrait, video-only rungs",
	            test_a_portrait_clip_without_audio_gets_portrait_video_only_rungs);
	CU_add_test(s, "audio gets an audio-only HLS", test_audio_gets_an_audio_only_hls);
	CU_add_test(s, "the poster is a JPEG, even of a black clip",
	            test_the_poster_is_a_jpeg_even_of_a_black_clip);
	CU_add_test(s, "a ladder of one rung plays through its signed links",
	            test_a_ladder_of_one_rung_plays_through_its_signed_links);
	CU_add_test(s, "the storyboard VTT maps every second inside the sprite",
	            test_the_storyboard_vtt_maps_every_second_inside_the_sprite);
	CU_add_test(s, "a failed rendition shows on the media until a new one succeeds",
	            test_a_failed_rendition_shows_on_the_media_until_a_new_one_succeeds);
	CU_add_test(s, "a cancelled rendition leaves nothing", test_a_cancelled_rendition_leaves_nothing);
	CU_add_test(s, "deleting the media removes its rendition folders",
	            test_deleting_the_media_removes_its_rendition_folders);
	CU_add_test(s, "an older job finishing last does not replace a newer one's renditions",
	            test_an_older_job_finishing_last_does_not_replace_a_newer_ones_renditions);
	CU_add_test(s, "deleting the project removes its rendition folders",
	            test_deleting_the_project_removes_its_rendition_folders);
	CU_add_test(s, "a /media upload gets renditions on request and shows their jobs",
	            test_a_media_upload_gets_renditions_on_request_and_shows_their_jobs);
	CU_add_test(s, "an image cannot have an hls rendition", test_an_image_cannot_have_an_hls_rendition);
	return rtest_run_and_clean();
}
