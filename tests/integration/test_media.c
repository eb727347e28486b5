/* test_media.c: projects, streamed uploads validated by ffprobe, media, and what is left on disk. */
#include "config.h"

#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"

static char dir[256];    /* fixtures made by ffmpeg at test time */
static char tok_a[4096]; /* two users */
static char tok_b[4096];
static char uploads[512]; /* MEDIA_ROOT/uploads */

static void fixture(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static int make_fixtures(void)
{
	char png[300], mp4[300], wav[300], txt[300];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/mediad-media-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	fixture(png, sizeof(png), "red.png");
	fixture(mp4, sizeof(mp4), "clip.mp4");
	fixture(wav, sizeof(wav), "tone.wav");
	fixture(txt, sizeof(txt), "text.png");
	{
		const char *a[] = {
			"ffmpeg",    "-nostdin", "-y", "-f", "lavfi", "-i", "color=c=red:s=64x48:d=1",
			"-frames:v", "1",        png,  NULL
		};
		const char *b[] = { "ffmpeg",
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
		const char *c[] = {
			"ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
			wav,      NULL
		};
		if (itest_run(a) != 0 || itest_run(b) != 0 || itest_run(c) != 0)
			return -1;
	}
	f = fopen(txt, "w");
	if (f == NULL)
		return -1;
	fputs("this is plain text, not an image\n", f);
	fclose(f);
	snprintf(uploads, sizeof(uploads), "%s/uploads", getenv("MEDIA_ROOT"));
	return 0;
}

static void remove_fixtures(void)
{
	const char *names[] = { "red.png", "clip.mp4", "tone.wav", "text.png", "lookalikes.wav", NULL };
	char p[300];

	for (int i = 0; names[i]; i++) {
		fixture(p, sizeof(p), names[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* Entries in MEDIA_ROOT/uploads, temporary ones included. */
static int count_uploads(void)
{
	return itest_dir_count(uploads, NULL);
}

/* A project of tok's user with a description, so a PATCH that clears it has something to clear. */
static long long new_project(const char *tok, const char *title)
{
	return itest_new_project(tok, title, "d");
}

/* POSTs a multipart upload of file (as filename; NULL: its own name) in field to path as tok;
 * extra is an optional name=value text field. Returns the status (-1: transport error). */
static long upload(const char *tok, const char *path, const char *field, const char *file,
                   const char *filename, const char *extra_name, const char *extra_value,
                   struct itest_resp *r)
{
	const struct itest_req q = { .method = "POST",
		                     .path = path,
		                     .token = tok,
		                     .file = file,
		                     .field = field,
		                     .filename = filename,
		                     .extra_name = extra_name,
		                     .extra_value = extra_value };

	return itest_send(&q, r) == 0 ? r->status : -1;
}

/* Whether p is a name mediad made for an upload: "uploads/<ms>-<8 hex>.<ext>". */
static bool path_is_generated(const char *p, const char *ext)
{
	char re[128];

	snprintf(re, sizeof(re), "^uploads/[0-9]{13}-[0-9a-f]{8}\\.%s$", ext);
	return itest_matches(p, re);
}

static off_t file_size(const char *rel)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", getenv("MEDIA_ROOT"), rel);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static void test_project_crud_is_owner_scoped(void)
{
	struct itest_resp r;
	char path[64];
	long long id = new_project(tok_a, "first project");

	CU_ASSERT_FATAL(id > 0);
	snprintf(path, sizeof(path), "/projects/%lld", id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "title"), "first project");
	CU_ASSERT_PTR_NOT_NULL(itest_member(r.json, "userId"));
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "createdAt"));
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "updatedAt"));
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("PATCH", path, tok_b, "{\"title\":\"stolen\"}", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(
	        itest_json("PATCH", path, tok_a, "{\"title\":\"renamed\",\"description\":null}", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "title"), "renamed");
	CU_ASSERT_TRUE(itest_member(r.json, "description") == NULL);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("DELETE", path, tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
}

static void test_project_validation(void)
{
	static const char *const bad[] = { "{}", "{\"title\":\"\"}", "{\"title\":5}",
		                           "{\"title\":\"x\",\"description\":7}", NULL };
	char big[6000];
	struct itest_resp r;

	for (int i = 0; bad[i]; i++) {
		CU_ASSERT_FATAL(itest_json("POST", "/projects", tok_a, bad[i], &r) == 0);
		CU_ASSERT_EQUAL(r.status, 400);
		itest_resp_free(&r);
	}
	memset(big, 'x', 201);
	snprintf(
	        big, sizeof(big), "{\"title\":\"%.*s\"}", 201,
	        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	CU_ASSERT_FATAL(itest_json("POST", "/projects", tok_a, big, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "field"), "title");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", "/projects/abc", tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("POST", "/projects", NULL, "{\"title\":\"x\"}", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 401);
	itest_resp_free(&r);
}

static void test_pagination(void)
{
	struct itest_resp r;
	struct json_object *items;
	long long total;

	for (int i = 0; i < 3; i++)
		CU_ASSERT_FATAL(new_project(tok_b, "page") > 0);
	CU_ASSERT_FATAL(itest_json("GET", "/projects?limit=2", tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	items = itest_member(r.json, "items");
	CU_ASSERT_EQUAL(json_object_array_length(items), 2);
	total = json_object_get_int64(itest_member(r.json, "total"));
	CU_ASSERT_TRUE(total >= 3);
	CU_ASSERT_EQUAL(json_object_get_int64(itest_member(r.json, "limit")), 2);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", "/projects?limit=2&offset=2", tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL((long long)json_object_array_length(itest_member(r.json, "items")),
	                total - 2 > 2 ? 2 : total - 2);
	CU_ASSERT_EQUAL(json_object_get_int64(itest_member(r.json, "offset")), 2);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", "/projects?limit=0", tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", "/projects?limit=201", tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", "/projects?offset=-1", tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	itest_resp_free(&r);
}

static void test_png_mp4_wav_uploads_are_probed(void)
{
	char png[300], mp4[300], wav[300], path[64];
	struct itest_resp r;
	struct json_object *asset;
	long long pid = new_project(tok_a, "uploads");

	CU_ASSERT_FATAL(pid > 0);
	fixture(png, sizeof(png), "red.png");
	fixture(mp4, sizeof(mp4), "clip.mp4");
	fixture(wav, sizeof(wav), "tone.wav");
	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	CU_ASSERT_EQUAL(upload(tok_a, path, "asset", png, NULL, NULL, NULL, &r), 201);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "message"), "File uploaded");
	CU_ASSERT_TRUE(path_is_generated(itest_jstr(&r, "path"), "png"));
	asset = itest_member(r.json, "asset");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(itest_member(asset, "kind")), "image");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(itest_member(asset, "mime")), "image/png");
	CU_ASSERT_EQUAL(json_object_get_int64(itest_member(asset, "width")), 64);
	CU_ASSERT_EQUAL(json_object_get_int64(itest_member(asset, "height")), 48);
	CU_ASSERT_EQUAL(json_object_get_int64(itest_member(asset, "projectId")), pid);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(itest_member(asset, "originalName")), "red.png");
	CU_ASSERT_EQUAL(file_size(itest_jstr(&r, "path")),
	                json_object_get_int64(itest_member(asset, "sizeBytes")));
	itest_resp_free(&r);
	/* "file" is accepted as the field name too. */
	CU_ASSERT_EQUAL(upload(tok_a, path, "file", wav, NULL, NULL, NULL, &r), 201);
	itest_resp_free(&r);

	CU_ASSERT_EQUAL(upload(tok_a, "/media", "file", mp4, NULL, "title", "My clip", &r), 201);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "kind"), "video");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "title"), "My clip");
	CU_ASSERT_EQUAL(json_object_get_int64(itest_member(r.json, "width")), 160);
	CU_ASSERT_TRUE(json_object_get_int64(itest_member(r.json, "durationMs")) >= 900 &&
	               json_object_get_int64(itest_member(r.json, "durationMs")) <= 1100);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "videoCodec"), "h264");
	CU_ASSERT_TRUE(path_is_generated(itest_jstr(&r, "path"), "mp4"));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(upload(tok_a, "/media", "asset", wav, NULL, "type", "audio", &r), 201);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "kind"), "audio");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "title"), "tone.wav");
	itest_resp_free(&r);
}

static void test_media_refuses_images_and_mismatched_type(void)
{
	char png[300], wav[300];
	struct itest_resp r;
	int before = count_uploads();

	fixture(png, sizeof(png), "red.png");
	fixture(wav, sizeof(wav), "tone.wav");
	CU_ASSERT_EQUAL(upload(tok_a, "/media", "file", png, NULL, NULL, NULL, &r), 415);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "unsupported_media_type");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(upload(tok_a, "/media", "file", wav, NULL, "type", "video", &r), 415);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(upload(tok_a, "/media", "file", wav, NULL, "type", "banana", &r), 400);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(count_uploads(), before);
}

static void test_text_renamed_png_is_415_and_leaves_nothing(void)
{
	char txt[300], path[64];
	struct itest_resp r;
	long long pid = new_project(tok_a, "text");
	int before = count_uploads();

	fixture(txt, sizeof(txt), "text.png");
	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	CU_ASSERT_EQUAL(upload(tok_a, path, "asset", txt, NULL, NULL, NULL, &r), 415);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "unsupported_media_type");
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "message"));
	/* The message says what was found, never where the file was kept. */
	CU_ASSERT_PTR_NULL(strstr(r.body, getenv("MEDIA_ROOT")));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(count_uploads(), before);
}

static void test_hostile_file_name_is_stored_safely(void)
{
	char png[300], path[64];
	struct itest_resp r;
	long long pid = new_project(tok_a, "names");

	fixture(png, sizeof(png), "red.png");
	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	CU_ASSERT_EQUAL(upload(tok_a, path, "asset", png, "../../etc/passwd", NULL, NULL, &r), 201);
	CU_ASSERT_TRUE(path_is_generated(itest_jstr(&r, "path"), "png"));
	CU_ASSERT_STRING_EQUAL(
	        json_object_get_string(itest_member(itest_member(r.json, "asset"), "originalName")),
	        "passwd");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(
	        upload(tok_a, path, "asset", png, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.png", NULL, NULL, &r),
	        201);
	CU_ASSERT_STRING_EQUAL(
	        json_object_get_string(itest_member(itest_member(r.json, "asset"), "originalName")),
	        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.png");
	itest_resp_free(&r);
}

static void test_other_users_project_is_404_and_leaves_nothing(void)
{
	char png[300], path[64];
	struct itest_resp r;
	long long pid = new_project(tok_a, "mine");
	int before = count_uploads();

	fixture(png, sizeof(png), "red.png");
	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	CU_ASSERT_EQUAL(upload(tok_b, path, "asset", png, NULL, NULL, NULL, &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(upload(tok_b, "/projects/999999999/assets", "asset", png, NULL, NULL, NULL, &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(count_uploads(), before);
}

static void test_over_cap_upload_is_413_and_leaves_nothing(void)
{
	char big[300], path[64];
	struct itest_resp r;
	long long pid = new_project(tok_a, "big");
	int before = count_uploads();
	FILE *f;

	/* The harness sets upload_max_bytes to 16 MiB. */
	fixture(big, sizeof(big), "big.bin");
	f = fopen(big, "w");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_FATAL(ftruncate(fileno(f), 17 * 1024 * 1024) == 0);
	fclose(f);
	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	CU_ASSERT_EQUAL(upload(tok_a, path, "asset", big, NULL, NULL, NULL, &r), 413);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "payload_too_large");
	itest_resp_free(&r);
	unlink(big);
	CU_ASSERT_EQUAL(count_uploads(), before);
}

static void test_aborted_upload_leaves_nothing(void)
{
	char req[8192], chunk[65536], path[64];
	long long pid = new_project(tok_a, "abort");
	int before = count_uploads(), fd, i, n;
	bool clean = false;

	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	fd = itest_connect(0);
	CU_ASSERT_FATAL(fd >= 0);
	n = snprintf(req, sizeof(req),
	             "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
	             "Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 10485760\r\n\r\n"
	             "--XyZ\r\nContent-Disposition: form-data; name=\"asset\"; filename=\"a.mp4\"\r\n\r\n",
	             path, tok_a);
	CU_ASSERT_FATAL(write(fd, req, (size_t)n) == n);
	memset(chunk, 'v', sizeof(chunk));
	for (i = 0; i < 16; i++)
		CU_ASSERT_FATAL(write(fd, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk));
	close(fd);
	/* mediad sees the abort as a read error and removes its temporary file: poll for that. */
	for (i = 0; i < 100 && !clean; i++) {
		clean = count_uploads() == before;
		if (!clean)
			itest_sleep_ms(100);
	}
	CU_ASSERT_TRUE(clean);
	CU_ASSERT_TRUE(itest_wait_status("/healthz", 200, 5000));
}

/* Puts v as 4 little-endian bytes at p. */
static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * Writes a PCM WAV of size bytes (a multiple of 4) whose samples are random bytes with, every few
 * KiB, a line that looks like the start of curl's multipart delimiter ("\r\n--", 24 dashes, hex
 * digits) cut at a random length: wherever the web server and mediad split the body (FastCGI
 * records, reads), look-alikes straddle the splits. Returns 0, or -1 when it cannot be written.
 */
static int make_lookalike_wav(const char *path, size_t size)
{
	static const char like[] = "\r\n--------------------------0123456789abcdef0123";
	unsigned char head[44], *data = malloc(size - sizeof(head));
	size_t n = size - sizeof(head), i = 0, k;
	uint32_t x = 2463534242u;
	FILE *f;
	int rc = -1;

	if (data == NULL)
		return -1;
	memcpy(head, "RIFF", 4);
	le32(head + 4, (uint32_t)(size - 8));
	memcpy(head + 8, "WAVEfmt ", 8);
	le32(head + 16, 16);
	memcpy(head + 20, "\x01\x00\x02\x00", 4); /* PCM, stereo */
	le32(head + 24, 48000);
	le32(head + 28, 192000);
	memcpy(head + 32, "\x04\x00\x10\x00", 4); /* 4-byte frames of 16-bit samples */
	memcpy(head + 36, "data", 4);
	le32(head + 40, (uint32_t)n);
	while (i < n) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (x % 4096 == 0) {
			k = 4 + x / 4096 % (sizeof(like) - 4);
			if (k > n - i)
				k = n - i;
			memcpy(data + i, like, k);
			i += k;
		} else {
			data[i++] = (unsigned char)(x >> 24);
		}
	}
	f = fopen(path, "wb");
	if (f != NULL && fwrite(head, 1, sizeof(head), f) == sizeof(head) && fwrite(data, 1, n, f) == n)
		rc = 0;
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	free(data);
	return rc;
}

/* Whether files a and b hold the same bytes; prints where they first differ when not. */
static bool same_bytes(const char *a, const char *b)
{
	static char x[65536], y[65536];
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	size_t na = 0, nb = 0, off = 0;
	bool same = fa != NULL && fb != NULL;

	while (same) {
		na = fread(x, 1, sizeof(x), fa);
		nb = fread(y, 1, sizeof(y), fb);
		if (na != nb || memcmp(x, y, na) != 0) {
			fprintf(stderr, "\n  %s and %s differ within bytes %zu to %zu\n", a, b, off,
			        off + na);
			same = false;
		}
		if (na == 0)
			break;
		off += na;
	}
	if (fa != NULL)
		fclose(fa);
	if (fb != NULL)
		fclose(fb);
	return same;
}

/* 12 MiB (the harness caps uploads at 16) go through every web server, many reads and records,
 * and land byte for byte, delimiter look-alikes included. */
static void test_large_upload_is_stored_byte_for_byte(void)
{
	char wav[300], stored[1024];
	struct itest_resp r;
	long long id;

	fixture(wav, sizeof(wav), "lookalikes.wav");
	CU_ASSERT_FATAL(make_lookalike_wav(wav, 12u << 20) == 0);
	CU_ASSERT_FATAL(upload(tok_a, "/media", "file", wav, NULL, NULL, NULL, &r) == 201);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "kind"), "audio");
	CU_ASSERT_EQUAL(json_object_get_int64(itest_member(r.json, "sizeBytes")), 12 << 20);
	id = json_object_get_int64(itest_member(r.json, "id"));
	snprintf(stored, sizeof(stored), "%s/%s", getenv("MEDIA_ROOT"), itest_jstr(&r, "path"));
	itest_resp_free(&r);
	CU_ASSERT_TRUE(same_bytes(wav, stored));
	itest_delete_media(tok_a, id);
	unlink(wav);
}

static void test_media_list_get_delete_removes_file(void)
{
	char wav[300], path[64], rel[256];
	struct itest_resp r;
	long long id;

	fixture(wav, sizeof(wav), "tone.wav");
	CU_ASSERT_FATAL(upload(tok_b, "/media", "file", wav, NULL, NULL, NULL, &r) == 201);
	id = json_object_get_int64(itest_member(r.json, "id"));
	snprintf(rel, sizeof(rel), "%s", itest_jstr(&r, "path"));
	itest_resp_free(&r);
	CU_ASSERT_TRUE(file_size(rel) > 0);
	CU_ASSERT_FATAL(itest_json("GET", "/media", tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(json_object_array_length(itest_member(r.json, "items")) >= 1);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/media/%lld", id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("DELETE", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_TRUE(file_size(rel) > 0);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("DELETE", path, tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 204);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(file_size(rel), -1);
}

static void test_project_delete_removes_its_files(void)
{
	char png[300], path[64], rel[2][256];
	struct itest_resp r;
	long long pid = new_project(tok_a, "doomed");

	fixture(png, sizeof(png), "red.png");
	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(upload(tok_a, path, "asset", png, NULL, NULL, NULL, &r) == 201);
		snprintf(rel[i], sizeof(rel[i]), "%s", itest_jstr(&r, "path"));
		itest_resp_free(&r);
		CU_ASSERT_TRUE(file_size(rel[i]) > 0);
	}
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(json_object_get_int64(itest_member(r.json, "total")), 2);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/projects/%lld", pid);
	CU_ASSERT_FATAL(itest_json("DELETE", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 204);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(file_size(rel[0]), -1);
	CU_ASSERT_EQUAL(file_size(rel[1]), -1);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
}

static int suite_init(void)
{
	return make_fixtures();
}

static int suite_clean(void)
{
	remove_fixtures();
	return 0;
}

static void test_setup_users(void)
{
	itest_login(tok_a, sizeof(tok_a), NULL, 0, "media-a");
	itest_login(tok_b, sizeof(tok_b), NULL, 0, "media-b");
}

int main(void)
{
	CU_pSuite s;

	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("media", suite_init, suite_clean);
	CU_add_test(s, "two users register and log in", test_setup_users);
	CU_add_test(s, "project CRUD is owner-scoped", test_project_crud_is_owner_scoped);
	CU_add_test(s, "project validation", test_project_validation);
	CU_add_test(s, "pagination", test_pagination);
	CU_add_test(s, "PNG, MP4 and WAV uploads are probed", test_png_mp4_wav_uploads_are_probed);
	CU_add_test(s, "/media refuses images and a mismatched type",
	            test_media_refuses_images_and_mismatched_type);
	CU_add_test(s, "text renamed .png is 415 and leaves nothing",
	            test_text_renamed_png_is_415_and_leaves_nothing);
	CU_add_test(s, "hostile file name is stored safely", test_hostile_file_name_is_stored_safely);
	CU_add_test(s, "another user's project is 404 and leaves nothing",
	            test_other_users_project_is_404_and_leaves_nothing);
	CU_add_test(s, "over-cap upload is 413 and leaves nothing",
	            test_over_cap_upload_is_413_and_leaves_nothing);
	CU_add_test(s, "aborted upload leaves nothing", test_aborted_upload_leaves_nothing);
	CU_add_test(s, "a large upload is stored byte for byte", test_large_upload_is_stored_byte_for_byte);
	CU_add_test(s, "media list, get, delete removes the file", test_media_list_get_delete_removes_file);
	CU_add_test(s, "project delete removes its files", test_project_delete_removes_its_files);
	return itest_run_all();
}
