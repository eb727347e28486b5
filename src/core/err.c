/* err.c: error enum -> HTTP status and code, in exactly one place. */
#include "config.h"

#include "core/err.h"

static const struct {
	int status;
	const char *code;
} merr_table[MERR__COUNT] = {
	[MERR_OK] = { 200, "ok" },
	[MERR_BAD_REQUEST] = { 400, "bad_request" },
	[MERR_UNAUTHORIZED] = { 401, "unauthorized" },
	[MERR_FORBIDDEN] = { 403, "forbidden" },
	[MERR_NOT_FOUND] = { 404, "not_found" },
	[MERR_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed" },
	[MERR_CONFLICT] = { 409, "conflict" },
	[MERR_GONE] = { 410, "gone" },
	[MERR_PAYLOAD_TOO_LARGE] = { 413, "payload_too_large" },
	[MERR_UNSUPPORTED_MEDIA_TYPE] = { 415, "unsupported_media_type" },
	[MERR_RANGE_NOT_SATISFIABLE] = { 416, "range_not_satisfiable" },
	[MERR_RATE_LIMITED] = { 429, "rate_limited" },
	[MERR_INTERNAL] = { 500, "internal" },
	[MERR_UNAVAILABLE] = { 503, "unavailable" },
	[MERR_INSUFFICIENT_STORAGE] = { 507, "insufficient_storage" },
	[MERR_QUOTA_EXCEEDED] = { 413, "quota_exceeded" },
	[MERR_REQUEST_TIMEOUT] = { 408, "request_timeout" },
	[MERR_PRECONDITION_FAILED] = { 412, "precondition_failed" },
	[MERR_CHECKSUM_MISMATCH] = { 460, "checksum_mismatch" },
	[MERR_UNPROCESSABLE] = { 422, "unprocessable_entity" },
	[MERR_LENGTH_REQUIRED] = { 411, "length_required" },
};

int merr_status(enum merr e)
{
	if ((unsigned)e >= MERR__COUNT)
		return 500;
	return merr_table[e].status;
}

const char *merr_code(enum merr e)
{
	if ((unsigned)e >= MERR__COUNT)
		return "internal";
	return merr_table[e].code;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 460:
		return "Checksum Mismatch";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	default:
		return "Unknown";
	}
}
