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
void handle_media_view(struct http_request *req, struct http_response *resp);
void handle_media_analytics(struct http_request *req, struct http_response *resp);
void handle_events_create(struct http_request *req, struct http_response *resp);
void handle_project_analytics(struct http_request *req, struct http_response *resp);
void handle_render_create(struct http_request *req, struct http_response *resp);
void handle_job_get(struct http_request *req, struct http_response *resp);
void handle_project_jobs(struct http_request *req, struct http_response *resp);
void handle_job_cancel(struct http_request *req, struct http_response *resp);
/* Checks ?expires=&sig= for media id: true, or false with a 403/410 response set. */
bool stream_link_ok(struct http_request *req, struct http_response *resp, int64_t id);
#ifdef MEDIAD_TEST_ROUTES
void handle_test_echo(struct http_request *req, struct http_response *resp);
void handle_test_sleep(struct http_request *req, struct http_response *resp);
#endif

#endif
