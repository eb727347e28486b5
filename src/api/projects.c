/* projects.c: POST/GET /projects, GET/PATCH/DELETE /projects/:id. Owner-scoped throughout. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "app.h"
#include "core/config.h"
#include "core/log.h"
#include "http/json_body.h"
#include "store/analytics_cache.h"
#include "store/files.h"
#include "store/projects.h"

#define TITLE_MAX_CHARS 200
#define DESCRIPTION_MAX_CHARS 5000

void handle_projects_create(struct http_request *req, struct http_response *resp)
{
	struct json_object *body = http_json_body(req, resp), *out = NULL;
	const char *title, *description = NULL;
	struct verr e;
	enum merr err;

	if (body == NULL)
		return;
	if (jget_string(body, "title", JGET_REQUIRED, 1, TITLE_MAX_CHARS, TITLE_MAX_CHARS * 4, &title, &e) <
	            0 ||
	    jget_string(body, "description", JGET_NULLABLE, 0, DESCRIPTION_MAX_CHARS,
	                DESCRIPTION_MAX_CHARS * 4, &description, &e) < 0) {
		resp_verr(resp, &e);
		goto out;
	}
	err = projects_create(req->app->db, req->user_id, title, description, &out);
	if (err != MERR_OK) {
		resp_store_error(resp, err, "project");
		goto out;
	}
	resp_json(resp, 201, out);
out:
	json_object_put(body);
}

void handle_projects_list(struct http_request *req, struct http_response *resp)
{
	struct json_object *items = NULL;
	int64_t limit, offset, total = 0;
	enum merr err;

	if (!api_pagination(req, resp, &limit, &offset))
		return;
	err = projects_list(req->app->db, req->user_id, limit, offset, &items, &total);
	if (err != MERR_OK) {
		resp_store_error(resp, err, "projects");
		return;
	}
	api_list_response(resp, items, total, limit, offset);
}

void handle_projects_get(struct http_request *req, struct http_response *resp)
{
	struct json_object *out = NULL;
	int64_t id;
	enum merr err;

	if (!api_route_id(req, resp, "project", &id))
		return;
	err = projects_get(req->app->db, req->user_id, id, &out);
	if (err != MERR_OK)
		resp_store_error_id(resp, err, "project", id);
	else
		resp_json(resp, 200, out);
}

void handle_projects_update(struct http_request *req, struct http_response *resp)
{
	static const char *const allowed[] = { "title", "description", NULL };
	struct json_object *body, *out = NULL;
	const char *title = NULL, *description = NULL;
	int has_title, has_desc;
	struct verr e;
	int64_t id;
	enum merr err;

	if (!api_route_id(req, resp, "project", &id))
		return;
	body = http_json_body(req, resp);
	if (body == NULL)
		return;
	if (jcheck_keys(body, allowed, &e) < 0) {
		resp_verr(resp, &e);
		goto out;
	}
	has_title = jget_string(body, "title", JGET_OPTIONAL, 1, TITLE_MAX_CHARS, TITLE_MAX_CHARS * 4, &title,
	                        &e);
	if (has_title < 0) {
		resp_verr(resp, &e);
		goto out;
	}
	/* description: a string sets it, an explicit null clears it, absence keeps it. */
	has_desc = json_object_object_get_ex(body, "description", NULL);
	if (has_desc && jget_string(body, "description", JGET_NULLABLE, 0, DESCRIPTION_MAX_CHARS,
	                            DESCRIPTION_MAX_CHARS * 4, &description, &e) < 0) {
		resp_verr(resp, &e);
		goto out;
	}
	if (has_title == 0 && !has_desc) {
		resp_error(resp, MERR_BAD_REQUEST, NULL, "nothing to change: send title and/or description");
		goto out;
	}
	err = projects_update(req->app->db, req->user_id, id, title, has_desc, description, &out);
	if (err != MERR_OK)
		resp_store_error_id(resp, err, "project", id);
	else
		resp_json(resp, 200, out);
out:
	json_object_put(body);
}

void handle_projects_delete(struct http_request *req, struct http_response *resp)
{
	struct buf paths = BUF_INIT, ids = BUF_INIT;
	const char *p;
	int64_t id;
	enum merr err;

	if (!api_route_id(req, resp, "project", &id))
		return;
	err = projects_delete(req->app->db, req->user_id, id, &paths, &ids);
	if (err != MERR_OK) {
		resp_store_error_id(resp, err, "project", id);
		goto out;
	}
	/* The rows are gone; now the files. A file that cannot be removed is only logged: no row
	 * points to it any more, and `mediactl gc` finds such files. */
	for (p = paths.data; p < paths.data + paths.len; p += strlen(p) + 1) {
		size_t len = strlen(p);
		int rc;

		if (len > 1 && p[len - 1] == '/') {
			/* A rendition folder (projects.h): checked like every stored name, then removed
			 * whole. */
			char rel[FILES_PATH_MAX], abs[FILES_PATH_MAX];

			snprintf(rel, sizeof(rel), "%.*s", (int)(len - 1), p);
			rc = files_abs(req->app->cfg->media_root, rel, abs, sizeof(abs)) ?
			             files_remove_tree(abs) :
			             EINVAL;
		} else {
			rc = files_remove(req->app->cfg->media_root, p);
		}
		if (rc != 0)
			log_error("project %lld: cannot remove %s: %s", (long long)id, p, strerror(rc));
	}
	for (p = ids.data; p < ids.data + ids.len; p += strlen(p) + 1)
		analytics_cache_drop(req->app->kv, strtoll(p, NULL, 10));
	resp_status(resp, 204);
out:
	buf_free(&paths);
	buf_free(&ids);
}
