/* hls.c: playback of a media's renditions through signed links: the HLS master and variant
 * playlists and their segments, the poster, and the storyboard (WebVTT and sprite). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/playlist.h"
#include "app.h"
#include "auth/signlink.h"
#include "core/config.h"
#include "core/log.h"
#include "http/query.h"
#include "store/files.h"
#include "store/renditions.h"

/* Bytes of a stored playlist or WebVTT file mediad reads to sign: a two-hour video in 4 s segments
 * makes a playlist of about 60 KB, so this is far above any a render writes. */
#define HLS_TEXT_MAX (1024 * 1024)
/* Read size while loading such a file. */
#define HLS_READ_CHUNK (16 * 1024)
/*
 * Seconds a playlist or WebVTT answer may be cached (at most what is left of its link). The URIs
 * in it are signed afresh at each request, to expire stream_ttl later; a cached copy hands them
 * out older by its age, so a short bound keeps "a player that reloads the playlist is never cut
 * off" true within these seconds, and a player's own reloads still get one copy for a burst.
 */
#define HLS_TEXT_MAX_AGE 10
#define HLS_PLAYLIST_TYPE "application/vnd.apple.mpegurl"
#define HLS_VTT_TYPE "text/vtt; charset=utf-8"
#define HLS_JPEG_TYPE "image/jpeg"
/* The storyboard's sprite, beside its WebVTT file, and the path its signatures cover. */
#define HLS_SPRITE "storyboard.jpg"

/*
 * The master playlist's rows, kept per responder for HLS_ROWS_TTL_MS: a video many viewers start
 * at once (the hot path of a player page) costs one query per responder per TTL instead of one per
 * viewer. Only the rows are kept; every answer is still signed for its own link. What a stale copy
 * can do, for at most the TTL: list the variants (names, bitrates) of a ladder a new hls job has
 * just replaced or a media just deleted. The variant playlists and segments are looked up afresh,
 * so nothing of a deleted media is served but that list. Slots are by media id modulo the table.
 */
#define HLS_ROWS_TTL_MS 2000
#define HLS_ROWS_SLOTS 64
#define HLS_ROWS_MAX 8 /* a ladder has at most 5 rungs; a longer list is not kept */

struct hls_rows {
	int64_t media_id; /* 0: empty */
	int64_t until_ms; /* CLOCK_MONOTONIC */
	int n;
	struct rendition v[HLS_ROWS_MAX];
};

static struct hls_rows hls_rows_cache[HLS_ROWS_SLOTS];

static int64_t hls_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The hls rows of media id into v (RENDITIONS_MAX), from the cache while fresh, else the database. */
static enum merr hls_master_rows(struct db *db, int64_t id, struct rendition *v, int *n)
{
	struct hls_rows *c = &hls_rows_cache[(uint64_t)id % HLS_ROWS_SLOTS];
	int64_t now = hls_mono_ms();
	enum merr err;

	if (c->media_id == id && now < c->until_ms) {
		memcpy(v, c->v, (size_t)c->n * sizeof(*v));
		*n = c->n;
		return MERR_OK;
	}
	err = renditions_list(db, id, "hls", v, RENDITIONS_MAX, n);
	if (err != MERR_OK || *n == 0 || *n > HLS_ROWS_MAX)
		return err;
	c->media_id = id;
	c->until_ms = now + HLS_ROWS_TTL_MS;
	c->n = *n;
	memcpy(c->v, v, (size_t)*n * sizeof(*v));
	return MERR_OK;
}

/* The expiry of the link this request came with; call only after it was verified (canonical). */
static int64_t hls_link_expires(struct http_request *req)
{
	return strtoll(query_get(&req->query, "expires"), NULL, 10);
}

/* Seconds from now to expires, never negative. */
static int64_t hls_left(int64_t expires)
{
	int64_t now = (int64_t)time(NULL);

	return expires > now ? expires - now : 0;
}

/*
 * Checks the request's ?expires=&sig= as the path-bound signature of path (a file of media id's
 * package). True, or false with the 403 (missing or forged, another path's or another media's) or
 * 410 (expired) answer set.
 */
static bool hls_path_link_ok(struct http_request *req, struct http_response *resp, int64_t id,
                             const char *path)
{
	const char *expires = query_get(&req->query, "expires"), *sig = query_get(&req->query, "sig");

	switch (signlink_verify_path(req->app->stream_key, id, path, expires, sig, (int64_t)time(NULL), 0)) {
	case SIGNLINK_OK:
		return true;
	case SIGNLINK_EXPIRED:
		resp_error(resp, MERR_GONE, NULL, "this link has expired; ask for a new stream link");
		return false;
	case SIGNLINK_BAD:
		break;
	}
	resp_error(resp, MERR_FORBIDDEN, NULL,
	           expires == NULL || sig == NULL ? "the link needs expires and sig" : "invalid link");
	return false;
}

/* Fetches the rendition (id, kind, name) into *r. False with the answer set: 404 "media <id> has
 * no <what>" when there is none, or the store's error. */
static bool hls_rendition(struct http_request *req, struct http_response *resp, int64_t id, const char *kind,
                          const char *name, const char *what, struct rendition *r)
{
	enum merr err = renditions_get(req->app->db, id, kind, name, r);

	if (err == MERR_NOT_FOUND)
		resp_error(resp, MERR_NOT_FOUND, NULL, "media %lld has no %s", (long long)id, what);
	else if (err != MERR_OK)
		resp_store_error(resp, err, "renditions");
	return err == MERR_OK;
}

/*
 * The absolute path of file beside r's own file (in the folder of r->path) into out: the place of
 * a variant's segments, or of the storyboard's sprite; with file NULL, of r's own file. file is
 * checked by the caller. False with a logged 500 when r's paths are malformed: our rows are ours
 * to keep right.
 */
static bool hls_abs_beside(struct http_response *resp, const struct rendition *r, const char *root,
                           const char *file, int64_t id, char *out, size_t outlen)
{
	const char *slash = strrchr(r->path, '/');
	char rel[SIGNLINK_PATH_MAX + 1];
	int n;

	if (file == NULL)
		n = snprintf(rel, sizeof(rel), "%s", r->path);
	else if (slash != NULL)
		n = snprintf(rel, sizeof(rel), "%.*s/%s", (int)(slash - r->path), r->path, file);
	else
		n = snprintf(rel, sizeof(rel), "%s", file);
	if (n < 0 || (size_t)n >= sizeof(rel) || !renditions_abs(root, r, rel, out, outlen)) {
		log_error("hls: media %lld: the %s rendition %s has a malformed path", (long long)id, r->kind,
		          r->name);
		resp_error(resp, MERR_INTERNAL, NULL, "internal error");
		return false;
	}
	return true;
}

/* Reads the regular file abs whole into out, at most HLS_TEXT_MAX bytes. Returns 0 or an errno
 * value (EFBIG past the cap); out may hold a part on failure. */
static int hls_read_text(const char *abs, struct buf *out)
{
	char chunk[HLS_READ_CHUNK];
	struct stat st;
	int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), e = 0;
	ssize_t got;

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		e = errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
		goto out;
	}
	if (st.st_size > HLS_TEXT_MAX) {
		e = EFBIG;
		goto out;
	}
	for (;;) {
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			e = errno;
			break;
		}
		if (got == 0)
			break;
		/* The file may have grown since fstat. */
		if ((size_t)got > HLS_TEXT_MAX - out->len) {
			e = EFBIG;
			break;
		}
		if (buf_append(out, chunk, (size_t)got) != 0) {
			e = ENOMEM;
			break;
		}
	}
out:
	close(fd);
	return e;
}

/*
 * Loads the text file abs of media id for signing. True with it in out; false with the answer
 * set: 404 when it is missing, 500 otherwise (too large, unreadable, out of memory), logged
 * either way since the row says it exists.
 */
static bool hls_load(struct http_response *resp, int64_t id, const char *abs, struct buf *out)
{
	int e = hls_read_text(abs, out);

	if (e == 0)
		return true;
	if (e == EFBIG)
		log_error("hls: media %lld: %s: larger than %d bytes", (long long)id, abs, HLS_TEXT_MAX);
	else
		log_error("hls: media %lld: %s: %s", (long long)id, abs, strerror(e));
	if (e == ENOENT)
		resp_error(resp, MERR_NOT_FOUND, NULL, "media %lld has no such file", (long long)id);
	else
		resp_error(resp, MERR_INTERNAL, NULL, "internal error");
	return false;
}

/* Answers 200 with the text in body (taken over, emptied on every path) of type, cacheable for at
 * most HLS_TEXT_MAX_AGE seconds and never past expires, the expiry of the request's link. */
static void hls_text_answer(struct http_response *resp, struct buf *body, const char *type, int64_t expires)
{
	int64_t age = hls_left(expires);

	resp_header(resp, "Cache-Control", "private, max-age=%" PRId64,
	            age < HLS_TEXT_MAX_AGE ? age : HLS_TEXT_MAX_AGE);
	resp_content_type(resp, type);
	resp_body(resp, 200, body);
}

/* A file of the package by its own signed link (a segment, the sprite): it never changes, and may
 * be kept for as long as the link lasts. */
static void hls_send(struct http_request *req, struct http_response *resp, const char *abs, int64_t id,
                     const char *path, const char *type)
{
	char name[SIGNLINK_PATH_MAX + 32], cache[80];
	const struct stream_file f = { abs, name, type, cache };

	snprintf(name, sizeof(name), "media %lld (%s)", (long long)id, path);
	snprintf(cache, sizeof(cache), "private, max-age=%" PRId64 ", immutable",
	         hls_left(hls_link_expires(req)));
	stream_send_file(req, resp, &f);
}

void handle_hls_master(struct http_request *req, struct http_response *resp)
{
	struct rendition v[RENDITIONS_MAX];
	struct playlist_signer signer;
	struct buf body = BUF_INIT;
	char why[160];
	int64_t id;
	int n = 0;
	enum merr err;

	if (!api_route_id(req, resp, "media", &id))
		return;
	/* The stream link's own signature: the link of the media is the capability. */
	if (!stream_link_ok(req, resp, id))
		return;
	err = hls_master_rows(req->app->db, id, v, &n);
	if (err != MERR_OK) {
		resp_store_error(resp, err, "renditions");
		return;
	}
	if (n == 0) {
		resp_error(resp, MERR_NOT_FOUND, NULL, "media %lld has no HLS rendition", (long long)id);
		return;
	}
	/* The variant playlists' links last as long as this one. */
	signer = (struct playlist_signer){ req->app->stream_key, id, hls_link_expires(req) };
	if (playlist_master(v, n, &signer, &body, why, sizeof(why)) != 0) {
		log_error("hls: media %lld: master playlist: %s", (long long)id, why);
		buf_free(&body);
		resp_error(resp, MERR_INTERNAL, NULL, "internal error");
		return;
	}
	hls_text_answer(resp, &body, HLS_PLAYLIST_TYPE, signer.expires);
}

void handle_hls_variant(struct http_request *req, struct http_response *resp)
{
	const char *variant = http_route_param(req, "variant");
	char path[SIGNLINK_PATH_MAX + 1], abs[FILES_PATH_MAX], why[160];
	struct playlist_signer signer;
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct rendition r;
	int64_t id;

	if (!api_route_id(req, resp, "media", &id))
		return;
	/* A name no row can have is not looked up. */
	if (variant == NULL || !renditions_name_ok(variant)) {
		resp_error(resp, MERR_NOT_FOUND, NULL, "media %lld has no such HLS variant", (long long)id);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", variant, PLAYLIST_VARIANT_INDEX);
	if (!hls_path_link_ok(req, resp, id, path) ||
	    !hls_rendition(req, resp, id, "hls", variant, "such HLS variant", &r) ||
	    !hls_abs_beside(resp, &r, req->app->cfg->media_root, NULL, id, abs, sizeof(abs)) ||
	    !hls_load(resp, id, abs, &in))
		goto out;
	/* Segments get a fresh stream_ttl: a player that reloads this playlist keeps playing. */
	signer = (struct playlist_signer){ req->app->stream_key, id,
		                           (int64_t)time(NULL) + req->app->cfg->stream_ttl };
	if (playlist_sign_media(in.data, in.len, variant, &signer, &out, why, sizeof(why)) != 0) {
		log_error("hls: media %lld: %s: %s", (long long)id, path, why);
		resp_error(resp, MERR_INTERNAL, NULL, "internal error");
		goto out;
	}
	hls_text_answer(resp, &out, HLS_PLAYLIST_TYPE, hls_link_expires(req));
out:
	buf_free(&in);
	buf_free(&out);
}

void handle_hls_file(struct http_request *req, struct http_response *resp)
{
	const char *variant = http_route_param(req, "variant"), *file = http_route_param(req, "file");
	char path[SIGNLINK_PATH_MAX + 1], abs[FILES_PATH_MAX];
	struct rendition r;
	int64_t id;

	if (!api_route_id(req, resp, "media", &id))
		return;
	if (variant == NULL || file == NULL || !renditions_name_ok(variant) || !playlist_file_ok(file)) {
		resp_error(resp, MERR_NOT_FOUND, NULL, "media %lld has no such HLS file", (long long)id);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", variant, file);
	if (!hls_path_link_ok(req, resp, id, path) ||
	    !hls_rendition(req, resp, id, "hls", variant, "such HLS variant", &r) ||
	    !hls_abs_beside(resp, &r, req->app->cfg->media_root, file, id, abs, sizeof(abs)))
		return;
	hls_send(req, resp, abs, id, path, playlist_file_type(file));
}

void handle_poster(struct http_request *req, struct http_response *resp)
{
	char abs[FILES_PATH_MAX], name[48], cache[64];
	const struct stream_file f = { abs, name, HLS_JPEG_TYPE, cache };
	struct rendition r;
	int64_t id;

	if (!api_route_id(req, resp, "media", &id) || !stream_link_ok(req, resp, id) ||
	    !hls_rendition(req, resp, id, "poster", "poster", "poster", &r) ||
	    !hls_abs_beside(resp, &r, req->app->cfg->media_root, NULL, id, abs, sizeof(abs)))
		return;
	snprintf(name, sizeof(name), "media %lld (poster)", (long long)id);
	snprintf(cache, sizeof(cache), "private, max-age=%" PRId64, hls_left(hls_link_expires(req)));
	stream_send_file(req, resp, &f);
}

void handle_storyboard_vtt(struct http_request *req, struct http_response *resp)
{
	char abs[FILES_PATH_MAX], why[160];
	struct playlist_signer signer;
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct rendition r;
	int64_t id;

	if (!api_route_id(req, resp, "media", &id) || !stream_link_ok(req, resp, id) ||
	    !hls_rendition(req, resp, id, "storyboard", "storyboard", "storyboard", &r) ||
	    !hls_abs_beside(resp, &r, req->app->cfg->media_root, NULL, id, abs, sizeof(abs)) ||
	    !hls_load(resp, id, abs, &in))
		goto out;
	/* As a variant playlist's segments: the sprite's link lasts stream_ttl from now. */
	signer = (struct playlist_signer){ req->app->stream_key, id,
		                           (int64_t)time(NULL) + req->app->cfg->stream_ttl };
	if (playlist_sign_vtt(in.data, in.len, HLS_SPRITE, &signer, &out, why, sizeof(why)) != 0) {
		log_error("hls: media %lld: storyboard: %s", (long long)id, why);
		resp_error(resp, MERR_INTERNAL, NULL, "internal error");
		goto out;
	}
	hls_text_answer(resp, &out, HLS_VTT_TYPE, hls_link_expires(req));
out:
	buf_free(&in);
	buf_free(&out);
}

void handle_storyboard_sprite(struct http_request *req, struct http_response *resp)
{
	char abs[FILES_PATH_MAX];
	struct rendition r;
	int64_t id;

	if (!api_route_id(req, resp, "media", &id) || !hls_path_link_ok(req, resp, id, HLS_SPRITE) ||
	    !hls_rendition(req, resp, id, "storyboard", "storyboard", "storyboard", &r) ||
	    !hls_abs_beside(resp, &r, req->app->cfg->media_root, HLS_SPRITE, id, abs, sizeof(abs)))
		return;
	hls_send(req, resp, abs, id, HLS_SPRITE, HLS_JPEG_TYPE);
}
