/* common.c: helpers shared by the handlers. */
#include "config.h"

#include "api/common.h"

#include <json-c/json.h>
#include <stdio.h>

#include "app.h"
#include "http/clientip.h"

void resp_store_error(struct http_response *resp, enum merr e, const char *what)
{
	switch (e) {
	case MERR_NOT_FOUND:
		resp_error(resp, e, NULL, "%s not found", what);
		break;
	case MERR_UNAVAILABLE:
		resp_error(resp, e, NULL, "the database is unavailable; try again shortly");
		break;
	case MERR_CONFLICT:
		resp_error(resp, e, NULL, "%s already exists", what);
		break;
	case MERR_BAD_REQUEST:
		resp_error(resp, e, NULL, "%s: a value is out of range", what);
		break;
	default:
		resp_error(resp, MERR_INTERNAL, NULL, "internal error");
		break;
	}
}

void api_time_rfc3339(time_t t, char *out, size_t outlen)
{
	struct tm tm;
	char tmp[32];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.000Z", tmp);
}

struct json_object *api_user_object(int64_t id, const char *email)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "email", json_object_new_string(email));
	return o;
}

void api_client_ip(struct http_request *req, char *out, size_t outlen)
{
	const char *remote = http_param(req, "REMOTE_ADDR");

	if (remote == NULL)
		remote = "0.0.0.0";
	if (req->app->trusted == NULL ||
	    clientip_resolve(req->app->trusted, remote, http_header(req, "X-Forwarded-For"), out, outlen) != 0)
		snprintf(out, outlen, "%s", remote);
}
