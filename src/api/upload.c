/* upload.c: multipart -> temp file -> fsync -> ffprobe -> rename -> row. Nothing left on failure. */
#include "config.h"

#include "api/upload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "api/common.h"
#include "app.h"
#include "core/config.h"
#include "core/log.h"
#include "http/multipart.h"
#include "media/probe.h"
#include "store/files.h"
#include "render/presets.h"
#include "store/media.h"
#include "util/utf8.h"

/* The body is read this much at a time: one recv(2) each (http/fcgi_io.c), as much as the web
 * server's socket holds at once (its send buffer, 208 KiB by default on Linux). Static, so a
 * responder's memory stays the same however large the upload. */
#define UPLOAD_CHUNK (256 * 1024)
#define UPLOAD_FIELD_MAX 1024 /* bytes of a text field (title, type) */
#define TITLE_MAX_CHARS UPLOAD_TITLE_MAX_CHARS
/* With a quota, a body whose Content-Length passes the room left by more than this is refused
 * before it is read: the multipart framing around a file (boundaries, part headers, the title and
 * type fields) takes a few hundred bytes, so such a body cannot hold a file that fits. Within the
 * slack the file itself is measured as it arrives. */
#define UPLOAD_QUOTA_SLACK (64 * 1024)

/* Why a callback stopped the parser: the status to answer with. */
struct upload_ctx {
	struct http_request *req;
	struct tmpfile tmp;
	bool have_file;
	enum { PART_SKIP, PART_FILE, PART_TITLE, PART_TYPE } part;
	struct buf field;
	char title[TITLE_MAX_CHARS * 4 + 1];
	char type[16];
	char original_name[MULTIPART_FILENAME_MAX + 1];
	uint64_t file_bytes;
	int64_t room; /* bytes the file may take under the user's quota; -1: no quota */
	enum merr fail;
	char fail_msg[256];
	const char *fail_field;
	struct files_writeback writeback;
};

static int ctx_fail(struct upload_ctx *c, enum merr e, const char *field, const char *msg)
{
	c->fail = e;
	c->fail_field = field;
	snprintf(c->fail_msg, sizeof(c->fail_msg), "%s", msg);
	return 1;
}

/* The message of the 413 quota_exceeded, naming the quota, into out. */
static void quota_message(const struct config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen,
	         "this upload would take your media past your storage quota of %lld bytes; delete some "
	         "media first",
	         cfg->storage_quota_bytes);
}

void upload_quota_error(struct http_response *resp, const struct config *cfg)
{
	char msg[256];

	quota_message(cfg, msg, sizeof(msg));
	resp_error(resp, MERR_QUOTA_EXCEEDED, NULL, "%s", msg);
}

/* Stops the upload with a 413 quota_exceeded naming the quota. */
static int quota_fail(struct upload_ctx *c)
{
	c->fail = MERR_QUOTA_EXCEEDED;
	c->fail_field = NULL;
	quota_message(c->req->app->cfg, c->fail_msg, sizeof(c->fail_msg));
	return 1;
}

bool upload_title_ok(const char *s, size_t len)
{
	size_t chars;

	return utf8_valid(s, len, &chars) && chars <= TITLE_MAX_CHARS;
}

bool upload_type_ok(const char *s)
{
	return strcmp(s, "video") == 0 || strcmp(s, "audio") == 0 || strcmp(s, "image") == 0;
}

static bool name_is(const struct multipart_part *p, const char *s)
{
	return p->name_len == strlen(s) && memcmp(p->name, s, p->name_len) == 0;
}

static int on_part_begin(void *arg, const struct multipart_part *p)
{
	struct upload_ctx *c = arg;
	int rc;

	buf_reset(&c->field);
	c->part = PART_SKIP;
	if (name_is(p, "asset") || name_is(p, "file")) {
		if (c->have_file)
			return ctx_fail(c, MERR_BAD_REQUEST, p->name_len == 5 ? "asset" : "file",
			                "send one file per upload");
		c->have_file = true;
		c->part = PART_FILE;
		if (p->filename != NULL)
			multipart_filename_sanitize(p->filename, p->filename_len, c->original_name,
			                            sizeof(c->original_name));
		rc = tmpfile_create(&c->tmp, c->req->app->cfg->media_root, "uploads");
		if (rc != 0) {
			log_error("upload: cannot create a file under the media root: %s", strerror(rc));
			return ctx_fail(
			        c, rc == ENOSPC || rc == EDQUOT ? MERR_INSUFFICIENT_STORAGE : MERR_INTERNAL,
			        NULL,
			        rc == ENOSPC || rc == EDQUOT ?
			                "the server has no space left for this upload" :
			                "cannot store the upload");
		}
	} else if (name_is(p, "title")) {
		c->part = PART_TITLE;
	} else if (name_is(p, "type")) {
		c->part = PART_TYPE;
	}
	return 0;
}

static int on_part_data(void *arg, const char *data, size_t len)
{
	struct upload_ctx *c = arg;
	int rc;

	switch (c->part) {
	case PART_SKIP:
		return 0;
	case PART_FILE:
		/* Checked before the bytes are written: past the quota nothing more reaches the disk, and
		 * the temporary file is removed with the rest. */
		if (c->room >= 0 && c->file_bytes + len > (uint64_t)c->room)
			return quota_fail(c);
		c->file_bytes += len;
		rc = tmpfile_write(&c->tmp, data, len);
		if (rc == ENOSPC || rc == EDQUOT)
			return ctx_fail(c, MERR_INSUFFICIENT_STORAGE, NULL,
			                "the server has no space left for this upload");
		if (rc != 0) {
			log_error("upload: write: %s", strerror(rc));
			return ctx_fail(c, MERR_INTERNAL, NULL, "cannot store the upload");
		}
		files_writeback(c->tmp.fd, &c->writeback, c->file_bytes);
		return 0;
	case PART_TITLE:
	case PART_TYPE:
		if (c->field.len + len > UPLOAD_FIELD_MAX)
			return ctx_fail(c, MERR_BAD_REQUEST, c->part == PART_TITLE ? "title" : "type",
			                c->part == PART_TITLE ? "title is too long" : "type is too long");
		if (buf_append(&c->field, data, len) != 0)
			return ctx_fail(c, MERR_INTERNAL, NULL, "out of memory");
		return 0;
	}
	return 0;
}

static int on_part_end(void *arg)
{
	struct upload_ctx *c = arg;

	if (c->part == PART_TITLE) {
		if (!upload_title_ok(c->field.data, c->field.len))
			return ctx_fail(c, MERR_BAD_REQUEST, "title", UPLOAD_TITLE_RULE);
		snprintf(c->title, sizeof(c->title), "%s", c->field.data);
	} else if (c->part == PART_TYPE) {
		if (!upload_type_ok(c->field.data))
			return ctx_fail(c, MERR_BAD_REQUEST, "type", UPLOAD_TYPE_RULE);
		snprintf(c->type, sizeof(c->type), "%s", c->field.data);
	}
	c->part = PART_SKIP;
	return 0;
}

/* Answers the response for a failed multipart parse. */
static void parse_error(struct http_response *resp, struct upload_ctx *c, struct multipart *mp,
                        enum multipart_err e)
{
	if (e == MULTIPART_ERR_ABORTED)
		resp_error(resp, c->fail, c->fail_field, "%s", c->fail_msg);
	else if (e == MULTIPART_ERR_HEADERS_TOO_LARGE || e == MULTIPART_ERR_TOO_MANY_PARTS)
		resp_error(resp, MERR_PAYLOAD_TOO_LARGE, NULL, "%s", multipart_message(mp));
	else if (e == MULTIPART_ERR_NOMEM)
		resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
	else
		resp_error(resp, MERR_BAD_REQUEST, NULL, "malformed multipart body: %s",
		           multipart_message(mp));
}

/* Reads the whole body through the parser. Returns true when a complete body with a file was read. */
static bool upload_stream(struct http_request *req, struct http_response *resp, struct upload_ctx *c)
{
	const struct config *cfg = req->app->cfg;
	static const struct multipart_callbacks cb = { on_part_begin, on_part_data, on_part_end, NULL };
	struct multipart_limits lim = { (size_t)cfg->upload_max_parts, (size_t)cfg->upload_max_header_bytes };
	struct multipart *mp = NULL;
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	static char chunk[UPLOAD_CHUNK];
	long long cl = http_content_length(req);
	enum multipart_err me;
	bool ok = false;
	ssize_t n;

	if (cl >= 0 && cl > cfg->upload_max_bytes) {
		resp_error(resp, MERR_PAYLOAD_TOO_LARGE, NULL, "upload larger than the %lld-byte limit",
		           cfg->upload_max_bytes);
		return false;
	}
	if (cl >= 0 && c->room >= 0 && cl > c->room && cl - c->room > UPLOAD_QUOTA_SLACK) {
		quota_fail(c);
		resp_error(resp, c->fail, NULL, "%s", c->fail_msg);
		return false;
	}
	me = multipart_boundary_from_content_type(http_header(req, "Content-Type"), boundary,
	                                          sizeof(boundary));
	if (me != MULTIPART_OK) {
		resp_error(resp, MERR_UNSUPPORTED_MEDIA_TYPE, NULL,
		           "send the file as multipart/form-data in field \"asset\" or \"file\" (%s)",
		           multipart_strerror(me));
		return false;
	}
	me = multipart_new(&mp, boundary, &lim, &cb, c);
	if (me != MULTIPART_OK) {
		resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
		return false;
	}
	for (;;) {
		n = http_read(req, chunk, sizeof(chunk));
		if (n == -2) {
			/* Too slow (body_read_timeout_ms, body_min_rate_bps): this responder is not held any
			 * longer; the temporary file goes with the rest. */
			char msg[256];

			http_body_too_slow(req, msg, sizeof(msg));
			log_info("upload: body too slow after %llu bytes",
			         (unsigned long long)req->body_read);
			resp_error(resp, MERR_REQUEST_TIMEOUT, NULL, "%s", msg);
			goto out;
		}
		if (n < 0) {
			/* The client went away: nobody reads the answer, but nothing may stay behind. */
			log_info("upload: client disconnected after %llu bytes",
			         (unsigned long long)req->body_read);
			resp_error(resp, MERR_BAD_REQUEST, NULL, "upload interrupted");
			goto out;
		}
		if (n == 0)
			break;
		if (req->body_read > (uint64_t)cfg->upload_max_bytes) {
			resp_error(resp, MERR_PAYLOAD_TOO_LARGE, NULL,
			           "upload larger than the %lld-byte limit", cfg->upload_max_bytes);
			goto out;
		}
		me = multipart_feed(mp, chunk, (size_t)n);
		if (me != MULTIPART_OK) {
			parse_error(resp, c, mp, me);
			goto out;
		}
	}
	if (cl >= 0 && req->body_read != (uint64_t)cl) {
		resp_error(resp, MERR_BAD_REQUEST, NULL, "upload interrupted");
		goto out;
	}
	me = multipart_finish(mp);
	if (me != MULTIPART_OK) {
		parse_error(resp, c, mp, me);
		goto out;
	}
	if (!c->have_file) {
		resp_error(resp, MERR_BAD_REQUEST, "asset",
		           "no file: send it in field \"asset\" (or \"file\")");
		goto out;
	}
	ok = true;
out:
	multipart_free(mp);
	return ok;
}

/* The auto_renditions presets that take media of kind, as a text[] literal ("{hls,poster}"), or ""
 * when none does. The names were checked at start-up (config_check). */
static void upload_renditions(const struct config *cfg, const char *kind, char *out, size_t outlen)
{
	char names[CONFIG_RENDITIONS_MAX][CONFIG_RENDITION_NAME], why[128];
	int n = config_auto_renditions(cfg, names, why, sizeof(why)), i;
	size_t o = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		const struct preset *p = preset_find(names[i]);
		int w;

		if (p == NULL || !preset_accepts(p, kind))
			continue;
		w = snprintf(out + o, outlen - o, "%s%s", o == 0 ? "{" : ",", names[i]);
		if (w < 0 || (size_t)w >= outlen - o - 1) {
			out[0] = '\0'; /* cannot happen: 8 names of 16 bytes */
			return;
		}
		o += (size_t)w;
	}
	if (o > 0)
		snprintf(out + o, outlen - o, "}");
}

enum merr upload_store(struct http_request *req, struct http_response *resp, const struct upload_file *f,
                       int64_t project_id, unsigned kinds, struct media *m, media_insert_hook then, void *arg)
{
	char presets[CONFIG_RENDITIONS_MAX * CONFIG_RENDITION_NAME + 4];
	const struct config *cfg = req->app->cfg;
	struct probe_result pr;
	char why[256];
	enum merr err;
	unsigned got;
	int rc;

	rc = probe_file(cfg->ffprobe_path, f->tmp->path, (int)cfg->ffprobe_timeout, &pr, why, sizeof(why));
	if (rc == -2) {
		/* Our fault, not the file's: say so, and log it once. */
		log_error("upload: %s", why);
		resp_error(resp, MERR_UNAVAILABLE, NULL,
		           "the media checker is unavailable; try again shortly");
		return MERR_UNAVAILABLE;
	}
	if (rc != 0) {
		resp_error(resp, MERR_UNSUPPORTED_MEDIA_TYPE, f->file_field,
		           "not an image, video or audio file: %s", why);
		return MERR_UNSUPPORTED_MEDIA_TYPE;
	}
	got = pr.kind == PROBE_IMAGE ? UPLOAD_IMAGE :
	      pr.kind == PROBE_VIDEO ? UPLOAD_VIDEO :
	      pr.kind == PROBE_AUDIO ? UPLOAD_AUDIO :
	                               0;
	if ((got & kinds) == 0) {
		resp_error(resp, MERR_UNSUPPORTED_MEDIA_TYPE, f->file_field,
		           "%s files are not accepted here; found %s", probe_kind_name(pr.kind), pr.found);
		return MERR_UNSUPPORTED_MEDIA_TYPE;
	}
	if (f->type[0] != '\0' && strcmp(f->type, probe_kind_name(pr.kind)) != 0) {
		resp_error(resp, MERR_UNSUPPORTED_MEDIA_TYPE, "type", "type says %s but the file is %s",
		           f->type, pr.found);
		return MERR_UNSUPPORTED_MEDIA_TYPE;
	}
	memset(m, 0, sizeof(*m));
	m->user_id = req->user_id;
	m->project_id = project_id;
	snprintf(m->kind, sizeof(m->kind), "%s", probe_kind_name(pr.kind));
	snprintf(m->mime, sizeof(m->mime), "%s", pr.mime);
	snprintf(m->video_codec, sizeof(m->video_codec), "%s", pr.video_codec);
	snprintf(m->audio_codec, sizeof(m->audio_codec), "%s", pr.audio_codec);
	snprintf(m->original_name, sizeof(m->original_name), "%s", f->original_name);
	snprintf(m->title, sizeof(m->title), "%s",
	         f->title[0]         ? f->title :
	         f->original_name[0] ? f->original_name :
	                               "untitled");
	m->size_bytes = (int64_t)f->bytes;
	m->duration_ms = pr.duration_ms;
	m->width = pr.width;
	m->height = pr.height;
	m->frame_rate_milli = pr.frame_rate_milli;
	files_new_name("uploads", pr.ext, m->path, sizeof(m->path));
	rc = f->link ? tmpfile_link(f->tmp, cfg->media_root, m->path) :
	               tmpfile_commit(f->tmp, cfg->media_root, m->path);
	if (rc != 0) {
		log_error("upload: %s into place: %s", f->link ? "link" : "rename", strerror(rc));
		/* A link whose folder could not be synced: the name goes, the file keeps its own. */
		if (f->link && files_remove(cfg->media_root, m->path) != 0)
			log_error("upload: cannot remove %s after a failed link", m->path);
		resp_error(resp, rc == ENOSPC || rc == EDQUOT ? MERR_INSUFFICIENT_STORAGE : MERR_INTERNAL,
		           NULL, "cannot store the upload");
		return rc == ENOSPC || rc == EDQUOT ? MERR_INSUFFICIENT_STORAGE : MERR_INTERNAL;
	}
	upload_renditions(cfg, m->kind, presets, sizeof(presets));
	err = media_insert_within(req->app->db, m, cfg->storage_quota_bytes, f->upload_id, presets,
	                          (int)cfg->render_max_attempts, then, arg);
	if (err != MERR_OK) {
		/* The project vanished meanwhile (foreign key), or the database refused: take the file
		 * back. But when the reply was lost (unavailable) the row may have been committed, and a
		 * file a row points at is never removed: `mediactl gc` removes it later if no row does. */
		if (err != MERR_UNAVAILABLE && files_remove(cfg->media_root, m->path) != 0)
			log_error("upload: cannot remove %s after a failed insert", m->path);
		if (err == MERR_QUOTA_EXCEEDED) {
			/* Another upload of this user was stored while this one was read. */
			upload_quota_error(resp, cfg);
		} else if (err == MERR_NOT_FOUND) {
			resp_not_found(resp, "project", project_id);
		} else if (err == MERR_UNAVAILABLE) {
			resp_error(resp, err, NULL, "the database is unavailable; try again shortly");
		} else if (err == MERR_CONFLICT) {
			resp_error(resp, err, NULL, "this upload was completed meanwhile");
		} else {
			resp_error(resp, MERR_INTERNAL, NULL, "cannot record the upload");
		}
		return err;
	}
	return MERR_OK;
}

bool upload_receive(struct http_request *req, struct http_response *resp, int64_t project_id, unsigned kinds,
                    struct media *m)
{
	const struct config *cfg = req->app->cfg;
	struct upload_ctx c;
	struct upload_file f;
	bool ok = false;
	enum merr err;
	int rc;

	memset(&c, 0, sizeof(c));
	c.req = req;
	c.room = -1;
	tmpfile_init(&c.tmp);
	buf_init(&c.field);
	if (cfg->storage_quota_bytes > 0) {
		int64_t used = 0;

		/* A first measure, before a byte is stored, open tus uploads' reservations included; the
		 * insert measures again under a lock. */
		err = media_usage_reserved(req->app->db, req->user_id, NULL, &used);
		if (err != MERR_OK) {
			resp_store_error(resp, err, "usage");
			goto out;
		}
		c.room = used < cfg->storage_quota_bytes ? cfg->storage_quota_bytes - used : 0;
	}
	if (!upload_stream(req, resp, &c))
		goto out;
	rc = tmpfile_sync(&c.tmp);
	if (rc != 0) {
		resp_error(resp, rc == ENOSPC || rc == EDQUOT ? MERR_INSUFFICIENT_STORAGE : MERR_INTERNAL,
		           NULL, "cannot store the upload");
		goto out;
	}
	f.tmp = &c.tmp;
	f.bytes = c.file_bytes;
	f.original_name = c.original_name;
	f.title = c.title;
	f.type = c.type;
	f.file_field = "asset";
	f.link = false;
	f.upload_id = NULL;
	ok = upload_store(req, resp, &f, project_id, kinds, m, NULL, NULL) == MERR_OK;
out:
	tmpfile_discard(&c.tmp);
	buf_free(&c.field);
	return ok;
}
