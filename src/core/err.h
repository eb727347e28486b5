/* err.h: the project's one error enum, and its single mapping to HTTP status and JSON code. */
#ifndef MEDIAD_ERR_H
#define MEDIAD_ERR_H

enum merr {
	MERR_OK = 0,
	MERR_BAD_REQUEST,
	MERR_UNAUTHORIZED,
	MERR_FORBIDDEN,
	MERR_NOT_FOUND,
	MERR_METHOD_NOT_ALLOWED,
	MERR_CONFLICT,
	MERR_GONE,
	MERR_PAYLOAD_TOO_LARGE,
	MERR_UNSUPPORTED_MEDIA_TYPE,
	MERR_RANGE_NOT_SATISFIABLE,
	MERR_RATE_LIMITED,
	MERR_INTERNAL,
	MERR_UNAVAILABLE,
	MERR_INSUFFICIENT_STORAGE,
	MERR_QUOTA_EXCEEDED,  /* 413 too, but the user's storage_quota_bytes, not the request's size */
	MERR_REQUEST_TIMEOUT, /* 408: the body did not come within body_read_timeout_ms / body_min_rate_bps */
	MERR_PRECONDITION_FAILED, /* 412: a tus request without a Tus-Resumable version we speak */
	MERR_CHECKSUM_MISMATCH, /* 460 (tus checksum extension): the body is not what Upload-Checksum says */
	MERR_UNPROCESSABLE,     /* 422: well-formed, but refused (a webhook URL of a private address) */
	MERR_LENGTH_REQUIRED,   /* 411: a body of unknown length where its length must be known (tus PATCH) */
	MERR__COUNT
};

/* HTTP status for e (500 for anything unknown). */
int merr_status(enum merr e);
/* The stable machine-readable code of e, e.g. "not_found". */
const char *merr_code(enum merr e);
/* The reason phrase for an HTTP status, e.g. "Not Found". */
const char *http_reason(int status);

#endif
