/* stream.c: signed stream links: GET /media/:id/stream-url, GET/HEAD /media/:id/stream, and the
 * sending of a file in either stream_mode, which the HLS routes (hls.c) share. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/common.h"
#include "api/handlers.h"
#include "app.h"
#include "auth/signlink.h"
#include "core/config.h"
#include "core/log.h"
#include "http/file_body.h"
#include "http/query.h"
#include "http/range.h"
#include "store/files.h"
#include "store/media.h"
#include "store/renditions.h"

/* Adds key: "<base>/media/<id>/<file>?expires=E&sig=S" to o (a NULL o is left alone). */
static void stream_url_add(struct json_object *o, const char *key, const char *base, int64_t id,
                           const char *file, int64_t expires, const char *sig)
{
	char url[1400];

	if (o == NULL)
		return;
	snprintf(url, sizeof(url), "%s/media/%" PRId64 "/%s?expires=%" PRId64 "&sig=%s", base, id, file,
	         expires, sig);
	json_object_object_add(o, key, json_object_new_string(url));
}

/*
 * The links of a media: the file (url) and, for what its renditions made, the HLS master playlist,
 * the poster and the storyboard. All carry the same expiry and signature, so each of them also
 * records a view (POST /media/:id/view) as the file's link does.
 */
void handle_stream_url(struct http_request *req, struct http_response *resp)
{
	const struct config *cfg = req->app->cfg;
	char base[1024], sig[SIGNLINK_SIG_SIZE], expires_at[40];
	struct json_object *o;
	struct media m;
	int64_t id, expires;
	unsigned kinds = 0;
	enum merr err;

	if (!api_route_id(req, resp, "media", &id))
		return;
	err = media_get(req->app->db, req->user_id, id, &m);
	if (err != MERR_OK) {
		resp_store_error_id(resp, err, "media", id);
		return;
	}
	err = renditions_kinds(req->app->db, id, &kinds);
	if (err != MERR_OK) {
		resp_store_error(resp, err, "renditions");
		return;
	}
	expires = (int64_t)time(NULL) + cfg->stream_ttl;
	if (signlink_sign(req->app->stream_key, id, expires, sig, sizeof(sig)) != 0) {
		resp_error(resp, MERR_INTERNAL, NULL, "cannot sign the link");
		return;
	}
	api_link_base(req, base, sizeof(base));
	api_time_rfc3339((time_t)expires, expires_at, sizeof(expires_at));
	o = json_object_new_object();
	stream_url_add(o, "url", base, id, "stream", expires, sig);
	if (o != NULL)
		json_object_object_add(o, "expiresAt", json_object_new_string(expires_at));
	if (kinds & RENDITION_HAS_HLS)
		stream_url_add(o, "hlsUrl", base, id, "hls/master.m3u8", expires, sig);
	if (kinds & RENDITION_HAS_POSTER)
		stream_url_add(o, "posterUrl", base, id, "poster.jpg", expires, sig);
	if (kinds & RENDITION_HAS_STORYBOARD)
		stream_url_add(o, "storyboardUrl", base, id, "storyboard.vtt", expires, sig);
	resp_header(resp, "Cache-Control", "no-store");
	resp_json(resp, 200, o);
}

bool stream_link_ok(struct http_request *req, struct http_response *resp, int64_t id)
{
	const char *expires = query_get(&req->query, "expires"), *sig = query_get(&req->query, "sig");

	switch (signlink_verify(req->app->stream_key, id, expires, sig, (int64_t)time(NULL), 0)) {
	case SIGNLINK_OK:
		return true;
	case SIGNLINK_EXPIRED:
		resp_error(resp, MERR_GONE, NULL, "this stream link has expired; ask for a new one");
		return false;
	case SIGNLINK_BAD:
		break;
	}
	resp_error(resp, MERR_FORBIDDEN, NULL,
	           expires == NULL || sig == NULL ? "stream link needs expires and sig" :
	                                            "invalid stream link");
	return false;
}

/* ETag, Last-Modified and Accept-Ranges for a file, the same in both modes (mod_xsendfile would
 * otherwise make its own, "0" for every file behind a proxy). etag receives the ETag. */
static void stream_validators(struct http_response *resp, const struct stat *st, char *etag, size_t etaglen)
{
	char lastmod[HTTP_DATE_SIZE];

	snprintf(etag, etaglen, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st->st_size, (uint64_t)st->st_mtime);
	resp_header(resp, "ETag", "%s", etag);
	if (http_date_format(st->st_mtime, lastmod, sizeof(lastmod)) == 0)
		resp_header(resp, "Last-Modified", "%s", lastmod);
	resp_header(resp, "Accept-Ranges", "bytes");
}

/* Whether If-None-Match or, without it, If-Modified-Since makes the request a 304 for a file with
 * this ETag and mtime (RFC 9110 13.2.2: If-None-Match wins). */
static bool stream_not_modified(struct http_request *req, const char *etag, time_t mtime)
{
	const char *inm = http_header(req, "If-None-Match"), *ims = http_header(req, "If-Modified-Since");
	time_t since;

	if (inm != NULL)
		return http_etag_match(inm, etag);
	return ims != NULL && http_date_parse(ims, &since) == 0 && mtime <= since;
}

/* The Range of the request, or NULL when there is none or If-Range says to ignore it. */
static const char *stream_range(struct http_request *req, const char *etag, time_t mtime)
{
	const char *range = http_header(req, "Range"), *if_range = http_header(req, "If-Range");

	if (range == NULL || (if_range != NULL && !http_if_range_ok(if_range, etag, mtime)))
		return NULL;
	return range;
}

/* The 416 for a Range that a file of size bytes cannot satisfy: our JSON error, with the
 * "Content-Range: bytes * /size" RFC 9110 15.5.17 asks for. */
static void stream_refuse_range(struct http_response *resp, uint64_t size)
{
	char cr[HTTP_CONTENT_RANGE_SIZE];

	if (http_content_range_unsatisfied(cr, sizeof(cr), size) == 0)
		resp_header(resp, "Content-Range", "%s", cr);
	resp_error(resp, MERR_RANGE_NOT_SATISFIABLE, NULL, "range not satisfiable for %" PRIu64 " bytes",
	           size);
}

/*
 * What an answer with the file (200, 206 or 304) carries besides the validators: its type, and how
 * long it may be kept. Errors (404, 416) get neither: a cache must not keep them that long. The
 * CORS headers that let a player on another origin read any answer come from the dispatcher.
 */
static void stream_file_headers(struct http_response *resp, const struct stream_file *f)
{
	resp_header(resp, "Cache-Control", "%s", f->cache_control);
	resp_content_type(resp, f->content_type);
}

/* The 404 for a file our row names but the disk does not have: our fault, so logged. */
static void stream_missing(struct http_response *resp, const struct stream_file *f, const char *why)
{
	log_error("stream: %s: %s: %s", f->name, f->abs, why);
	resp_error(resp, MERR_NOT_FOUND, NULL, "%s has no file", f->name);
}

/*
 * Sends the file itself: conditionals, a single Range, the bytes by file_body_send (from the page
 * cache to the web server, never through our memory). Multi-range requests get the whole file
 * (200): the range parser reports them as "no range". The descriptor is closed on every path,
 * including a client that goes away mid-file.
 */
static void stream_direct(struct http_request *req, struct http_response *resp, const struct stream_file *f)
{
	char etag[64], cr[HTTP_CONTENT_RANGE_SIZE];
	const char *range;
	uint64_t start = 0, end = 0, size, left;
	struct stat st;
	int fd, status = 200;

	fd = open(f->abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0) {
		stream_missing(resp, f, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		stream_missing(resp, f, "not a regular file");
		goto out;
	}
	size = (uint64_t)st.st_size;
	stream_validators(resp, &st, etag, sizeof(etag));
	if (stream_not_modified(req, etag, st.st_mtime)) {
		stream_file_headers(resp, f);
		resp_status(resp, 304);
		goto out;
	}
	range = stream_range(req, etag, st.st_mtime);
	if (range != NULL) {
		switch (http_range_parse(range, size, &start, &end)) {
		case RANGE_OK:
			status = 206;
			if (http_content_range(cr, sizeof(cr), start, end, size) == 0)
				resp_header(resp, "Content-Range", "%s", cr);
			break;
		case RANGE_UNSATISFIABLE:
			stream_refuse_range(resp, size);
			goto out;
		case RANGE_NONE:
			break;
		}
	}
	if (status != 206) {
		start = 0;
		end = size ? size - 1 : 0;
	}
	left = size ? end - start + 1 : 0;
	stream_file_headers(resp, f);
	resp_status(resp, status);
	if (resp_begin(req, resp, (long long)left) != 0 || resp->head_only)
		goto out;
	/* A client that goes away is no error of ours; a file that cannot be read (or was cut while
	 * being sent) is, and its answer is cut short. */
	if (file_body_send(req, resp, fd, start, left) == FILE_BODY_READ_FAILED)
		log_error("stream: %s: %s: read failed: %s", f->name, f->abs,
		          errno != 0 ? strerror(errno) : "the file ended early");
out:
	if (fd >= 0)
		close(fd);
}

/*
 * x-sendfile mode: lighttpd (x-sendfile) and Apache (mod_xsendfile) send the file, with Range,
 * conditionals and sendfile(2); the body stays empty. The validators are ours, the same as direct
 * mode's: mod_xsendfile makes ETag "0" for every file when the request maps to no file (proxy,
 * fcgid), and adds no Accept-Ranges. Both servers keep ours. stat, not open: mediad holds no
 * descriptor on a file the web server sends.
 */
static void stream_xsendfile(struct http_request *req, struct http_response *resp,
                             const struct stream_file *f)
{
	struct stat st;
	char etag[64];
	const char *range;
	uint64_t start, end;

	if (stat(f->abs, &st) != 0) {
		stream_missing(resp, f, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		stream_missing(resp, f, "not a regular file");
		return;
	}
	stream_validators(resp, &st, etag, sizeof(etag));
	/* A Range that starts past the end is answered here, as in direct mode, and not left to the
	 * web server: lighttpd 1.4 sets "Content-Range: bytes * /size" on its 416 and then clears
	 * every header for its error page (http_range_not_satisfiable, then
	 * http_response_errdoc_init in response.c), and Apache sends its 416 as an error page. A
	 * 304, and every Range that can be served, stay with the web server. */
	range = stream_not_modified(req, etag, st.st_mtime) ? NULL : stream_range(req, etag, st.st_mtime);
	if (range != NULL &&
	    http_range_parse(range, (uint64_t)st.st_size, &start, &end) == RANGE_UNSATISFIABLE) {
		stream_refuse_range(resp, (uint64_t)st.st_size);
		return;
	}
	stream_file_headers(resp, f);
	resp_header(resp, "X-Sendfile", "%s", f->abs);
	resp_status(resp, 200);
}

void stream_send_file(struct http_request *req, struct http_response *resp, const struct stream_file *f)
{
	if (req->app->cfg->stream_mode == STREAM_XSENDFILE)
		stream_xsendfile(req, resp, f);
	else
		stream_direct(req, resp, f);
}

void handle_stream(struct http_request *req, struct http_response *resp)
{
	char abs[FILES_PATH_MAX], name[40], cache[64];
	struct stream_file f = { abs, name, NULL, cache };
	struct media m;
	int64_t id;
	enum merr err;

	if (!api_route_id(req, resp, "media", &id))
		return;
	/* The link is the capability: check it before touching the database. */
	if (!stream_link_ok(req, resp, id))
		return;
	err = media_get_any(req->app->db, id, &m);
	if (err != MERR_OK) {
		resp_store_error_id(resp, err, "media", id);
		return;
	}
	/* The path comes from our own row and is re-checked: nothing from the client reaches it. */
	if (!files_abs(req->app->cfg->media_root, m.path, abs, sizeof(abs))) {
		log_error("stream: media %lld has a malformed path", (long long)id);
		resp_error(resp, MERR_INTERNAL, NULL, "internal error");
		return;
	}
	snprintf(name, sizeof(name), "media %lld", (long long)id);
	snprintf(cache, sizeof(cache), "private, max-age=%lld", (long long)req->app->cfg->stream_ttl);
	f.content_type = m.mime;
	stream_send_file(req, resp, &f);
}
