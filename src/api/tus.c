/* tus.c: resumable uploads, tus 1.0.0 (creation, termination, expiration, checksum) on /uploads. */
#include "config.h"

#include "api/tus.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/upload.h"
#include "app.h"
#include "core/config.h"
#include "core/log.h"
#include "http/multipart.h"
#include "http/tus_parse.h"
#include "store/files.h"
#include "store/media.h"
#include "store/uploads.h"

#define TUS_VERSION "1.0.0"
#define TUS_EXTENSIONS "creation,termination,expiration,checksum"
/* The PATCH body is read this much at a time (as upload.c reads a multipart body). Static, so a
 * responder's memory stays the same however large the upload. */
#define TUS_CHUNK (256 * 1024)

_Static_assert(TUS_METADATA_MAX == UPLOAD_METADATA_MAX, "Upload-Metadata is stored whole");

/* ENOSPC and EDQUOT are the disk's fault (507), any other errno ours (500). */
static enum merr tus_disk_error(int e)
{
	return e == ENOSPC || e == EDQUOT ? MERR_INSUFFICIENT_STORAGE : MERR_INTERNAL;
}

/* Whether path is one of the tus routes (/uploads, /uploads/...). */
static bool tus_path(const char *path)
{
	return path != NULL && strncmp(path, "/uploads", 8) == 0 && (path[8] == '\0' || path[8] == '/');
}

void tus_route_headers(const struct http_request *req, struct http_response *resp)
{
	if (tus_path(req->path))
		resp_header(resp, "Tus-Resumable", "%s", TUS_VERSION);
}

/* Checks the request's Tus-Resumable: true, or false with the 412 (and the Tus-Version we speak) set.
 * Tus-Resumable itself is on every answer of the tus routes already (tus_route_headers). */
static bool tus_begin(struct http_request *req, struct http_response *resp)
{
	const char *v = http_header(req, "Tus-Resumable");

	if (v != NULL && strcmp(v, TUS_VERSION) == 0)
		return true;
	resp_header(resp, "Tus-Version", "%s", TUS_VERSION);
	resp_error(resp, MERR_PRECONDITION_FAILED, "Tus-Resumable",
	           "send Tus-Resumable: " TUS_VERSION " (the tus protocol version this server speaks)");
	return false;
}

/* Formats t as an RFC 7231 date ("Sun, 06 Nov 1994 08:49:37 GMT") into out. */
static void tus_http_date(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void tus_expires_header(struct http_response *resp, const struct upload *u)
{
	char date[64];

	tus_http_date((time_t)u->expires, date, sizeof(date));
	resp_header(resp, "Upload-Expires", "%s", date);
}

/* Mediad-Resource: where the media made of a complete upload is (GET /media/:id serves project
 * assets too). */
static void tus_resource_header(const struct http_request *req, struct http_response *resp,
                                const struct upload *u)
{
	if (u->media_id > 0)
		resp_header(resp, "Mediad-Resource", "%s/media/%" PRId64, req->base, u->media_id);
}

/* What Upload-Metadata says, decoded and checked. */
struct tus_meta {
	char filename[MULTIPART_FILENAME_MAX + 1];
	char title[UPLOAD_TITLE_MAX_CHARS * 4 + 1];
	char type[8];
	int64_t project_id;
};

/*
 * Reads Upload-Metadata h (tus_parse_metadata) into m: filename (sanitized), title, type and
 * projectId are taken, other keys are ignored (clients send their own, such as filetype). Returns
 * true, or false with a 400 set.
 */
static bool tus_read_metadata(const char *h, struct http_response *resp, struct tus_meta *m)
{
	struct tus_metadata md;
	const struct tus_meta_value *v = md.value;

	memset(m, 0, sizeof(*m));
	switch (tus_parse_metadata(h, &md)) {
	case TUS_META_OK:
		break;
	case TUS_META_TOO_LONG:
		resp_error(resp, MERR_BAD_REQUEST, "Upload-Metadata",
		           "Upload-Metadata is longer than %d bytes", TUS_METADATA_MAX);
		return false;
	case TUS_META_DUPLICATE:
		resp_error(resp, MERR_BAD_REQUEST, "Upload-Metadata", "Upload-Metadata names %s twice",
		           md.duplicate);
		return false;
	case TUS_META_MALFORMED:
		resp_error(resp, MERR_BAD_REQUEST, "Upload-Metadata",
		           "Upload-Metadata must be comma-separated \"key base64value\" pairs");
		return false;
	}
	if (v[TUS_META_FILENAME].present)
		multipart_filename_sanitize(v[TUS_META_FILENAME].v, v[TUS_META_FILENAME].len, m->filename,
		                            sizeof(m->filename));
	if (v[TUS_META_TITLE].present) {
		if (!upload_title_ok(v[TUS_META_TITLE].v, v[TUS_META_TITLE].len) ||
		    v[TUS_META_TITLE].len >= sizeof(m->title)) {
			resp_error(resp, MERR_BAD_REQUEST, "title", UPLOAD_TITLE_RULE);
			return false;
		}
		memcpy(m->title, v[TUS_META_TITLE].v, v[TUS_META_TITLE].len + 1);
	}
	if (v[TUS_META_TYPE].present) {
		if (!upload_type_ok(v[TUS_META_TYPE].v)) {
			resp_error(resp, MERR_BAD_REQUEST, "type", UPLOAD_TYPE_RULE);
			return false;
		}
		memcpy(m->type, v[TUS_META_TYPE].v, v[TUS_META_TYPE].len + 1); /* one of three names */
	}
	if (v[TUS_META_PROJECT_ID].present &&
	    (!tus_parse_number(v[TUS_META_PROJECT_ID].v, &m->project_id) || m->project_id <= 0)) {
		resp_error(resp, MERR_BAD_REQUEST, "projectId", "projectId must be a project id");
		return false;
	}
	return true;
}

void tus_options(struct http_request *req, struct http_response *resp)
{
	if (strcmp(req->path, "/uploads") != 0)
		return;
	resp_header(resp, "Tus-Version", "%s", TUS_VERSION);
	resp_header(resp, "Tus-Extension", "%s", TUS_EXTENSIONS);
	resp_header(resp, "Tus-Max-Size", "%lld", req->app->cfg->upload_max_bytes);
	resp_header(resp, "Tus-Checksum-Algorithm", "%s", TUS_CHECKSUM_ALGORITHMS);
}

/*
 * Creates the partial file of upload u, empty, and makes its name durable (the folder's fsync)
 * before the creation is answered: every later PATCH opens it without O_CREAT, so a file that is
 * missing is one that was lost, never one still to make. Returns 0 or an errno value.
 */
static int tus_create_part(const struct config *cfg, const struct upload *u)
{
	char part[FILES_PATH_MAX], dir[FILES_PATH_MAX];
	int fd, e;

	if (!upload_part_path(cfg->media_root, u->id, part, sizeof(part)) ||
	    snprintf(dir, sizeof(dir), "%s/uploads", cfg->media_root) >= (int)sizeof(dir))
		return ENAMETOOLONG;
	fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return errno;
	close(fd);
	e = files_sync_dir(dir);
	if (e != 0)
		(void)unlink(part);
	return e;
}

/* POST /uploads: tus creation. */
void handle_tus_create(struct http_request *req, struct http_response *resp)
{
	const struct config *cfg = req->app->cfg;
	const char *raw = http_header(req, "Upload-Metadata");
	char base[1024], location[1200];
	struct tus_meta meta;
	struct upload u;
	int64_t length;
	enum merr err;
	int e;

	if (!tus_begin(req, resp))
		return;
	if (http_header(req, "Upload-Defer-Length") != NULL) {
		resp_error(resp, MERR_BAD_REQUEST, "Upload-Defer-Length",
		           "send Upload-Length: this server does not take uploads of unknown length");
		return;
	}
	if (!tus_parse_number(http_header(req, "Upload-Length"), &length) || length <= 0) {
		resp_error(resp, MERR_BAD_REQUEST, "Upload-Length",
		           "Upload-Length must be the file's size in bytes, at least 1");
		return;
	}
	if (length > cfg->upload_max_bytes) {
		resp_error(resp, MERR_PAYLOAD_TOO_LARGE, "Upload-Length",
		           "upload larger than the %lld-byte limit", cfg->upload_max_bytes);
		return;
	}
	if (!tus_read_metadata(raw, resp, &meta))
		return;
	memset(&u, 0, sizeof(u));
	u.user_id = req->user_id;
	u.project_id = meta.project_id;
	u.length = length;
	snprintf(u.filename, sizeof(u.filename), "%s", meta.filename);
	snprintf(u.title, sizeof(u.title), "%s", meta.title);
	snprintf(u.kind, sizeof(u.kind), "%s", meta.type);
	snprintf(u.metadata, sizeof(u.metadata), "%s", raw != NULL ? raw : ""); /* checked: it fits */
	err = uploads_create(req->app->db, &u, cfg->upload_expiry, cfg->storage_quota_bytes,
	                     cfg->upload_max_live);
	if (err == MERR_NOT_FOUND) {
		resp_not_found(resp, "project", meta.project_id);
		return;
	}
	if (err == MERR_QUOTA_EXCEEDED) {
		/* What is stored plus what the user's open uploads announced, plus this one. */
		upload_quota_error(resp, cfg);
		return;
	}
	if (err == MERR_RATE_LIMITED) {
		resp_error(resp, err, NULL,
		           "you have %lld resumable uploads in progress (upload_max_live); finish one, "
		           "or DELETE /uploads/:id one you gave up, before you start another",
		           cfg->upload_max_live);
		return;
	}
	if (err != MERR_OK) {
		resp_store_error(resp, err, "upload");
		return;
	}
	e = tus_create_part(cfg, &u);
	if (e != 0) {
		log_error("tus: cannot create the partial file of upload %s: %s", u.id, strerror(e));
		if (uploads_delete(req->app->db, req->user_id, u.id) != MERR_OK)
			log_error("tus: cannot remove upload %s (gc removes it when it expires)", u.id);
		resp_error(resp, tus_disk_error(e), NULL, "cannot store the upload");
		return;
	}
	/* Root-relative when public_base_url is not set (tus clients resolve it against the
	 * endpoint), under the prefix the API is served under either way (api_link_base). */
	if (cfg->public_base_url[0] != '\0')
		api_link_base(req, base, sizeof(base));
	else
		snprintf(base, sizeof(base), "%s", req->base);
	snprintf(location, sizeof(location), "%s/uploads/%s", base, u.id);
	resp_header(resp, "Location", "%s", location);
	tus_expires_header(resp, &u);
	resp_status(resp, 201);
	resp_content_type(resp, "");
}

/* Answers a PATCH at offset of the complete (or, found under the lock, failed) upload u: a
 * retried last PATCH (offset = length) is told again where the media is, which exists once; any
 * other offset is 409. */
static void tus_answer_done(const struct http_request *req, struct http_response *resp,
                            const struct upload *u, int64_t offset)
{
	if (strcmp(u->state, "complete") != 0) {
		resp_error(resp, MERR_GONE, NULL, "upload %s was refused (not a media file); start a new one",
		           u->id);
		return;
	}
	resp_header(resp, "Upload-Offset", "%" PRId64, u->length);
	if (offset != u->length) {
		resp_error(resp, MERR_CONFLICT, "Upload-Offset", "upload %s is complete (%" PRId64 " bytes)",
		           u->id, u->length);
		return;
	}
	tus_resource_header(req, resp, u);
	resp_status(resp, 204);
	resp_content_type(resp, "");
}

/* Answers a failed store call about upload id: "upload <id> not found" for MERR_NOT_FOUND. */
static void tus_store_error(struct http_response *resp, enum merr err, const char *id)
{
	if (err == MERR_NOT_FOUND)
		resp_error(resp, err, NULL, "upload %s not found", id);
	else
		resp_store_error(resp, err, "upload");
}

/*
 * Reads upload :id of the caller into u for HEAD, PATCH and DELETE. An id that is no UUID, another
 * user's and a missing one are 404; an expired or failed upload is 410 unless live_only is false.
 * Returns true, or false with the answer set.
 */
static bool tus_load(struct http_request *req, struct http_response *resp, struct upload *u, bool live_only)
{
	const char *id = http_route_param(req, "id");
	enum merr err = uploads_get(req->app->db, req->user_id, id, u);

	if (err != MERR_OK) {
		tus_store_error(resp, err, upload_id_ok(id) ? id : "");
		return false;
	}
	if (live_only && u->expired && strcmp(u->state, "complete") != 0) {
		resp_error(resp, MERR_GONE, NULL, "upload %s expired; start a new one", u->id);
		return false;
	}
	if (live_only && strcmp(u->state, "failed") == 0) {
		tus_answer_done(req, resp, u, -1);
		return false;
	}
	return true;
}

/* HEAD /uploads/:id: where to resume. Below the length until the media row is committed. */
void handle_tus_head(struct http_request *req, struct http_response *resp)
{
	struct upload u;

	resp_header(resp, "Cache-Control", "no-store");
	if (!tus_begin(req, resp) || !tus_load(req, resp, &u, true))
		return;
	resp_header(resp, "Upload-Offset", "%" PRId64, u.offset);
	resp_header(resp, "Upload-Length", "%" PRId64, u.length);
	if (u.metadata[0] != '\0')
		resp_header(resp, "Upload-Metadata", "%s", u.metadata);
	tus_expires_header(resp, &u);
	tus_resource_header(req, resp, &u);
	resp_status(resp, 200);
	resp_content_type(resp, "");
}

/* Removes path; a missing file is not an error, another is logged. */
static void tus_unlink(const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT) {
		int e = errno;

		log_error("tus: cannot remove %s: %s", path, strerror(e));
	}
}

/* DELETE /uploads/:id: termination. The partial file goes with the row; a media made of it stays. */
void handle_tus_delete(struct http_request *req, struct http_response *resp)
{
	char part[FILES_PATH_MAX];
	struct upload u;
	enum merr err;

	if (!tus_begin(req, resp) || !tus_load(req, resp, &u, false))
		return;
	err = uploads_delete(req->app->db, req->user_id, u.id);
	if (err != MERR_OK) {
		tus_store_error(resp, err, u.id);
		return;
	}
	/* A PATCH still running on it fails at its next checkpoint or its completion (no row), and
	 * its file is only a name: a media linked from it keeps its own. */
	if (upload_part_path(req->app->cfg->media_root, u.id, part, sizeof(part)))
		tus_unlink(part);
	resp_status(resp, 204);
	resp_content_type(resp, "");
}

/* One PATCH in progress: the partial file, the bytes it brought, the checksum asked for. */
struct tus_patch {
	struct http_request *req;
	struct upload u;
	char part[FILES_PATH_MAX];
	int fd;
	int64_t start;             /* the offset the PATCH began at */
	int64_t written;           /* bytes of this PATCH written to the file */
	int64_t synced;            /* bytes of this PATCH fdatasync'd (and, below the length, recorded) */
	struct files_writeback wb; /* started between checkpoints, so theirs are short waits */
	const EVP_MD *md;          /* Upload-Checksum's algorithm; NULL: none asked */
	struct tus_checksum want;
	EVP_MD_CTX *ctx;
};

/* Reads Upload-Checksum h (tus_parse_checksum) into p. Returns true (p->md NULL without one), or
 * false with a 400 set. */
static bool tus_read_checksum(const char *h, struct http_response *resp, struct tus_patch *p)
{
	switch (tus_parse_checksum(h, &p->want)) {
	case TUS_CHECKSUM_NONE:
		return true;
	case TUS_CHECKSUM_OK:
		p->md = p->want.alg == TUS_CHECKSUM_SHA1 ? EVP_sha1() : EVP_sha256();
		return true;
	case TUS_CHECKSUM_MALFORMED:
		resp_error(resp, MERR_BAD_REQUEST, "Upload-Checksum",
		           "Upload-Checksum must be \"<algorithm> <base64>\"");
		return false;
	case TUS_CHECKSUM_UNSUPPORTED:
		resp_error(resp, MERR_BAD_REQUEST, "Upload-Checksum",
		           "Upload-Checksum: algorithm %.*s is not supported (" TUS_CHECKSUM_ALGORITHMS ")",
		           (int)p->want.name_len, p->want.name);
		return false;
	case TUS_CHECKSUM_BAD_DIGEST:
		resp_error(resp, MERR_BAD_REQUEST, "Upload-Checksum",
		           "Upload-Checksum: not a %.*s digest in base64", (int)p->want.name_len,
		           p->want.name);
		return false;
	}
	return false;
}

/*
 * The checkpoint: what this PATCH wrote is fdatasync'd, then recorded as the upload's offset, in
 * that order, so an offset the database holds is always on the disk. The whole length is not
 * recorded here: only the completion does, with the media row (uploads_complete), so until that
 * commits a client resumes below it. Returns MERR_OK, or the error (MERR_CONFLICT: the upload was
 * deleted or completed meanwhile) after logging a disk error.
 */
static enum merr tus_checkpoint(struct tus_patch *p)
{
	enum merr err = MERR_OK;

	if (p->written == p->synced)
		return MERR_OK;
	if (fdatasync(p->fd) != 0) {
		int e = errno;

		log_error("tus: fdatasync %s: %s", p->part, strerror(e));
		return tus_disk_error(e);
	}
	if (p->start + p->written < p->u.length)
		err = uploads_set_offset(p->req->app->db, p->u.user_id, p->u.id, p->start + p->written);
	if (err == MERR_OK)
		p->synced = p->written;
	return err;
}

/* Writes n bytes at the end of what this PATCH wrote. Returns 0 or an errno value. */
static int tus_write(struct tus_patch *p, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t w = pwrite(p->fd, data, n, (off_t)(p->start + p->written));

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		data += w;
		n -= (size_t)w;
		p->written += w;
	}
	return 0;
}

/*
 * Reads the body into the partial file, a TUS_CHUNK at a time, checkpointing every
 * tus_checkpoint_bytes when no checksum is asked (with one, nothing of the body counts before it is
 * verified). Returns MERR_OK when the body came whole (and matched its checksum), else the error
 * answered; what arrived before a client went away or stalled is still written (the caller
 * checkpoints it).
 */
static enum merr tus_receive(struct tus_patch *p, struct http_response *resp)
{
	const struct config *cfg = p->req->app->cfg;
	static char chunk[TUS_CHUNK];
	long long cl = http_content_length(p->req);
	int64_t room = p->u.length - p->start;
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;
	ssize_t n;
	int rc;

	if (cl >= 0 && cl > room) {
		resp_error(resp, MERR_PAYLOAD_TOO_LARGE, NULL,
		           "the body goes past Upload-Length: %" PRId64 " bytes are left to send", room);
		return MERR_PAYLOAD_TOO_LARGE;
	}
	for (;;) {
		n = http_read(p->req, chunk, sizeof(chunk));
		if (n == -2) {
			char msg[256];

			http_body_too_slow(p->req, msg, sizeof(msg));
			log_info("tus: body too slow after %" PRId64 " bytes", p->written);
			resp_error(resp, MERR_REQUEST_TIMEOUT, NULL, "%s", msg);
			return MERR_REQUEST_TIMEOUT;
		}
		if (n < 0 || (n == 0 && cl >= 0 && p->written < cl)) {
			/* The client went away: what came is kept (checkpointed by the caller), so it
			 * resumes from there. Nobody reads this answer. */
			log_info("tus: client disconnected after %" PRId64 " bytes", p->written);
			resp_error(resp, MERR_BAD_REQUEST, NULL, "upload interrupted");
			return MERR_BAD_REQUEST;
		}
		if (n == 0)
			break;
		if (n > room - p->written) {
			resp_error(resp, MERR_PAYLOAD_TOO_LARGE, NULL,
			           "the body goes past Upload-Length: %" PRId64 " bytes were left to send",
			           room);
			return MERR_PAYLOAD_TOO_LARGE;
		}
		if (p->ctx != NULL && EVP_DigestUpdate(p->ctx, chunk, (size_t)n) != 1) {
			resp_error(resp, MERR_INTERNAL, NULL, "cannot compute the checksum");
			return MERR_INTERNAL;
		}
		rc = tus_write(p, chunk, (size_t)n);
		if (rc != 0) {
			log_error("tus: write %s: %s", p->part, strerror(rc));
			resp_error(resp, tus_disk_error(rc), NULL, "cannot store the upload");
			return tus_disk_error(rc);
		}
		files_writeback(p->fd, &p->wb, (uint64_t)(p->start + p->written));
		if (p->ctx == NULL && p->written - p->synced >= cfg->tus_checkpoint_bytes) {
			enum merr err = tus_checkpoint(p);

			if (err != MERR_OK) {
				tus_store_error(resp, err == MERR_CONFLICT ? MERR_NOT_FOUND : err, p->u.id);
				return err;
			}
		}
	}
	if (p->ctx != NULL) {
		if (EVP_DigestFinal_ex(p->ctx, got, &got_len) != 1) {
			resp_error(resp, MERR_INTERNAL, NULL, "cannot compute the checksum");
			return MERR_INTERNAL;
		}
		if (got_len != p->want.len || sodium_memcmp(got, p->want.digest, got_len) != 0) {
			resp_error(resp, MERR_CHECKSUM_MISMATCH, "Upload-Checksum",
			           "the body does not match Upload-Checksum; nothing of it was kept");
			return MERR_CHECKSUM_MISMATCH;
		}
	}
	return MERR_OK;
}

/* media_insert_hook of a completing upload: marks it complete with its media, its offset at its
 * length, in that row's transaction. */
static enum merr tus_mark_complete(struct db *db, const struct media *m, void *arg)
{
	const struct upload *u = arg;

	return uploads_complete(db, u->id, m->id);
}

/* Removes the partial file p->part; a missing one is not an error. */
static void tus_remove_part(const struct tus_patch *p)
{
	tus_unlink(p->part);
}

/*
 * The last byte is in (and fdatasync'd): the partial file goes the way of a multipart upload
 * (upload_store), linked under its media name rather than renamed, so that until the media row
 * (and, in its transaction, the upload's completion) is committed the partial file is untouched,
 * still locked by this PATCH, and the stored offset below the length: any failure (the checker or
 * the database unavailable, a crash) leaves an upload to resume. Only once committed does the
 * partial name go. A file refused for good is removed and the upload marked failed. Answers the
 * PATCH either way.
 */
static void tus_complete(struct tus_patch *p, struct http_response *resp)
{
	struct tmpfile tmp;
	struct upload_file f;
	struct upload now;
	struct media m;
	enum merr err;

	/* The media name shares the inode: a fresh mtime keeps `mediactl gc`'s age bound off it
	 * while ffprobe runs and the row is inserted, however old the first bytes are. */
	if (futimens(p->fd, NULL) != 0) {
		int e = errno;

		log_error("tus: futimens %s: %s", p->part, strerror(e));
	}
	tmpfile_init(&tmp);
	snprintf(tmp.path, sizeof(tmp.path), "%s", p->part);
	f.tmp = &tmp;
	f.bytes = (uint64_t)p->u.length;
	f.original_name = p->u.filename;
	f.title = p->u.title;
	f.type = p->u.kind;
	f.file_field = NULL;
	f.link = true;
	f.upload_id = p->u.id;
	err = upload_store(p->req, resp, &f, p->u.project_id,
	                   p->u.project_id > 0 ? UPLOAD_IMAGE | UPLOAD_VIDEO | UPLOAD_AUDIO :
	                                         UPLOAD_VIDEO | UPLOAD_AUDIO,
	                   &m, tus_mark_complete, &p->u);
	if (err == MERR_OK) {
		p->u.media_id = m.id;
		tus_remove_part(p);
		resp_header(resp, "Upload-Offset", "%" PRId64, p->u.length);
		tus_resource_header(p->req, resp, &p->u);
		resp_status(resp, 204);
		resp_content_type(resp, "");
		return;
	}
	if (err == MERR_CONFLICT) {
		/* The row was no longer receiving when the media row came: say what it is now (gone,
		 * or, should another completion have won, complete with its media). */
		buf_reset(&resp->body); /* upload_store's 409: a 204 below has no body */
		err = uploads_get(p->req->app->db, p->u.user_id, p->u.id, &now);
		if (err != MERR_OK) {
			tus_store_error(resp, err, p->u.id);
			return;
		}
		if (strcmp(now.state, "complete") == 0)
			tus_remove_part(p);
		tus_answer_done(p->req, resp, &now, now.length);
		return;
	}
	if (err != MERR_UNSUPPORTED_MEDIA_TYPE && err != MERR_QUOTA_EXCEEDED && err != MERR_NOT_FOUND)
		return; /* unavailable, a disk or database error: the bytes stay, to try again */
	/* Refused for good (not a media file, past the quota, the project gone): nothing stays. */
	tus_remove_part(p);
	if (uploads_fail(p->req->app->db, p->u.user_id, p->u.id) != MERR_OK)
		log_error("tus: cannot mark upload %s failed", p->u.id);
}

/*
 * Opens the partial file of p->u for writing, without creating it (POST /uploads did). Returns
 * true, or false with the answer set: a missing file of an upload still receiving means its bytes
 * were lost (410, and the upload is failed); one completed meanwhile is answered as such.
 */
static bool tus_open_part(struct tus_patch *p, struct http_response *resp, int64_t offset)
{
	struct upload now;
	enum merr err;
	int e;

	p->fd = open(p->part, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (p->fd >= 0)
		return true;
	e = errno;
	if (e != ENOENT) {
		log_error("tus: open %s: %s", p->part, strerror(e));
		resp_error(resp, tus_disk_error(e), NULL, "cannot store the upload");
		return false;
	}
	/* A completion removes the name only after its commit: read the row again to tell. */
	err = uploads_get(p->req->app->db, p->u.user_id, p->u.id, &now);
	if (err != MERR_OK) {
		tus_store_error(resp, err, p->u.id);
		return false;
	}
	if (strcmp(now.state, "receiving") != 0) {
		tus_answer_done(p->req, resp, &now, offset);
		return false;
	}
	log_error("tus: %s is missing: upload %s lost its bytes", p->part, p->u.id);
	if (uploads_fail(p->req->app->db, p->u.user_id, p->u.id) != MERR_OK)
		log_error("tus: cannot mark upload %s failed", p->u.id);
	resp_error(resp, MERR_GONE, NULL, "the bytes of upload %s were lost; start a new one", p->u.id);
	return false;
}

/* PATCH /uploads/:id: bytes at Upload-Offset. */
void handle_tus_patch(struct http_request *req, struct http_response *resp)
{
	struct tus_patch p;
	struct stat st;
	int64_t offset;
	enum merr err, ended;

	memset(&p, 0, sizeof(p));
	p.req = req;
	p.fd = -1;
	if (!tus_begin(req, resp))
		return;
	if (!tus_content_type_ok(http_header(req, "Content-Type"))) {
		resp_error(resp, MERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
		           "send the bytes as Content-Type: " TUS_CONTENT_TYPE);
		return;
	}
	/* A chunked body: not streamed by lighttpd (it would spool it whole) and with no length to
	 * check against Upload-Length before a byte is written. tus clients send Content-Length. */
	if (http_content_length(req) < 0) {
		resp_error(resp, MERR_LENGTH_REQUIRED, NULL,
		           "send the PATCH with a Content-Length (a chunked body is not taken)");
		return;
	}
	if (!tus_parse_number(http_header(req, "Upload-Offset"), &offset)) {
		resp_error(resp, MERR_BAD_REQUEST, "Upload-Offset", "Upload-Offset must be a byte offset");
		return;
	}
	if (!tus_read_checksum(http_header(req, "Upload-Checksum"), resp, &p))
		return;
	if (!tus_load(req, resp, &p.u, true))
		return;
	if (strcmp(p.u.state, "complete") == 0) {
		tus_answer_done(req, resp, &p.u, offset);
		return;
	}
	tus_expires_header(resp, &p.u);
	if (!upload_part_path(req->app->cfg->media_root, p.u.id, p.part, sizeof(p.part))) {
		resp_error(resp, MERR_INTERNAL, NULL, "media_root is too long");
		return;
	}
	if (!tus_open_part(&p, resp, offset))
		goto out;
	/* One PATCH at a time per upload: the other is told at once, it does not wait. The lock is
	 * held until the end, past a completion's commit (and gc takes it before it removes). */
	if (flock(p.fd, LOCK_EX | LOCK_NB) != 0) {
		resp_error(resp, MERR_CONFLICT, NULL, "another PATCH of upload %s is in progress", p.u.id);
		goto out;
	}
	/* Read again under the lock: the PATCH that held it may have moved the offset or completed. */
	err = uploads_get(req->app->db, req->user_id, p.u.id, &p.u);
	if (err != MERR_OK) {
		tus_store_error(resp, err, p.u.id);
		goto out;
	}
	if (strcmp(p.u.state, "receiving") != 0) {
		/* Completed (or refused) while this PATCH waited; a partial name still there (a crash
		 * between a completion's commit and its unlink) is not needed any more. */
		if (strcmp(p.u.state, "complete") == 0)
			tus_remove_part(&p);
		tus_answer_done(req, resp, &p.u, offset);
		goto out;
	}
	if (offset != p.u.offset) {
		resp_header(resp, "Upload-Offset", "%" PRId64, p.u.offset);
		resp_error(resp, MERR_CONFLICT, "Upload-Offset",
		           "Upload-Offset is %" PRId64 "; the upload is at %" PRId64, offset, p.u.offset);
		goto out;
	}
	if (fstat(p.fd, &st) != 0 || st.st_size < p.u.offset) {
		/* The bytes the database counts are gone (the file was cut by hand or lost). */
		log_error("tus: %s holds fewer bytes than upload %s's offset %" PRId64, p.part, p.u.id,
		          p.u.offset);
		if (p.u.offset >= p.u.length) {
			/* Cannot be while receiving (schema); never fail an upload on it. */
			resp_error(resp, MERR_CONFLICT, NULL, "upload %s is being completed", p.u.id);
			goto out;
		}
		if (uploads_fail(req->app->db, req->user_id, p.u.id) != MERR_OK)
			log_error("tus: cannot mark upload %s failed", p.u.id);
		tus_remove_part(&p);
		resp_error(resp, MERR_GONE, NULL, "the bytes of upload %s were lost; start a new one",
		           p.u.id);
		goto out;
	}
	/* Bytes past the offset were never acknowledged (a crash between a write and its checkpoint,
	 * or a completion that failed): they go, and the client sends them again. */
	if (st.st_size > p.u.offset && ftruncate(p.fd, (off_t)p.u.offset) != 0) {
		int e = errno;

		log_error("tus: ftruncate %s: %s", p.part, strerror(e));
		resp_error(resp, tus_disk_error(e), NULL, "cannot store the upload");
		goto out;
	}
	p.start = p.u.offset;
	p.wb.from = (uint64_t)p.start;
	if (p.md != NULL) {
		p.ctx = EVP_MD_CTX_new();
		if (p.ctx == NULL || EVP_DigestInit_ex(p.ctx, p.md, NULL) != 1) {
			resp_error(resp, MERR_INTERNAL, NULL, "cannot compute the checksum");
			goto out;
		}
	}
	ended = tus_receive(&p, resp);
	if (p.ctx != NULL && ended != MERR_OK) {
		/* With a checksum nothing of a body that was not verified stays. */
		if (ftruncate(p.fd, (off_t)p.start) != 0) {
			int e = errno;

			log_error("tus: ftruncate %s: %s", p.part, strerror(e));
		}
		goto out;
	}
	/* The client gone, stalled or past Upload-Length: what came is kept all the same. */
	err = tus_checkpoint(&p);
	if (err != MERR_OK) {
		if (ended == MERR_OK)
			tus_store_error(resp, err == MERR_CONFLICT ? MERR_NOT_FOUND : err, p.u.id);
		goto out;
	}
	if (ended != MERR_OK)
		goto out;
	if (p.start + p.written == p.u.length) {
		tus_complete(&p, resp);
		goto out;
	}
	p.u.offset = p.start + p.written;
	resp_header(resp, "Upload-Offset", "%" PRId64, p.u.offset);
	resp_status(resp, 204);
	resp_content_type(resp, "");
out:
	EVP_MD_CTX_free(p.ctx);
	if (p.fd >= 0)
		close(p.fd); /* and the lock with it */
}
