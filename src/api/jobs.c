/* jobs.c: POST /projects/:id/render, GET /jobs/:id, GET /projects/:id/jobs, DELETE /jobs/:id. */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "app.h"
#include "core/config.h"
#include "http/json_body.h"
#include "render/presets.h"
#include "store/jobs.h"
#include "store/media.h"
#include "store/projects.h"

/*
 * Queues preset on in for the caller (project_id 0: none) and answers 202 {"message", "jobId",
 * "inputFile", "outputFile"} with Location /jobs/<id>, or the refusal: 429 at the user's cap of open
 * jobs, the store's error otherwise. POST /projects/:id/render and POST /media/:id/renditions.
 */
static void render_enqueue(struct http_request *req, struct http_response *resp, int64_t project_id,
                           const struct job_input *in, const struct preset *preset)
{
	char id[JOB_ID_LEN + 1], output[128];
	struct json_object *o;
	enum merr err;

	err = jobs_enqueue(req->app->db, req->user_id, project_id, in, preset_name(preset),
	                   preset_ext(preset), (int)req->app->cfg->render_max_attempts,
	                   req->app->cfg->render_max_queued_per_user, id, output, sizeof(output));
	if (err == MERR_RATE_LIMITED) {
		/* A queue cap, not a rate: it frees up as jobs finish, so no Retry-After is promised. */
		resp_error(
		        resp, err, NULL,
		        "you already have %lld render jobs waiting or running (render_max_queued_per_user); "
		        "wait for some to finish or cancel them",
		        req->app->cfg->render_max_queued_per_user);
		return;
	}
	if (err != MERR_OK) {
		resp_store_error(resp, err, "job");
		return;
	}
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "message", json_object_new_string("Render job enqueued"));
		json_object_object_add(o, "jobId", json_object_new_string(id));
		json_object_object_add(o, "inputFile", json_object_new_string(in->path));
		json_object_object_add(o, "outputFile", json_object_new_string(output));
	}
	resp_header(resp, "Location", "%s/jobs/%s", req->base, id);
	resp_json(resp, 202, o);
}

void handle_render_create(struct http_request *req, struct http_response *resp)
{
	static const char *const allowed[] = { "assetId", "preset", NULL };
	struct json_object *body = NULL;
	const struct preset *preset;
	const char *pname = "mp4";
	struct job_input in;
	struct verr e;
	int64_t pid, asset_id = 0;
	enum merr err;

	if (!api_route_id(req, resp, "project", &pid))
		return;
	err = projects_check_owner(req->app->db, req->user_id, pid);
	if (err != MERR_OK) {
		resp_store_error_id(resp, err, "project", pid);
		return;
	}
	/* The body is optional; there is never a path in it, only an asset id and a preset name. */
	body = http_json_body_optional(req, resp);
	if (body == NULL)
		return;
	if (jcheck_keys(body, allowed, &e) < 0 ||
	    jget_int(body, "assetId", JGET_NULLABLE, 1, INT64_MAX - 1, &asset_id, &e) < 0 ||
	    jget_string(body, "preset", JGET_NULLABLE, 1, 32, 32, &pname, &e) < 0) {
		resp_verr(resp, &e);
		goto out;
	}
	preset = preset_find(pname);
	if (preset == NULL) {
		resp_error(resp, MERR_BAD_REQUEST, "preset", "unknown preset \"%.32s\"; use one of %s", pname,
		           preset_names());
		goto out;
	}
	err = jobs_pick_input(req->app->db, req->user_id, pid, asset_id, &in);
	if (err == MERR_NOT_FOUND) {
		if (asset_id > 0)
			resp_error(resp, err, "assetId", "asset %lld not found in project %lld",
			           (long long)asset_id, (long long)pid);
		else
			resp_error(resp, MERR_CONFLICT, NULL,
			           "project %lld has no assets to render; upload one first", (long long)pid);
		goto out;
	}
	if (err != MERR_OK) {
		resp_store_error(resp, err, "asset");
		goto out;
	}
	if (!preset_accepts(preset, in.kind)) {
		resp_error(resp, MERR_BAD_REQUEST, "preset", "preset %s cannot render %s input",
		           preset_name(preset), in.kind);
		goto out;
	}
	render_enqueue(req, resp, pid, &in, preset);
out:
	json_object_put(body);
}

/*
 * POST /media/:id/renditions {"preset": "hls" | "poster" | "storyboard"}: a rendition job on one of
 * the caller's media, a /media upload (no project) as well as a project's asset. The answer is that
 * of POST /projects/:id/render; the media's renditionJobs then lists it.
 */
void handle_media_renditions_create(struct http_request *req, struct http_response *resp)
{
	static const char *const allowed[] = { "preset", NULL };
	struct json_object *body = NULL;
	const struct preset *preset;
	const char *pname = NULL;
	struct job_input in;
	struct media m;
	struct verr e;
	int64_t mid;
	enum merr err;

	if (!api_route_id(req, resp, "media", &mid))
		return;
	err = media_get(req->app->db, req->user_id, mid, &m);
	if (err != MERR_OK) {
		resp_store_error_id(resp, err, "media", mid);
		return;
	}
	body = http_json_body(req, resp);
	if (body == NULL)
		return;
	if (jcheck_keys(body, allowed, &e) < 0 ||
	    jget_string(body, "preset", JGET_REQUIRED, 1, 32, 32, &pname, &e) < 0) {
		resp_verr(resp, &e);
		goto out;
	}
	preset = preset_find(pname);
	if (preset == NULL || preset_rendition(preset) == 0) {
		resp_error(resp, MERR_BAD_REQUEST, "preset",
		           "preset must be hls, poster or storyboard (got \"%.32s\")", pname);
		goto out;
	}
	if (!preset_accepts(preset, m.kind)) {
		resp_error(resp, MERR_BAD_REQUEST, "preset", "preset %s cannot render %s input",
		           preset_name(preset), m.kind);
		goto out;
	}
	in.media_id = m.id;
	snprintf(in.path, sizeof(in.path), "%s", m.path);
	snprintf(in.kind, sizeof(in.kind), "%s", m.kind);
	render_enqueue(req, resp, m.project_id, &in, preset);
out:
	json_object_put(body);
}

/* The :id of /jobs/:id, which must look like a UUID; anything else is simply not found. */
static const char *job_param(struct http_request *req, struct http_response *resp)
{
	const char *id = http_route_param(req, "id");

	if (!job_id_ok(id)) {
		resp_error(resp, MERR_NOT_FOUND, NULL, "job %.40s not found", id ? id : "");
		return NULL;
	}
	return id;
}

void handle_job_get(struct http_request *req, struct http_response *resp)
{
	struct json_object *out = NULL;
	const char *id = job_param(req, resp);
	enum merr err;

	if (id == NULL)
		return;
	err = jobs_get(req->app->db, req->user_id, id, &out);
	if (err == MERR_NOT_FOUND)
		resp_error(resp, err, NULL, "job %s not found", id);
	else if (err != MERR_OK)
		resp_store_error(resp, err, "job");
	else {
		resp_header(resp, "Cache-Control", "no-store");
		resp_json(resp, 200, out);
	}
}

void handle_project_jobs(struct http_request *req, struct http_response *resp)
{
	struct json_object *items = NULL;
	int64_t pid, limit, offset, total = 0;
	enum merr err;

	if (!api_route_id(req, resp, "project", &pid) || !api_pagination(req, resp, &limit, &offset))
		return;
	err = projects_check_owner(req->app->db, req->user_id, pid);
	if (err == MERR_OK)
		err = jobs_list(req->app->db, req->user_id, pid, limit, offset, &items, &total);
	if (err == MERR_NOT_FOUND)
		resp_not_found(resp, "project", pid);
	else if (err != MERR_OK)
		resp_store_error(resp, err, "jobs");
	else
		api_list_response(resp, items, total, limit, offset);
}

void handle_job_cancel(struct http_request *req, struct http_response *resp)
{
	struct json_object *out = NULL;
	const char *id = job_param(req, resp);
	enum merr err;

	if (id == NULL)
		return;
	err = jobs_cancel(req->app->db, req->user_id, id);
	if (err == MERR_NOT_FOUND) {
		resp_error(resp, err, NULL, "job %s not found", id);
		return;
	}
	if (err == MERR_CONFLICT) {
		resp_error(resp, err, NULL, "job %s has already finished", id);
		return;
	}
	if (err != MERR_OK) {
		resp_store_error(resp, err, "job");
		return;
	}
	/* A waiting job is cancelled now; an active one once its spawner has stopped ffmpeg
	 * (within 2 s): 202 says the request was taken, the job object says where it stands. */
	err = jobs_get(req->app->db, req->user_id, id, &out);
	if (err != MERR_OK) {
		resp_store_error(resp, err, "job");
		return;
	}
	resp_json(resp, 202, out);
}
