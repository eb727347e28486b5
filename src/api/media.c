/* media.c: project assets (POST/GET /projects/:id/assets) and /media (upload, list, get, delete). */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/upload.h"
#include "app.h"
#include "core/config.h"
#include "core/log.h"
#include "store/analytics_cache.h"
#include "store/files.h"
#include "store/media.h"
#include "store/projects.h"
#include "store/renditions.h"

/* Checks the :id project belongs to the caller. Answers 404 otherwise. */
static bool own_project(struct http_request *req, struct http_response *resp, int64_t *id)
{
	enum merr err;

	if (!api_route_id(req, resp, "project", id))
		return false;
	err = projects_check_owner(req->app->db, req->user_id, *id);
	if (err != MERR_OK)
		resp_store_error_id(resp, err, "project", *id);
	return err == MERR_OK;
}

/*
 * The media object of m with its stored renditions and rendition jobs (one query) when stored is
 * true, as media_json's empty arrays otherwise. Out of memory is a 500 (resp_json of NULL), never a
 * media shown without them. Returns the object (owned by the response), or NULL when an answer was
 * set instead.
 */
static struct json_object *media_full_json(struct http_request *req, struct http_response *resp,
                                           const struct media *m, bool stored)
{
	struct json_object *o = NULL;
	enum merr err;

	if (!stored) {
		o = media_json(m);
		if (o == NULL)
			resp_json(resp, 500, NULL);
		return o;
	}
	err = media_json_stored(req->app->db, m, &o);
	if (err == MERR_INTERNAL)
		resp_json(resp, 500, NULL);
	else if (err != MERR_OK)
		resp_store_error(resp, err, "renditions");
	return o;
}

/* Answers status with media_full_json. */
static void media_answer(struct http_request *req, struct http_response *resp, int status,
                         const struct media *m, bool stored)
{
	struct json_object *o = media_full_json(req, resp, m, stored);

	if (o != NULL)
		resp_json(resp, status, o);
}

/* An upload that queued rendition jobs (status processing) shows them; others have none yet. */
static bool upload_has_jobs(const struct media *m)
{
	return strcmp(m->status, "processing") == 0;
}

void handle_assets_upload(struct http_request *req, struct http_response *resp)
{
	struct json_object *o;
	struct media m;
	int64_t pid;

	/* The project is checked before a byte of the body is read: a bad id costs no disk. */
	if (!own_project(req, resp, &pid))
		return;
	if (!upload_receive(req, resp, pid, UPLOAD_IMAGE | UPLOAD_VIDEO | UPLOAD_AUDIO, &m))
		return;
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "message", json_object_new_string("File uploaded"));
		json_object_object_add(o, "path", json_object_new_string(m.path));
		struct json_object *a = media_full_json(req, resp, &m, upload_has_jobs(&m));

		if (a == NULL) {
			json_object_put(o);
			return;
		}
		json_object_object_add(o, "asset", a);
	}
	resp_json(resp, 201, o);
}

void handle_assets_list(struct http_request *req, struct http_response *resp)
{
	struct json_object *items = NULL;
	const char *origin = query_get(&req->query, "origin");
	int64_t pid, limit, offset, total = 0;
	enum merr err;

	if (!own_project(req, resp, &pid) || !api_pagination(req, resp, &limit, &offset))
		return;
	/* A project's assets are what was uploaded to it; its renders' outputs on request. */
	if (origin == NULL) {
		origin = "upload";
	} else if (strcmp(origin, "all") == 0) {
		origin = NULL;
	} else if (strcmp(origin, "upload") != 0 && strcmp(origin, "render") != 0) {
		resp_error(resp, MERR_BAD_REQUEST, "origin", "origin must be upload, render or all");
		return;
	}
	err = media_list(req->app->db, req->user_id, pid, origin, limit, offset, &items, &total);
	if (err != MERR_OK) {
		resp_store_error(resp, err, "assets");
		return;
	}
	api_list_response(resp, items, total, limit, offset);
}

void handle_media_upload(struct http_request *req, struct http_response *resp)
{
	struct media m;

	/* The second seed's media are video and audio only. */
	if (!upload_receive(req, resp, 0, UPLOAD_VIDEO | UPLOAD_AUDIO, &m))
		return;
	media_answer(req, resp, 201, &m, upload_has_jobs(&m));
}

void handle_media_list(struct http_request *req, struct http_response *resp)
{
	struct json_object *items = NULL;
	int64_t limit, offset, total = 0;
	enum merr err;

	if (!api_pagination(req, resp, &limit, &offset))
		return;
	err = media_list(req->app->db, req->user_id, 0, NULL, limit, offset, &items, &total);
	if (err != MERR_OK) {
		resp_store_error(resp, err, "media");
		return;
	}
	api_list_response(resp, items, total, limit, offset);
}

void handle_media_get(struct http_request *req, struct http_response *resp)
{
	struct media m;
	int64_t id;
	enum merr err;

	if (!api_route_id(req, resp, "media", &id))
		return;
	err = media_get(req->app->db, req->user_id, id, &m);
	if (err != MERR_OK) {
		resp_store_error_id(resp, err, "media", id);
		return;
	}
	/* After the ownership check: another user's media shows nothing, not even its renditions. */
	media_answer(req, resp, 200, &m, true);
}

void handle_media_delete(struct http_request *req, struct http_response *resp)
{
	char path[MEDIA_PATH_MAX], dirs[1024];
	const char *d, *e;
	int64_t id;
	enum merr err;
	int rc;

	if (!api_route_id(req, resp, "media", &id))
		return;
	err = media_delete(req->app->db, req->user_id, id, path, dirs, sizeof(dirs));
	if (err != MERR_OK) {
		resp_store_error_id(resp, err, "media", id);
		return;
	}
	/* Its cached analytics would still answer its owner without asking the database. */
	analytics_cache_drop(req->app->kv, id);
	rc = files_remove(req->app->cfg->media_root, path);
	if (rc != 0)
		log_error("media %lld: cannot remove %s: %s", (long long)id, path, strerror(rc));
	/* The rendition folders: names from our own rows, re-checked like every stored path. */
	for (d = dirs; *d != '\0'; d = *e ? e + 1 : e) {
		char rel[MEDIA_PATH_MAX], abs[FILES_PATH_MAX];

		e = d + strcspn(d, ",");
		snprintf(rel, sizeof(rel), "%.*s", (int)(e - d), d);
		rc = files_abs(req->app->cfg->media_root, rel, abs, sizeof(abs)) ? files_remove_tree(abs) :
		                                                                   EINVAL;
		if (rc != 0)
			log_error("media %lld: cannot remove %s: %s", (long long)id, rel, strerror(rc));
	}
	resp_status(resp, 204);
}
