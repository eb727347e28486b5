/* routes.c: the route table. A route that needs a user says ROUTE_AUTH here, nowhere else. */
#include "config.h"

#include "api/routes.h"

#include "api/handlers.h"

const struct route routes[] = {
	{ "GET", "/healthz", handle_healthz, ROUTE_PUBLIC },
	/* auth: each seed names one of register/signup; the logout document names no method */
	{ "POST", "/auth/register", handle_auth_register, ROUTE_PUBLIC },
	{ "POST", "/auth/signup", handle_auth_register, ROUTE_PUBLIC },
	{ "POST", "/auth/login", handle_auth_login, ROUTE_PUBLIC },
	{ "POST", "/auth/logout", handle_auth_logout, ROUTE_AUTH },
	{ "GET", "/auth/logout", handle_auth_logout, ROUTE_AUTH },
	{ "GET", "/auth/me", handle_auth_me, ROUTE_AUTH },
	/* projects and their assets (first seed) */
	{ "POST", "/projects", handle_projects_create, ROUTE_AUTH },
	{ "GET", "/projects", handle_projects_list, ROUTE_AUTH },
	{ "GET", "/projects/:id", handle_projects_get, ROUTE_AUTH },
	{ "PATCH", "/projects/:id", handle_projects_update, ROUTE_AUTH },
	{ "DELETE", "/projects/:id", handle_projects_delete, ROUTE_AUTH },
	{ "POST", "/projects/:id/assets", handle_assets_upload, ROUTE_AUTH },
	{ "GET", "/projects/:id/assets", handle_assets_list, ROUTE_AUTH },
	/* media (second seed) */
	{ "POST", "/media", handle_media_upload, ROUTE_AUTH },
	{ "GET", "/media", handle_media_list, ROUTE_AUTH },
	{ "GET", "/media/:id", handle_media_get, ROUTE_AUTH },
	{ "DELETE", "/media/:id", handle_media_delete, ROUTE_AUTH },
	/* streaming: the link is the capability, so the stream route itself is public */
	{ "GET", "/media/:id/stream-url", handle_stream_url, ROUTE_AUTH },
	{ "GET", "/media/:id/stream", handle_stream, ROUTE_PUBLIC },
	{ "HEAD", "/media/:id/stream", handle_stream, ROUTE_PUBLIC },
	/* playback of the renditions (hls.c): the master, poster and storyboard take the stream
	 * link; what they point at carries signatures of its own. index.m3u8 before :file. */
	{ "GET", "/media/:id/hls/master.m3u8", handle_hls_master, ROUTE_PUBLIC },
	{ "HEAD", "/media/:id/hls/master.m3u8", handle_hls_master, ROUTE_PUBLIC },
	{ "GET", "/media/:id/hls/:variant/index.m3u8", handle_hls_variant, ROUTE_PUBLIC },
	{ "HEAD", "/media/:id/hls/:variant/index.m3u8", handle_hls_variant, ROUTE_PUBLIC },
	{ "GET", "/media/:id/hls/:variant/:file", handle_hls_file, ROUTE_PUBLIC },
	{ "HEAD", "/media/:id/hls/:variant/:file", handle_hls_file, ROUTE_PUBLIC },
	{ "GET", "/media/:id/poster.jpg", handle_poster, ROUTE_PUBLIC },
	{ "HEAD", "/media/:id/poster.jpg", handle_poster, ROUTE_PUBLIC },
	{ "GET", "/media/:id/storyboard.vtt", handle_storyboard_vtt, ROUTE_PUBLIC },
	{ "HEAD", "/media/:id/storyboard.vtt", handle_storyboard_vtt, ROUTE_PUBLIC },
	{ "GET", "/media/:id/storyboard.jpg", handle_storyboard_sprite, ROUTE_PUBLIC },
	{ "HEAD", "/media/:id/storyboard.jpg", handle_storyboard_sprite, ROUTE_PUBLIC },
	/* views: the owner's token or that media's stream signature, checked by the handler */
	{ "POST", "/media/:id/view", handle_media_view, ROUTE_PUBLIC },
	{ "GET", "/media/:id/analytics", handle_media_analytics, ROUTE_AUTH },
	/* a rendition job on a media (jobs.c): /media uploads have no project to render in */
	{ "POST", "/media/:id/renditions", handle_media_renditions_create, ROUTE_AUTH },
	/* project events (first seed) */
	{ "POST", "/analytics", handle_events_create, ROUTE_AUTH },
	{ "GET", "/projects/:id/analytics", handle_project_analytics, ROUTE_AUTH },
	/* render jobs (first seed) */
	{ "POST", "/projects/:id/render", handle_render_create, ROUTE_AUTH },
	{ "GET", "/projects/:id/jobs", handle_project_jobs, ROUTE_AUTH },
	{ "GET", "/jobs/:id", handle_job_get, ROUTE_AUTH },
	{ "DELETE", "/jobs/:id", handle_job_cancel, ROUTE_AUTH },
	/* resumable uploads, tus 1.0.0 (tus.c); OPTIONS /uploads adds the tus headers to the
	 * dispatcher's answer */
	{ "POST", "/uploads", handle_tus_create, ROUTE_AUTH },
	{ "HEAD", "/uploads/:id", handle_tus_head, ROUTE_AUTH },
	{ "PATCH", "/uploads/:id", handle_tus_patch, ROUTE_AUTH },
	{ "DELETE", "/uploads/:id", handle_tus_delete, ROUTE_AUTH },
	/* webhook endpoints and their deliveries (webhooks.c); media-hooks sends them */
	{ "POST", "/webhooks", handle_webhooks_create, ROUTE_AUTH },
	{ "GET", "/webhooks", handle_webhooks_list, ROUTE_AUTH },
	{ "GET", "/webhooks/:id", handle_webhooks_get, ROUTE_AUTH },
	{ "PATCH", "/webhooks/:id", handle_webhooks_update, ROUTE_AUTH },
	{ "DELETE", "/webhooks/:id", handle_webhooks_delete, ROUTE_AUTH },
	{ "GET", "/webhooks/:id/deliveries", handle_webhook_deliveries_list, ROUTE_AUTH },
	{ "GET", "/webhooks/:id/deliveries/:deliveryId", handle_webhook_delivery_get, ROUTE_AUTH },
	{ "GET", "/webhooks/:id/deliveries/:deliveryId/attempts", handle_webhook_delivery_attempts,
	  ROUTE_AUTH },
	{ "POST", "/webhooks/:id/deliveries/:deliveryId/retry", handle_webhook_delivery_retry, ROUTE_AUTH },
#ifdef MEDIAD_TEST_ROUTES
	{ "POST", "/_test/echo", handle_test_echo, ROUTE_PUBLIC },
	{ "GET", "/_test/sleep", handle_test_sleep, ROUTE_PUBLIC },
#endif
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
