/* handlers.h: every route handler, one file per resource under src/api/. */
#ifndef MEDIAD_HANDLERS_H
#define MEDIAD_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "http/request.h"
#include "http/response.h"

void handle_healthz(struct http_request *req, struct http_response *resp);
void handle_auth_register(struct http_request *req, struct http_response *resp);
void handle_auth_login(struct http_request *req, struct http_response *resp);
void handle_auth_logout(struct http_request *req, struct http_response *resp);
void handle_auth_me(struct http_request *req, struct http_response *resp);
void handle_projects_create(struct http_request *req, struct http_response *resp);
void handle_projects_list(struct http_request *req, struct http_response *resp);
void handle_projects_get(struct http_request *req, struct http_response *resp);
void handle_projects_update(struct http_request *req, struct http_response *resp);
void handle_projects_delete(struct http_request *req, struct http_response *resp);
void handle_assets_upload(struct http_request *req, struct http_response *resp);
void handle_assets_list(struct http_request *req, struct http_response *resp);
void handle_media_upload(struct http_request *req, struct http_response *resp);
void handle_media_list(struct http_request *req, struct http_response *resp);
void handle_media_get(struct http_request *req, struct http_response *resp);
void handle_media_delete(struct http_request *req, struct http_response *resp);
void handle_stream_url(struct http_request *req, struct http_response *resp);
void handle_stream(struct http_request *req, struct http_response *resp);
void handle_hls_master(struct http_request *req, struct http_response *resp);
void handle_hls_variant(struct http_request *req, struct http_response *resp);
void handle_hls_file(struct http_request *req, struct http_response *resp);
void handle_poster(struct http_request *req, struct http_response *resp);
void handle_storyboard_vtt(struct http_request *req, struct http_response *resp);
void handle_storyboard_sprite(struct http_request *req, struct http_response *resp);
void handle_media_view(struct http_request *req, struct http_response *resp);
void handle_media_analytics(struct http_request *req, struct http_response *resp);
void handle_events_create(struct http_request *req, struct http_response *resp);
void handle_project_analytics(struct http_request *req, struct http_response *resp);
void handle_render_create(struct http_request *req, struct http_response *resp);
void handle_job_get(struct http_request *req, struct http_response *resp);
void handle_project_jobs(struct http_request *req, struct http_response *resp);
void handle_job_cancel(struct http_request *req, struct http_response *resp);
void handle_media_renditions_create(struct http_request *req, struct http_response *resp);
/* tus 1.0.0 resumable uploads (tus.c) */
void handle_tus_create(struct http_request *req, struct http_response *resp);
void handle_tus_head(struct http_request *req, struct http_response *resp);
void handle_tus_patch(struct http_request *req, struct http_response *resp);
void handle_tus_delete(struct http_request *req, struct http_response *resp);
/* webhook endpoints and their deliveries (webhooks.c) */
void handle_webhooks_create(struct http_request *req, struct http_response *resp);
void handle_webhooks_list(struct http_request *req, struct http_response *resp);
void handle_webhooks_get(struct http_request *req, struct http_response *resp);
void handle_webhooks_update(struct http_request *req, struct http_response *resp);
void handle_webhooks_delete(struct http_request *req, struct http_response *resp);
void handle_webhook_deliveries_list(struct http_request *req, struct http_response *resp);
void handle_webhook_delivery_get(struct http_request *req, struct http_response *resp);
void handle_webhook_delivery_attempts(struct http_request *req, struct http_response *resp);
void handle_webhook_delivery_retry(struct http_request *req, struct http_response *resp);
/* Checks ?expires=&sig= for media id: true, or false with a 403/410 response set. */
bool stream_link_ok(struct http_request *req, struct http_response *resp, int64_t id);

/* A file a handler answers with (stream_send_file), and how. */
struct stream_file {
	const char *abs;           /* absolute path, made from our own rows: never from client text */
	const char *name;          /* names it in log lines and the 404: "media 5" */
	const char *content_type;  /* Content-Type */
	const char *cache_control; /* Cache-Control */
};
/*
 * Answers with the file f in the configured stream_mode: X-Sendfile for the web server to send, or
 * the bytes from here (file_body_send). Either way the same validators (ETag, Last-Modified,
 * Accept-Ranges), 304s, a single Range (206) and 416 with our JSON error; a missing file is a
 * logged 404. Content-Type and Cache-Control go on the answers with the file (200, 206, 304)
 * only. The headers the handler set stay.
 */
void stream_send_file(struct http_request *req, struct http_response *resp, const struct stream_file *f);
#ifdef MEDIAD_TEST_ROUTES
void handle_test_echo(struct http_request *req, struct http_response *resp);
void handle_test_sleep(struct http_request *req, struct http_response *resp);
#endif

#endif
