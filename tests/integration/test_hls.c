/* test_hls.c: HLS playback, posters and storyboards through signed links (issue 14, "Playback"):
 * a package made by the real ffmpeg, recorded in media_renditions, served and played back. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/signlink.h"
#include "itest.h"

/* The fixture video: seconds, and what it is (the variants are scaled from it). */
#define SRC_SECONDS 6
#define SRC_W 640
#define SRC_H 360
/* stream_ttl when mediad.conf sets none (config.c's default). */
#define DEFAULT_TTL 600
/* The playlists' Cache-Control bound (hls.c). */
#define TEXT_MAX_AGE 10
/* Slack for the clock between this program and mediad. */
#define CLOCK_SLACK 5
#define PLAYER_ORIGIN "https://app.example.test"
/* Seconds a short master link lasts: below TEXT_MAX_AGE, so its answers' max-age shows the bound. */
#define SHORT_LINK 8
#define HLS_TYPE "application/vnd.apple.mpegurl"
#define VARIANTS 2

/* One variant as ffmpeg's own master playlist describes it, and what the row records. */
struct variant {
	char name[8];
	long long bandwidth, average, width, height, size;
	char codecs[65];
};

static char dir[256];    /* fixtures made by ffmpeg at test time */
static char src[300];    /* the video uploaded */
static char tok_a[4096]; /* owner of the media */
static unsigned char link_key[SIGNLINK_KEY_LEN];
static long long ttl = DEFAULT_TTL;
static PGconn *db;
static long long m_id;   /* the media with a package */
static long long m_bare; /* another media of A's, without renditions */
static char job[37];     /* the package's job uuid */
static char pkg_rel[64]; /* outputs/<job> */
static char pkg[1024];   /* MEDIA_ROOT/outputs/<job> */
static struct variant variants[VARIANTS];
static char master_rel[1024], poster_rel[1024], vtt_rel[1024]; /* the links, without the base URL */
static long long link_exp;                                     /* their expiry */

/* ---- helpers ------------------------------------------------------------------------------------ */

/* Whether the harness put name (lighttpd, apache-proxy, apache-fcgid) in front of mediad. */
static bool web_server_is(const char *name)
{
	const char *s = getenv("MEDIAD_WEB_SERVER");

	return strcmp(s != NULL ? s : "lighttpd", name) == 0;
}

static void path_in(char *out, size_t n, const char *base, const char *name)
{
	snprintf(out, n, "%s/%s", base, name);
}

/* The link key, made from the stream_key line of the harness's mediad.conf as mediad makes it, and
 * stream_ttl if it sets one. */
static int read_config(void)
{
	const char *path = getenv("MEDIAD_CONFIG");
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[512], hex[256] = "";
	long long v;

	if (f == NULL) {
		fprintf(stderr, "test_hls: cannot read MEDIAD_CONFIG\n");
		return -1;
	}
	/* A later line wins, as in mediad's own parser. */
	while (fgets(line, sizeof(line), f) != NULL) {
		(void)sscanf(line, "stream_key = %255s", hex);
		if (sscanf(line, "stream_ttl = %lld", &v) == 1)
			ttl = v;
	}
	fclose(f);
	if (hex[0] == '\0' || signlink_key_from_setting(hex, link_key) != 0) {
		fprintf(stderr, "test_hls: no stream_key in %s\n", path);
		return -1;
	}
	return 0;
}

static long long query_expires(const char *rel)
{
	char v[32];

	return itest_query_param(rel, "expires", v, sizeof(v)) ? strtoll(v, NULL, 10) : -1;
}

/* uri, relative to the document at rel (a path and query without the base URL), into out. */
static void resolve(const char *rel, const char *uri, char *out, size_t n)
{
	size_t q = strcspn(rel, "?"), slash = q;

	while (slash > 0 && rel[slash - 1] != '/')
		slash--;
	snprintf(out, n, "%.*s%s", (int)slash, rel, uri);
}

/* Sends method rel with one optional extra header line. */
static int fetch(const char *method, const char *rel, const char *header, struct itest_resp *r)
{
	const char *h[] = { header, NULL };

	return itest_request(method, rel, header ? h : NULL, NULL, 0, r);
}

/* "/media/<id>/<tail>?expires=<e>&sig=<path-bound signature of path>" into out. */
static void path_link(char *out, size_t n, long long id, const char *tail, const char *path, long long e)
{
	char sig[SIGNLINK_SIG_SIZE];

	CU_ASSERT_FATAL(signlink_sign_path(link_key, id, e, path, sig, sizeof(sig)) == 0);
	snprintf(out, n, "/media/%lld/%s?expires=%lld&sig=%s", id, tail, e, sig);
}

/* The Cache-Control max-age of r, or -1. */
static long long max_age(const struct itest_resp *r, char *cc, size_t n)
{
	const char *p;

	if (!itest_header(r, "Cache-Control", cc, n))
		return -1;
	p = strstr(cc, "max-age=");
	return p != NULL ? strtoll(p + 8, NULL, 10) : -1;
}

/* Whether r's body is exactly the file at path. */
static bool body_is_file(const struct itest_resp *r, const char *path)
{
	size_t len;
	unsigned char *want = itest_slurp(path, &len);
	bool same = want != NULL && r->body_len == len && memcmp(r->body, want, len) == 0;

	free(want);
	return same;
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* POST /media with file as tok. Returns the id, or -1. */
static long long upload(const char *tok, const char *file)
{
	const struct itest_req q = { .method = "POST", .path = "/media", .token = tok, .file = file };
	struct itest_resp r;
	long long id = -1;

	(void)itest_send(&q, &r);
	if (r.status == 201)
		id = json_object_get_int64(itest_member(r.json, "id"));
	else
		fprintf(stderr, "\n  POST /media %s -> %ld %s\n", file, r.status, r.body ? r.body : "");
	itest_resp_free(&r);
	return id;
}

/* GET /media/:id/stream-url as A into r (the caller frees it). */
static void stream_url(long long id, struct itest_resp *r)
{
	char path[64];

	snprintf(path, sizeof(path), "/media/%lld/stream-url", id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, r) == 0);
}

/* A member of the stream-url answer as a link relative to the base URL, into out; false if absent. */
static bool link_member(const struct itest_resp *r, const char *key, char *out, size_t n)
{
	const char *url = itest_jstr(r, key), *base = itest_base();

	if (url == NULL || strncmp(url, base, strlen(base)) != 0)
		return false;
	snprintf(out, n, "%s", url + strlen(base));
	return true;
}

/* Runs argv quietly; on failure prints the command. Returns its exit code. */
static int run(const char *const argv[])
{
	int rc = itest_run(argv);

	if (rc != 0) {
		fprintf(stderr, "\n  exit %d:", rc);
		for (int i = 0; argv[i] != NULL; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n");
	}
	return rc;
}

/* The non-empty lines of text (NUL-terminated, cut in place at each LF) into lines, at most max;
 * returns how many. */
static int split_lines(char *text, char **lines, int max)
{
	char *p = text;
	int n = 0;

	while (*p != '\0' && n < max) {
		size_t len = strcspn(p, "\n");
		bool more = p[len] == '\n';

		p[len] = '\0';
		if (len > 0)
			lines[n++] = p;
		p += len + (more ? 1 : 0);
	}
	return n;
}

/* The value of attribute name in an attribute list ("A=1,B=\"x,y\""), quotes dropped, into out. */
static bool attr(const char *list, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	const char *p = list;

	while (*p != '\0') {
		const char *v = p + nl + 1;
		size_t len;

		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			if (*v == '"')
				len = strcspn(v + 1, "\"");
			else
				len = strcspn(v, ",");
			snprintf(out, n, "%.*s", (int)len, *v == '"' ? v + 1 : v);
			return true;
		}
		/* The next attribute: past a quoted value's commas. */
		while (*p != '\0' && *p != ',') {
			if (*p == '"') {
				p = strchr(p + 1, '"');
				if (p == NULL)
					return false;
			}
			p++;
		}
		if (*p == ',')
			p++;
	}
	return false;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void uuid4(char out[37])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- the media and the package ------------------------------------------------------------------ */

static void test_setup_users_and_media(void)
{
	itest_login(tok_a, sizeof(tok_a), NULL, 0, "hls-a");
	m_id = upload(tok_a, src);
	m_bare = upload(tok_a, src);
	CU_ASSERT_FATAL(m_id > 0 && m_bare > 0);
}

static void test_stream_url_without_renditions_has_no_playback_links(void)
{
	struct itest_resp r;

	stream_url(m_id, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "url"));
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "expiresAt"));
	CU_ASSERT_PTR_NULL(itest_member(r.json, "hlsUrl"));
	CU_ASSERT_PTR_NULL(itest_member(r.json, "posterUrl"));
	CU_ASSERT_PTR_NULL(itest_member(r.json, "storyboardUrl"));
	itest_resp_free(&r);
}

static void test_media_json_without_renditions_has_an_empty_array(void)
{
	struct itest_resp r;
	char path[64];
	struct json_object *a;

	snprintf(path, sizeof(path), "/media/%lld", m_id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	a = itest_member(r.json, "renditions");
	CU_ASSERT_TRUE(a != NULL && json_object_is_type(a, json_type_array) &&
	               json_object_array_length(a) == 0);
	itest_resp_free(&r);
}

/* Reads ffmpeg's own master.m3u8 for each variant's BANDWIDTH, RESOLUTION and CODECS. */
static int read_ffmpeg_master(void)
{
	char path[1100], *lines[64];
	size_t len;
	char *text;
	int n, i, k = 0;

	path_in(path, sizeof(path), pkg, "master.m3u8");
	text = (char *)itest_slurp(path, &len);
	if (text == NULL)
		return -1;
	text = realloc(text, len + 1);
	if (text == NULL)
		return -1;
	text[len] = '\0';
	n = split_lines(text, lines, 64);
	for (i = 0; i + 1 < n && k < VARIANTS; i++) {
		struct variant *v = &variants[k];
		const char *list;
		char val[128];

		if (strncmp(lines[i], "#EXT-X-STREAM-INF:", 18) != 0)
			continue;
		list = lines[i] + 18;
		if (!attr(list, "BANDWIDTH", val, sizeof(val)))
			break;
		v->bandwidth = strtoll(val, NULL, 10);
		if (!attr(list, "RESOLUTION", val, sizeof(val)) || strchr(val, 'x') == NULL)
			break;
		v->width = strtoll(val, NULL, 10);
		v->height = strtoll(strchr(val, 'x') + 1, NULL, 10);
		if (!attr(list, "CODECS", v->codecs, sizeof(v->codecs)))
			break;
		snprintf(v->name, sizeof(v->name), "%.*s", (int)strcspn(lines[i + 1], "/"), lines[i + 1]);
		k++;
	}
	free(text);
	return k == VARIANTS ? 0 : -1;
}

/* Sum of the sizes of the files in the variant's folder; fills its average bit rate. */
static void measure(struct variant *v)
{
	static const char *const files[] = { "index.m3u8",    "init_0.mp4",    "init_1.mp4",
		                             "seg_00000.m4s", "seg_00001.m4s", "seg_00002.m4s" };
	char p[1200];

	v->size = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.1000s/%.16s/%.32s", pkg, v->name, files[i]);
		if (file_size(p) > 0)
			v->size += file_size(p);
	}
	v->average = v->size * 8 / SRC_SECONDS;
}

/* Inserts one media_renditions row of the package; NULL values are SQL NULL. */
static int insert_row(const char *kind, const char *name, const char *path, const char *w, const char *h,
                      const char *bw, const char *avg, const char *codecs, const char *fps, long long size)
{
	char id[24], sz[24];
	const char *v[13];
	PGresult *r;
	int ok;

	snprintf(id, sizeof(id), "%lld", m_id);
	snprintf(sz, sizeof(sz), "%lld", size);
	v[0] = id, v[1] = job, v[2] = kind, v[3] = name, v[4] = pkg_rel, v[5] = path, v[6] = w, v[7] = h;
	v[8] = bw, v[9] = avg, v[10] = codecs, v[11] = fps, v[12] = sz;
	r = PQexecParams(
	        db,
	        "INSERT INTO media_renditions (media_id, job_id, kind, name, dir, path, width, height, "
	        "bandwidth, average_bandwidth, codecs, frame_rate, size_bytes) "
	        "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
	        13, NULL, v, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "\n  insert %s %s: %s", kind, name, PQerrorMessage(db));
	PQclear(r);
	return ok ? 0 : -1;
}

/* The package as a render writes it (schema/007): two fMP4 variants by the real ffmpeg in the
 * command shape of the hls preset, a poster, a storyboard sprite and its WebVTT, and their rows. */
static void test_package_is_made_and_recorded(void)
{
	char stored[1200], out_index[1200], out_seg[1200], poster[1200], sprite[1200], vtt[1200];
	char w[24], h[24], bw[24], avg[24];
	struct itest_resp r;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/media/%lld", m_id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_FATAL(r.status == 200 && itest_jstr(&r, "path") != NULL);
	snprintf(stored, sizeof(stored), "%s/%s", getenv("MEDIA_ROOT"), itest_jstr(&r, "path"));
	itest_resp_free(&r);

	uuid4(job);
	snprintf(pkg_rel, sizeof(pkg_rel), "outputs/%s", job);
	snprintf(pkg, sizeof(pkg), "%s/%s", getenv("MEDIA_ROOT"), pkg_rel);
	CU_ASSERT_FATAL(mkdir(pkg, 0755) == 0);
	path_in(out_index, sizeof(out_index), pkg, "%v/index.m3u8");
	path_in(out_seg, sizeof(out_seg), pkg, "%v/seg_%05d.m4s");
	path_in(poster, sizeof(poster), pkg, "poster.jpg");
	path_in(sprite, sizeof(sprite), pkg, "storyboard.jpg");
	path_in(vtt, sizeof(vtt), pkg, "storyboard.vtt");
	{
		const char *hls[] = {
			"ffmpeg",
			"-nostdin",
			"-y",
			"-loglevel",
			"error",
			"-i",
			stored,
			"-filter_complex",
			"[0:v:0]split=2[s0][s1];"
			"[s0]scale=w=426:h=240:force_original_aspect_ratio=decrease:force_divisible_by=2[v0];"
			"[s1]scale=w=640:h=360:force_original_aspect_ratio=decrease:force_divisible_by=2[v1]",
			"-map",
			"[v0]",
			"-map",
			"0:a:0",
			"-map",
			"[v1]",
			"-map",
			"0:a:0",
			"-c:v",
			"libx264",
			"-preset",
			"veryfast",
			"-b:v:0",
			"400k",
			"-b:v:1",
			"800k",
			"-force_key_frames",
			"expr:gte(t,n_forced*2)",
			"-sc_threshold",
			"0",
			"-c:a",
			"aac",
			"-b:a",
			"64k",
			"-f",
			"hls",
			"-hls_time",
			"4",
			"-hls_playlist_type",
			"vod",
			"-hls_flags",
			"independent_segments",
			"-hls_segment_type",
			"fmp4",
			"-hls_fmp4_init_filename",
			"init.mp4",
			"-hls_segment_filename",
			out_seg,
			"-master_pl_name",
			"master.m3u8",
			"-var_stream_map",
			"v:0,a:0,name:240p v:1,a:1,name:360p",
			out_index,
			NULL
		};
		const char *pst[] = { "ffmpeg", "-nostdin", "-y",        "-loglevel", "error", "-ss", "1",
			              "-i",     stored,     "-frames:v", "1",         poster,  NULL };
		const char *spr[] = { "ffmpeg",    "-nostdin", "-y",
			              "-loglevel", "error",    "-i",
			              stored,      "-vf",      "fps=1/2,scale=160:90,tile=3x1",
			              "-frames:v", "1",        sprite,
			              NULL };

		CU_ASSERT_FATAL(run(hls) == 0 && run(pst) == 0 && run(spr) == 0);
	}
	f = fopen(vtt, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n\n"
	           "00:00:02.000 --> 00:00:04.000\nstoryboard.jpg#xywh=160,0,160,90\n\n"
	           "00:00:04.000 --> 00:00:06.000\nstoryboard.jpg#xywh=320,0,160,90\n");
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_FATAL(read_ffmpeg_master() == 0);
	for (int i = 0; i < VARIANTS; i++) {
		char rel[32];

		measure(&variants[i]);
		snprintf(rel, sizeof(rel), "%.16s/index.m3u8", variants[i].name);
		snprintf(w, sizeof(w), "%lld", variants[i].width);
		snprintf(h, sizeof(h), "%lld", variants[i].height);
		snprintf(bw, sizeof(bw), "%lld", variants[i].bandwidth);
		snprintf(avg, sizeof(avg), "%lld", variants[i].average);
		CU_ASSERT_FATAL(insert_row("hls", variants[i].name, rel, w, h, bw, avg, variants[i].codecs,
		                           "25.000", variants[i].size) == 0);
	}
	snprintf(w, sizeof(w), "%d", SRC_W);
	snprintf(h, sizeof(h), "%d", SRC_H);
	CU_ASSERT_FATAL(insert_row("poster", "poster", "poster.jpg", w, h, NULL, NULL, NULL, NULL,
	                           file_size(poster)) == 0);
	CU_ASSERT_FATAL(insert_row("storyboard", "storyboard", "storyboard.vtt", "160", "90", NULL, NULL,
	                           NULL, NULL, file_size(vtt) + file_size(sprite)) == 0);
}

/* ---- links and media JSON ----------------------------------------------------------------------- */

static void test_stream_url_has_the_playback_links(void)
{
	char url_rel[1024], want[256], sig[64], s2[64];
	struct itest_resp r;

	stream_url(m_id, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	CU_ASSERT_FATAL(link_member(&r, "url", url_rel, sizeof(url_rel)));
	CU_ASSERT_FATAL(link_member(&r, "hlsUrl", master_rel, sizeof(master_rel)));
	CU_ASSERT_FATAL(link_member(&r, "posterUrl", poster_rel, sizeof(poster_rel)));
	CU_ASSERT_FATAL(link_member(&r, "storyboardUrl", vtt_rel, sizeof(vtt_rel)));
	itest_resp_free(&r);
	/* The same expiry and signature as the file's link. */
	link_exp = query_expires(url_rel);
	CU_ASSERT_FATAL(itest_query_param(url_rel, "sig", sig, sizeof(sig)));
	snprintf(want, sizeof(want), "/media/%lld/hls/master.m3u8?expires=%lld&sig=%s", m_id, link_exp, sig);
	CU_ASSERT_STRING_EQUAL(master_rel, want);
	snprintf(want, sizeof(want), "/media/%lld/poster.jpg?expires=%lld&sig=%s", m_id, link_exp, sig);
	CU_ASSERT_STRING_EQUAL(poster_rel, want);
	snprintf(want, sizeof(want), "/media/%lld/storyboard.vtt?expires=%lld&sig=%s", m_id, link_exp, sig);
	CU_ASSERT_STRING_EQUAL(vtt_rel, want);
	CU_ASSERT(itest_query_param(vtt_rel, "sig", s2, sizeof(s2)) && strcmp(s2, sig) == 0);
	/* A media without renditions still has none. */
	stream_url(m_bare, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "url"));
	CU_ASSERT_PTR_NULL(itest_member(r.json, "hlsUrl"));
	CU_ASSERT_PTR_NULL(itest_member(r.json, "posterUrl"));
	CU_ASSERT_PTR_NULL(itest_member(r.json, "storyboardUrl"));
	itest_resp_free(&r);
}

/* The rendition of kind and name in a media object's renditions, or NULL. */
static struct json_object *rendition_of(struct json_object *media, const char *kind, const char *name)
{
	struct json_object *a = itest_member(media, "renditions");

	for (size_t i = 0; a != NULL && i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		const char *k = itest_member_str(o, "kind"), *n = itest_member_str(o, "name");

		if (k != NULL && n != NULL && strcmp(k, kind) == 0 && strcmp(n, name) == 0)
			return o;
	}
	return NULL;
}

/* Checks a media object's renditions: the package's four, each with every member. */
static void check_renditions(struct json_object *media)
{
	struct json_object *a = itest_member(media, "renditions"), *o;
	char want[128];

	CU_ASSERT_FATAL(a != NULL && json_object_is_type(a, json_type_array));
	CU_ASSERT_EQUAL(json_object_array_length(a), VARIANTS + 2);
	for (int i = 0; i < VARIANTS; i++) {
		const struct variant *v = &variants[i];

		o = rendition_of(media, "hls", v->name);
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		snprintf(want, sizeof(want), "%lldx%lld", v->width, v->height);
		CU_ASSERT_STRING_EQUAL(itest_member_str(o, "resolution"), want);
		CU_ASSERT_EQUAL(itest_member_int(o, "width"), v->width);
		CU_ASSERT_EQUAL(itest_member_int(o, "height"), v->height);
		CU_ASSERT_EQUAL(itest_member_int(o, "bitrate"), v->average);
		CU_ASSERT_EQUAL(itest_member_int(o, "bandwidth"), v->bandwidth);
		CU_ASSERT_STRING_EQUAL(itest_member_str(o, "codecs"), v->codecs);
		CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_member(o, "frameRate")), 25.0, 0.0001);
		snprintf(want, sizeof(want), "%.80s/%.16s/index.m3u8", pkg_rel, v->name);
		CU_ASSERT_STRING_EQUAL(itest_member_str(o, "path"), want);
		CU_ASSERT_EQUAL(itest_member_int(o, "sizeBytes"), v->size);
	}
	o = rendition_of(media, "poster", "poster");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	snprintf(want, sizeof(want), "%s/poster.jpg", pkg_rel);
	CU_ASSERT_STRING_EQUAL(itest_member_str(o, "path"), want);
	CU_ASSERT_STRING_EQUAL(itest_member_str(o, "resolution"), "640x360");
	/* What a poster has not is null, not missing. */
	CU_ASSERT_TRUE(itest_member_null(o, "bitrate") && itest_member_null(o, "bandwidth"));
	CU_ASSERT_TRUE(itest_member_null(o, "codecs") && itest_member_null(o, "frameRate"));
	o = rendition_of(media, "storyboard", "storyboard");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	snprintf(want, sizeof(want), "%s/storyboard.vtt", pkg_rel);
	CU_ASSERT_STRING_EQUAL(itest_member_str(o, "path"), want);
}

static void test_media_json_lists_the_renditions(void)
{
	struct itest_resp r;
	struct json_object *items, *bare = NULL, *with = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/media/%lld", m_id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	check_renditions(r.json);
	itest_resp_free(&r);
	/* The list: one statement for the page, each item with its own. */
	CU_ASSERT_FATAL(itest_json("GET", "/media?limit=200", tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	items = itest_member(r.json, "items");
	for (size_t i = 0; items != NULL && i < json_object_array_length(items); i++) {
		struct json_object *o = json_object_array_get_idx(items, i);

		if (itest_member_int(o, "id") == m_id)
			with = o;
		else if (itest_member_int(o, "id") == m_bare)
			bare = o;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(with);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bare);
	check_renditions(with);
	CU_ASSERT_EQUAL(json_object_array_length(itest_member(bare, "renditions")), 0);
	itest_resp_free(&r);
}

/* ---- the master, the variants, the segments ----------------------------------------------------- */

/* GET rel as a playlist: 200, its type, a short private cache. Returns the body's copy (free it). */
static char *get_text(const char *rel, const char *type)
{
	struct itest_resp r;
	char ct[128], cc[128];
	char *text = NULL;
	long long age;

	CU_ASSERT_FATAL(fetch("GET", rel, NULL, &r) == 0);
	if (r.status != 200)
		fprintf(stderr, "\n  GET %s -> %ld %s\n", rel, r.status, r.body ? r.body : "");
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Type", ct, sizeof(ct)) && strcmp(ct, type) == 0);
	age = max_age(&r, cc, sizeof(cc));
	CU_ASSERT_TRUE(strncmp(cc, "private", 7) == 0);
	CU_ASSERT_TRUE(age >= 0 && age <= TEXT_MAX_AGE);
	if (r.status == 200 && r.body != NULL)
		text = strdup(r.body);
	itest_resp_free(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	return text;
}

static void test_master_lists_both_variants_by_bandwidth(void)
{
	char *text = get_text(master_rel, HLS_TYPE), *lines[32], val[128], want[64];
	int n = split_lines(text, lines, 32), seen = 0;
	long long last_bw = 0;

	CU_ASSERT_FATAL(n >= 3 + 2 * VARIANTS);
	CU_ASSERT_STRING_EQUAL(lines[0], "#EXTM3U");
	CU_ASSERT_STRING_EQUAL(lines[1], "#EXT-X-VERSION:7");
	CU_ASSERT_STRING_EQUAL(lines[2], "#EXT-X-INDEPENDENT-SEGMENTS");
	for (int i = 3; i + 1 < n; i++) {
		const struct variant *v = NULL;
		const char *list;
		char sig[64];

		if (strncmp(lines[i], "#EXT-X-STREAM-INF:", 18) != 0)
			continue;
		list = lines[i] + 18;
		CU_ASSERT_FATAL(attr(list, "BANDWIDTH", val, sizeof(val)));
		for (int k = 0; k < VARIANTS; k++)
			if (variants[k].bandwidth == strtoll(val, NULL, 10))
				v = &variants[k];
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_TRUE(v->bandwidth > last_bw);
		last_bw = v->bandwidth;
		CU_ASSERT_TRUE(attr(list, "AVERAGE-BANDWIDTH", val, sizeof(val)) &&
		               strtoll(val, NULL, 10) == v->average);
		snprintf(want, sizeof(want), "%lldx%lld", v->width, v->height);
		CU_ASSERT_TRUE(attr(list, "RESOLUTION", val, sizeof(val)) && strcmp(val, want) == 0);
		CU_ASSERT_TRUE(attr(list, "CODECS", val, sizeof(val)) && strcmp(val, v->codecs) == 0);
		CU_ASSERT_TRUE(attr(list, "FRAME-RATE", val, sizeof(val)) && strcmp(val, "25.000") == 0);
		/* The URI: relative, with the master's expiry and its own signature. */
		snprintf(want, sizeof(want), "%s/index.m3u8?expires=%lld&sig=", v->name, link_exp);
		CU_ASSERT_EQUAL(strncmp(lines[i + 1], want, strlen(want)), 0);
		CU_ASSERT_TRUE(itest_query_param(lines[i + 1], "sig", sig, sizeof(sig)));
		CU_ASSERT_TRUE(itest_query_param(lines[i + 1], "expires", val, sizeof(val)));
		snprintf(want, sizeof(want), "%s/index.m3u8", v->name);
		CU_ASSERT_EQUAL(signlink_verify_path(link_key, m_id, want, val, sig, (int64_t)time(NULL), 0),
		                SIGNLINK_OK);
		/* Signed for its own path only. */
		CU_ASSERT_EQUAL(signlink_verify_path(link_key, m_id, "720p/index.m3u8", val, sig,
		                                     (int64_t)time(NULL), 0),
		                SIGNLINK_BAD);
		seen++;
	}
	CU_ASSERT_EQUAL(seen, VARIANTS);
	free(text);
}

/*
 * Fetches each variant playlist from the master, and from each every URI: each is signed (for its
 * own path, expiring stream_ttl from now) and answers the file's bytes as video/mp4 with a private,
 * immutable cache until its expiry. uri_out, when not NULL, receives the first segment's link.
 */
static void walk_variants(char *seg_out, size_t seg_n, char *init_out, size_t init_n)
{
	char *master = get_text(master_rel, HLS_TYPE), *mlines[32];
	int mn = split_lines(master, mlines, 32), variants_seen = 0;

	for (int i = 0; i < mn; i++) {
		char var_rel[1024], name[16], *text, *lines[256];
		long long before = (long long)time(NULL);
		int n, uris = 0;

		if (mlines[i][0] == '#')
			continue;
		resolve(master_rel, mlines[i], var_rel, sizeof(var_rel));
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(mlines[i], "/"), mlines[i]);
		text = get_text(var_rel, HLS_TYPE);
		n = split_lines(text, lines, 256);
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_STRING_EQUAL(lines[0], "#EXTM3U");
		for (int k = 1; k < n; k++) {
			char uri[512], file[64], seg_rel[1024], disk[1200], cc[128], ct[64], sig[64],
			        signed_path[96];
			long long e, age;
			struct itest_resp r;
			const char *q;

			if (strncmp(lines[k], "#EXT-X-MAP:URI=\"", 16) == 0) {
				snprintf(uri, sizeof(uri), "%.*s", (int)strcspn(lines[k] + 16, "\""),
				         lines[k] + 16);
			} else if (lines[k][0] != '#') {
				snprintf(uri, sizeof(uri), "%s", lines[k]);
			} else {
				/* No other tag carries a URI. */
				CU_ASSERT_PTR_NULL(strstr(lines[k], "URI="));
				continue;
			}
			uris++;
			q = strchr(uri, '?');
			CU_ASSERT_PTR_NOT_NULL_FATAL(q);
			snprintf(file, sizeof(file), "%.*s", (int)(q - uri), uri);
			CU_ASSERT_TRUE(itest_matches(file, "^(init_[0-9]{1,2}\\.mp4|seg_[0-9]{5}\\.m4s)$"));
			e = query_expires(uri);
			CU_ASSERT_TRUE(e >= before + ttl - CLOCK_SLACK &&
			               e <= (long long)time(NULL) + ttl + CLOCK_SLACK);
			CU_ASSERT_TRUE(itest_query_param(uri, "sig", sig, sizeof(sig)));
			snprintf(signed_path, sizeof(signed_path), "%s/%s", name, file);
			{
				char es[24];

				snprintf(es, sizeof(es), "%lld", e);
				CU_ASSERT_EQUAL(signlink_verify_path(link_key, m_id, signed_path, es, sig,
				                                     (int64_t)time(NULL), 0),
				                SIGNLINK_OK);
			}
			resolve(var_rel, uri, seg_rel, sizeof(seg_rel));
			CU_ASSERT_FATAL(fetch("GET", seg_rel, NULL, &r) == 0);
			CU_ASSERT_EQUAL(r.status, 200);
			CU_ASSERT_TRUE(itest_header(&r, "Content-Type", ct, sizeof(ct)) &&
			               strcmp(ct, "video/mp4") == 0);
			age = max_age(&r, cc, sizeof(cc));
			CU_ASSERT_TRUE(strncmp(cc, "private", 7) == 0 && strstr(cc, "immutable") != NULL);
			CU_ASSERT_TRUE(age > 0 && age <= ttl);
			snprintf(disk, sizeof(disk), "%s/%s/%s", pkg, name, file);
			CU_ASSERT_TRUE(r.body_len > 0 && body_is_file(&r, disk));
			itest_resp_free(&r);
			if (file[0] == 's' && seg_out != NULL && seg_out[0] == '\0')
				snprintf(seg_out, seg_n, "%s", seg_rel);
			if (file[0] == 'i' && init_out != NULL && init_out[0] == '\0')
				snprintf(init_out, init_n, "%s", seg_rel);
		}
		/* The init segment and at least the two segments of 6 s in 4 s pieces. */
		CU_ASSERT_TRUE(uris >= 3);
		free(text);
		variants_seen++;
	}
	CU_ASSERT_EQUAL(variants_seen, VARIANTS);
	free(master);
}

static char seg_rel[1024], init_rel[1024]; /* a segment's and an init segment's links, signed by mediad */

static void test_variant_playlists_sign_every_uri_and_serve_every_segment(void)
{
	seg_rel[0] = init_rel[0] = '\0';
	walk_variants(seg_rel, sizeof(seg_rel), init_rel, sizeof(init_rel));
	CU_ASSERT_FATAL(seg_rel[0] != '\0' && init_rel[0] != '\0');
}

static void test_range_on_a_segment_is_206(void)
{
	char cr[128], disk[1200], name[16], file[64], want[128];
	const char *p = strstr(seg_rel, "/hls/");
	struct itest_resp r;
	size_t len;
	unsigned char *bytes;

	CU_ASSERT_FATAL(p != NULL);
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(p + 5, "/"), p + 5);
	p = strchr(p + 5, '/');
	snprintf(file, sizeof(file), "%.*s", (int)strcspn(p + 1, "?"), p + 1);
	snprintf(disk, sizeof(disk), "%s/%s/%s", pkg, name, file);
	bytes = itest_slurp(disk, &len);
	CU_ASSERT_FATAL(bytes != NULL && len > 200);
	CU_ASSERT_FATAL(fetch("GET", seg_rel, "Range: bytes=100-199", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 206);
	snprintf(want, sizeof(want), "bytes 100-199/%zu", len);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Range", cr, sizeof(cr)) && strcmp(cr, want) == 0);
	CU_ASSERT_TRUE(r.body_len == 100 && memcmp(r.body, bytes + 100, 100) == 0);
	itest_resp_free(&r);
	/* Past the end: our JSON 416. */
	snprintf(want, sizeof(want), "Range: bytes=%zu-", len + 10);
	CU_ASSERT_FATAL(fetch("GET", seg_rel, want, &r) == 0);
	itest_assert_error(&r, 416, "range_not_satisfiable");
	itest_resp_free(&r);
	free(bytes);
}

static void test_head_answers_headers_without_a_body(void)
{
	struct itest_resp r;
	char cl[32], ct[128];

	CU_ASSERT_FATAL(fetch("HEAD", seg_rel, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Length", cl, sizeof(cl)) && strtoll(cl, NULL, 10) > 0);
	CU_ASSERT_EQUAL(r.body_len, 0);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(fetch("HEAD", master_rel, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Type", ct, sizeof(ct)) && strcmp(ct, HLS_TYPE) == 0);
	/* mediad sends the length the GET would have; Apache drops it from a proxied HEAD answer
	 * without a body (RFC 9110 8.6 lets it), lighttpd keeps it. */
	if (web_server_is("lighttpd"))
		CU_ASSERT_TRUE(itest_header(&r, "Content-Length", cl, sizeof(cl)) &&
		               strtoll(cl, NULL, 10) > 0);
	CU_ASSERT_EQUAL(r.body_len, 0);
	itest_resp_free(&r);
}

/*
 * With a master link about to expire (signed here with the link key, as stream-url signs): the
 * variants keep its expiry, the playlists are cached no longer than it lasts, and the segments and
 * the sprite still get stream_ttl from the time their playlist or WebVTT file was fetched.
 */
static void test_segments_outlast_a_short_master_link(void)
{
	char sig[SIGNLINK_SIG_SIZE], rel[1024], var_rel[1024], vtt[1024], cc[128];
	long long soon = (long long)time(NULL) + SHORT_LINK, e;
	char *text, *lines[256];
	struct itest_resp r;
	int n, uris = 0;

	CU_ASSERT_FATAL(signlink_sign(link_key, m_id, soon, sig, sizeof(sig)) == 0);
	snprintf(rel, sizeof(rel), "/media/%lld/hls/master.m3u8?expires=%lld&sig=%s", m_id, soon, sig);
	CU_ASSERT_FATAL(fetch("GET", rel, NULL, &r) == 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	CU_ASSERT_TRUE(max_age(&r, cc, sizeof(cc)) <= SHORT_LINK);
	text = strdup(r.body);
	itest_resp_free(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	n = split_lines(text, lines, 256);
	CU_ASSERT_FATAL(n > 4 && lines[4][0] != '#');
	/* The variant keeps the master's expiry. */
	CU_ASSERT_EQUAL(query_expires(lines[4]), soon);
	resolve(rel, lines[4], var_rel, sizeof(var_rel));
	free(text);
	CU_ASSERT_FATAL(fetch("GET", var_rel, NULL, &r) == 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	CU_ASSERT_TRUE(max_age(&r, cc, sizeof(cc)) <= SHORT_LINK);
	text = strdup(r.body);
	itest_resp_free(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	n = split_lines(text, lines, 256);
	for (int i = 0; i < n; i++) {
		const char *uri = strstr(lines[i], "?expires=");

		if (uri == NULL)
			continue;
		e = strtoll(uri + strlen("?expires="), NULL, 10);
		CU_ASSERT_TRUE(e >= (long long)time(NULL) + ttl - CLOCK_SLACK);
		uris++;
	}
	CU_ASSERT_TRUE(uris >= 3);
	free(text);
	snprintf(vtt, sizeof(vtt), "/media/%lld/storyboard.vtt?expires=%lld&sig=%s", m_id, soon, sig);
	CU_ASSERT_FATAL(fetch("GET", vtt, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(max_age(&r, cc, sizeof(cc)) <= SHORT_LINK);
	text = r.body != NULL ? strstr(r.body, "storyboard.jpg?expires=") : NULL;
	CU_ASSERT_TRUE(text != NULL && strtoll(text + strlen("storyboard.jpg?expires="), NULL, 10) >=
	                                       (long long)time(NULL) + ttl - CLOCK_SLACK);
	itest_resp_free(&r);
}

/* ---- refusals ------------------------------------------------------------------------------------ */

/* rel with the first character of its sig changed. */
static void tamper(const char *rel, char *out, size_t n)
{
	char *s;

	snprintf(out, n, "%s", rel);
	s = strstr(out, "sig=");
	CU_ASSERT_FATAL(s != NULL);
	s[4] = s[4] == 'A' ? 'B' : 'A';
}

static void assert_refused(const char *rel, long status, const char *code)
{
	struct itest_resp r;

	CU_ASSERT_FATAL(fetch("GET", rel, NULL, &r) == 0);
	if (r.status != status)
		fprintf(stderr, "\n  GET %s -> %ld %s\n", rel, r.status, r.body ? r.body : "");
	itest_assert_error(&r, status, code);
	itest_resp_free(&r);
}

static void test_tampered_signatures_are_403(void)
{
	char bad[1200], var_rel[1024], other[1024];

	tamper(master_rel, bad, sizeof(bad));
	assert_refused(bad, 403, "forbidden");
	tamper(seg_rel, bad, sizeof(bad));
	assert_refused(bad, 403, "forbidden");
	tamper(poster_rel, bad, sizeof(bad));
	assert_refused(bad, 403, "forbidden");
	path_link(var_rel, sizeof(var_rel), m_id, "hls/240p/index.m3u8", "240p/index.m3u8",
	          (long long)time(NULL) + 60);
	tamper(var_rel, bad, sizeof(bad));
	assert_refused(bad, 403, "forbidden");
	/* A signature is for one path: the init segment's query on a media segment. */
	snprintf(other, sizeof(other), "%.*s%s", (int)strcspn(seg_rel, "?"), seg_rel, strchr(init_rel, '?'));
	assert_refused(other, 403, "forbidden");
	/* The stream link's signature opens no segment, and the path-bound one no master. */
	snprintf(other, sizeof(other), "%.*s%s", (int)strcspn(seg_rel, "?"), seg_rel,
	         strchr(master_rel, '?'));
	assert_refused(other, 403, "forbidden");
	snprintf(other, sizeof(other), "/media/%lld/hls/master.m3u8%s", m_id, strchr(var_rel, '?'));
	assert_refused(other, 403, "forbidden");
	/* No signature at all. */
	snprintf(other, sizeof(other), "%.*s", (int)strcspn(seg_rel, "?"), seg_rel);
	assert_refused(other, 403, "forbidden");
}

static void test_expired_links_are_410(void)
{
	char rel[1024], sig[SIGNLINK_SIG_SIZE];
	long long past = (long long)time(NULL) - 10;

	CU_ASSERT_FATAL(signlink_sign(link_key, m_id, past, sig, sizeof(sig)) == 0);
	snprintf(rel, sizeof(rel), "/media/%lld/hls/master.m3u8?expires=%lld&sig=%s", m_id, past, sig);
	assert_refused(rel, 410, "gone");
	snprintf(rel, sizeof(rel), "/media/%lld/storyboard.vtt?expires=%lld&sig=%s", m_id, past, sig);
	assert_refused(rel, 410, "gone");
	path_link(rel, sizeof(rel), m_id, "hls/240p/index.m3u8", "240p/index.m3u8", past);
	assert_refused(rel, 410, "gone");
	path_link(rel, sizeof(rel), m_id, "hls/240p/seg_00000.m4s", "240p/seg_00000.m4s", past);
	assert_refused(rel, 410, "gone");
	path_link(rel, sizeof(rel), m_id, "storyboard.jpg", "storyboard.jpg", past);
	assert_refused(rel, 410, "gone");
}

static void test_another_medias_signature_is_403(void)
{
	char rel[1024], bare_rel[1024];
	struct itest_resp r;
	long long e = (long long)time(NULL) + 60;

	/* m_bare's own stream link, on m_id's master. */
	stream_url(m_bare, &r);
	CU_ASSERT_FATAL(link_member(&r, "url", bare_rel, sizeof(bare_rel)));
	itest_resp_free(&r);
	snprintf(rel, sizeof(rel), "/media/%lld/hls/master.m3u8%s", m_id, strchr(bare_rel, '?'));
	assert_refused(rel, 403, "forbidden");
	snprintf(rel, sizeof(rel), "/media/%lld/poster.jpg%s", m_id, strchr(bare_rel, '?'));
	assert_refused(rel, 403, "forbidden");
	/* A path-bound signature made for m_bare, on m_id's segment and variant. */
	path_link(rel, sizeof(rel), m_bare, "hls/240p/seg_00000.m4s", "240p/seg_00000.m4s", e);
	snprintf(bare_rel, sizeof(bare_rel), "/media/%lld/hls/240p/seg_00000.m4s%s", m_id, strchr(rel, '?'));
	assert_refused(bare_rel, 403, "forbidden");
	path_link(rel, sizeof(rel), m_bare, "hls/240p/index.m3u8", "240p/index.m3u8", e);
	snprintf(bare_rel, sizeof(bare_rel), "/media/%lld/hls/240p/index.m3u8%s", m_id, strchr(rel, '?'));
	assert_refused(bare_rel, 403, "forbidden");
}

static void test_unknown_variant_or_file_is_404(void)
{
	char rel[1024];
	long long e = (long long)time(NULL) + 60;

	/* Signed with the real key: the signature is right, the rendition is not there. */
	path_link(rel, sizeof(rel), m_id, "hls/720p/index.m3u8", "720p/index.m3u8", e);
	assert_refused(rel, 404, "not_found");
	path_link(rel, sizeof(rel), m_id, "hls/720p/seg_00000.m4s", "720p/seg_00000.m4s", e);
	assert_refused(rel, 404, "not_found");
	path_link(rel, sizeof(rel), m_id, "hls/240p/seg_00099.m4s", "240p/seg_00099.m4s", e);
	assert_refused(rel, 404, "not_found");
	/* Names no package holds, signed or not. */
	path_link(rel, sizeof(rel), m_id, "hls/240p/seg_1.m4s", "240p/seg_1.m4s", e);
	assert_refused(rel, 404, "not_found");
	path_link(rel, sizeof(rel), m_id, "hls/240p/master.m3u8", "240p/master.m3u8", e);
	assert_refused(rel, 404, "not_found");
	path_link(rel, sizeof(rel), m_id, "hls/240p/index.mp4", "240p/index.mp4", e);
	assert_refused(rel, 404, "not_found");
	path_link(rel, sizeof(rel), m_id, "hls/..%2E/index.m3u8", "../index.m3u8", e);
	assert_refused(rel, 404, "not_found");
	path_link(rel, sizeof(rel), m_id, "hls/240P/index.m3u8", "240P/index.m3u8", e);
	assert_refused(rel, 404, "not_found");
}

static void test_media_without_renditions_answers_404(void)
{
	char rel[1024], sig[SIGNLINK_SIG_SIZE];
	long long e = (long long)time(NULL) + 60;

	CU_ASSERT_FATAL(signlink_sign(link_key, m_bare, e, sig, sizeof(sig)) == 0);
	snprintf(rel, sizeof(rel), "/media/%lld/hls/master.m3u8?expires=%lld&sig=%s", m_bare, e, sig);
	assert_refused(rel, 404, "not_found");
	snprintf(rel, sizeof(rel), "/media/%lld/poster.jpg?expires=%lld&sig=%s", m_bare, e, sig);
	assert_refused(rel, 404, "not_found");
	snprintf(rel, sizeof(rel), "/media/%lld/storyboard.vtt?expires=%lld&sig=%s", m_bare, e, sig);
	assert_refused(rel, 404, "not_found");
	path_link(rel, sizeof(rel), m_bare, "storyboard.jpg", "storyboard.jpg", e);
	assert_refused(rel, 404, "not_found");
	path_link(rel, sizeof(rel), m_bare, "hls/240p/index.m3u8", "240p/index.m3u8", e);
	assert_refused(rel, 404, "not_found");
}

/* ---- poster and storyboard ---------------------------------------------------------------------- */

static void test_poster_is_served_as_jpeg(void)
{
	struct itest_resp r;
	char ct[64], cc[128], disk[1200];
	long long age;

	CU_ASSERT_FATAL(fetch("GET", poster_rel, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Type", ct, sizeof(ct)) && strcmp(ct, "image/jpeg") == 0);
	age = max_age(&r, cc, sizeof(cc));
	CU_ASSERT_TRUE(strncmp(cc, "private", 7) == 0);
	CU_ASSERT_TRUE(age > 0 && age <= link_exp - (long long)time(NULL) + CLOCK_SLACK);
	path_in(disk, sizeof(disk), pkg, "poster.jpg");
	CU_ASSERT_TRUE(r.body_len > 2 && (unsigned char)r.body[0] == 0xff &&
	               (unsigned char)r.body[1] == 0xd8);
	CU_ASSERT_TRUE(body_is_file(&r, disk));
	itest_resp_free(&r);
}

static void test_storyboard_cues_point_at_the_signed_sprite(void)
{
	char *text = get_text(vtt_rel, "text/vtt; charset=utf-8"), *lines[64], disk[1200];
	long long before = (long long)time(NULL);
	int n = split_lines(text, lines, 64), cues = 0;

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_STRING_EQUAL(lines[0], "WEBVTT");
	path_in(disk, sizeof(disk), pkg, "storyboard.jpg");
	for (int i = 1; i < n; i++) {
		char uri[512], sprite_rel[1024], ct[64], cc[128];
		struct itest_resp r;
		long long e;

		if (strstr(lines[i], "-->") != NULL || strncmp(lines[i], "storyboard.jpg", 14) != 0)
			continue;
		/* storyboard.jpg?expires=E&sig=S#xywh=x,y,w,h */
		CU_ASSERT_TRUE(itest_matches(lines[i],
		                             "^storyboard\\.jpg\\?expires=[0-9]+&sig=[A-Za-z0-9_-]{43}"
		                             "#xywh=[0-9]+,0,160,90$"));
		e = query_expires(lines[i]);
		CU_ASSERT_TRUE(e >= before + ttl - CLOCK_SLACK &&
		               e <= (long long)time(NULL) + ttl + CLOCK_SLACK);
		/* The fragment stays with the client. */
		snprintf(uri, sizeof(uri), "%.*s", (int)strcspn(lines[i], "#"), lines[i]);
		resolve(vtt_rel, uri, sprite_rel, sizeof(sprite_rel));
		CU_ASSERT_FATAL(fetch("GET", sprite_rel, NULL, &r) == 0);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_TRUE(itest_header(&r, "Content-Type", ct, sizeof(ct)) &&
		               strcmp(ct, "image/jpeg") == 0);
		CU_ASSERT_TRUE(max_age(&r, cc, sizeof(cc)) > 0 && strstr(cc, "immutable") != NULL);
		CU_ASSERT_TRUE(body_is_file(&r, disk));
		itest_resp_free(&r);
		cues++;
	}
	CU_ASSERT_EQUAL(cues, 3);
	free(text);
}

/* ---- what the other routes give these links ----------------------------------------------------- */

static void test_playback_answers_carry_cors_headers(void)
{
	const char *rels[] = { master_rel, seg_rel, poster_rel, vtt_rel };
	char acao[256], bad[1200];
	struct itest_resp r;

	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
		CU_ASSERT_FATAL(fetch("GET", rels[i], "Origin: " PLAYER_ORIGIN, &r) == 0);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Allow-Origin", acao, sizeof(acao)) &&
		               (strcmp(acao, "*") == 0 || strcmp(acao, PLAYER_ORIGIN) == 0));
		itest_resp_free(&r);
	}
	/* Refusals too: a player must be able to read why. */
	tamper(seg_rel, bad, sizeof(bad));
	CU_ASSERT_FATAL(fetch("GET", bad, "Origin: " PLAYER_ORIGIN, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 403);
	CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Allow-Origin", acao, sizeof(acao)));
	itest_resp_free(&r);
}

static void test_view_accepts_the_hls_link(void)
{
	char rel[1024];
	struct itest_resp r;

	snprintf(rel, sizeof(rel), "/media/%lld/view%s", m_id, strchr(master_rel, '?'));
	CU_ASSERT_FATAL(itest_request("POST", rel, NULL, "", 0, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	itest_resp_free(&r);
}

/* ---- real players ------------------------------------------------------------------------------- */

#define FF_PROTOCOLS "file,http,https,tcp,tls,crypto"

static void test_ffprobe_sees_every_variant(void)
{
	char url[1200], *out = malloc(1 << 20);
	struct json_object *j, *streams;
	int video = 0, audio = 0;
	bool h240 = false, h360 = false;

	CU_ASSERT_FATAL(out != NULL);
	snprintf(url, sizeof(url), "%s%s", itest_base(), master_rel);
	{
		const char *argv[] = { "ffprobe",
			               "-v",
			               "error",
			               "-protocol_whitelist",
			               FF_PROTOCOLS,
			               "-show_entries",
			               "stream=codec_type,width,height",
			               "-of",
			               "json",
			               url,
			               NULL };

		CU_ASSERT_FATAL(itest_run_capture(argv, out, 1 << 20) == 0);
	}
	j = json_tokener_parse(out);
	streams = itest_member(j, "streams");
	CU_ASSERT_FATAL(streams != NULL && json_object_is_type(streams, json_type_array));
	for (size_t i = 0; i < json_object_array_length(streams); i++) {
		struct json_object *s = json_object_array_get_idx(streams, i);
		const char *type = itest_member_str(s, "codec_type");

		if (type != NULL && strcmp(type, "video") == 0) {
			video++;
			h240 |= itest_member_int(s, "height") == 240;
			h360 |= itest_member_int(s, "height") == 360;
		} else if (type != NULL && strcmp(type, "audio") == 0) {
			audio++;
		}
	}
	CU_ASSERT_EQUAL(video, VARIANTS);
	CU_ASSERT_EQUAL(audio, VARIANTS);
	CU_ASSERT_TRUE(h240 && h360);
	json_object_put(j);
	free(out);
}

static void test_ffmpeg_copies_each_variant(void)
{
	char url[1200], out[300];

	snprintf(url, sizeof(url), "%s%s", itest_base(), master_rel);
	for (int v = 0; v < VARIANTS; v++) {
		char map[16];
		const char *argv[] = {
			"ffmpeg",     "-nostdin", "-y",   "-loglevel", "error", "-protocol_whitelist",
			FF_PROTOCOLS, "-i",       url,    "-map",      map,     "-t",
			"2",          "-c",       "copy", "-f",        "mp4",   out,
			NULL
		};

		snprintf(map, sizeof(map), "0:v:%d", v);
		snprintf(out, sizeof(out), "%s/variant%d.mp4", dir, v);
		CU_ASSERT_EQUAL(run(argv), 0);
		CU_ASSERT_TRUE(file_size(out) > 0);
		unlink(out);
	}
}

static void test_no_log_holds_a_signature(void)
{
	static const char *const logs[] = { "apache-access.log", "mediad.log", "lighttpd-error.log",
		                            "apache-error.log" };
	const char *tdir = getenv("MEDIAD_TEST_DIR");
	int seen = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tdir);
	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		char path[1024], *text;
		size_t len;

		snprintf(path, sizeof(path), "%s/log/%s", tdir, logs[i]);
		text = (char *)itest_slurp(path, &len);
		if (text == NULL)
			continue;
		seen++;
		/* Not NUL-terminated: memmem. */
		if (memmem(text, len, "sig=", 4) != NULL)
			fprintf(stderr, "  %s holds a signature\n", logs[i]);
		CU_ASSERT_PTR_NULL(memmem(text, len, "sig=", 4));
		free(text);
	}
	CU_ASSERT(seen > 0);
}

static void test_teardown(void)
{
	/* The package first: its files are this program's, not the responders'. */
	if (pkg[0] != '\0')
		CU_ASSERT_EQUAL(nftw(pkg, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	if (m_id > 0)
		itest_delete_media(tok_a, m_id);
	if (m_bare > 0)
		itest_delete_media(tok_a, m_bare);
}

/* ---- suite -------------------------------------------------------------------------------------- */

static int suite_init(void)
{
	const char *root = getenv("MEDIA_ROOT"), *url = getenv("DATABASE_URL");

	if (sodium_init() < 0 || read_config() != 0 || root == NULL || url == NULL)
		return -1;
	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "test_hls: %s", PQerrorMessage(db));
		return -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/mediad-hls-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	path_in(src, sizeof(src), dir, "src.mp4");
	{
		char lavfi_v[64], lavfi_a[64];
		const char *a[] = { "ffmpeg",  "-nostdin", "-y",      "-loglevel", "error",    "-f",
			            "lavfi",   "-i",       lavfi_v,   "-f",        "lavfi",    "-i",
			            lavfi_a,   "-c:v",     "libx264", "-preset",   "veryfast", "-pix_fmt",
			            "yuv420p", "-c:a",     "aac",     "-shortest", src,        NULL };

		snprintf(lavfi_v, sizeof(lavfi_v), "testsrc=size=%dx%d:rate=25:duration=%d", SRC_W, SRC_H,
		         SRC_SECONDS);
		snprintf(lavfi_a, sizeof(lavfi_a), "sine=frequency=440:duration=%d", SRC_SECONDS);
		if (run(a) != 0)
			return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	unlink(src);
	if (dir[0] != '\0')
		rmdir(dir);
	PQfinish(db);
	return 0;
}

int main(void)
{
	CU_pSuite s;

	signal(SIGPIPE, SIG_IGN);
	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("hls", suite_init, suite_clean);
	CU_add_test(s, "a user and two uploaded videos", test_setup_users_and_media);
	CU_add_test(s, "stream-url without renditions has no playback links",
	            test_stream_url_without_renditions_has_no_playback_links);
	CU_add_test(s, "media JSON without renditions has []",
	            test_media_json_without_renditions_has_an_empty_array);
	CU_add_test(s, "a package is made by ffmpeg and recorded", test_package_is_made_and_recorded);
	CU_add_test(s, "stream-url has the playback links", test_stream_url_has_the_playback_links);
	CU_add_test(s, "media JSON lists the renditions, alone and in lists",
	            test_media_json_lists_the_renditions);
	CU_add_test(s, "the master lists both variants by bandwidth",
	            test_master_lists_both_variants_by_bandwidth);
	CU_add_test(s, "variant playlists sign every URI; every segment is served",
	            test_variant_playlists_sign_every_uri_and_serve_every_segment);
	CU_add_test(s, "Range on a segment is 206, past its end 416", test_range_on_a_segment_is_206);
	CU_add_test(s, "HEAD answers the headers without a body", test_head_answers_headers_without_a_body);
	CU_add_test(s, "segments and the sprite outlast a short master link",
	            test_segments_outlast_a_short_master_link);
	CU_add_test(s, "tampered signatures are 403", test_tampered_signatures_are_403);
	CU_add_test(s, "expired links are 410", test_expired_links_are_410);
	CU_add_test(s, "another media's signature is 403", test_another_medias_signature_is_403);
	CU_add_test(s, "an unknown variant or file is 404", test_unknown_variant_or_file_is_404);
	CU_add_test(s, "a media without renditions answers 404", test_media_without_renditions_answers_404);
	CU_add_test(s, "the poster is served as JPEG", test_poster_is_served_as_jpeg);
	CU_add_test(s, "storyboard cues point at the signed sprite",
	            test_storyboard_cues_point_at_the_signed_sprite);
	CU_add_test(s, "playback answers carry the CORS headers", test_playback_answers_carry_cors_headers);
	CU_add_test(s, "POST /media/:id/view accepts the HLS link", test_view_accepts_the_hls_link);
	CU_add_test(s, "ffprobe sees every variant of the signed master", test_ffprobe_sees_every_variant);
	CU_add_test(s, "ffmpeg copies each variant from the signed master", test_ffmpeg_copies_each_variant);
	CU_add_test(s, "no log holds a signature", test_no_log_holds_a_signature);
	CU_add_test(s, "the package and the media are removed", test_teardown);
	return itest_run_all();
}
