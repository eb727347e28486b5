/* json_body.c: JSON request bodies under size and depth caps, and the typed field getters. */
#include "config.h"

#include "http/json_body.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "http/request.h"
#include "http/response.h"
#include "util/buf.h"
#include "util/utf8.h"

/*
 * The parser behind json_parse_object. Returns MERR_OK with *out set (caller owns it),
 * MERR_BAD_REQUEST with e filled, or MERR_INTERNAL on out of memory.
 * json-c counts depth in levels of values: {} is 1 deep, {"a":1} and {"a":{}} are 2.
 */
static enum merr json_parse_checked(const char *text, size_t len, int max_depth, struct json_object **out,
                                    struct verr *e)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	enum json_tokener_error jerr;
	enum merr rc = MERR_BAD_REQUEST;

	*out = NULL;
	if (len > INT_MAX) {
		verr_set(e, NULL, "body is too large");
		goto out;
	}
	tok = json_tokener_new_ex(max_depth);
	if (tok == NULL) {
		verr_set(e, NULL, "out of memory");
		rc = MERR_INTERNAL;
		goto out;
	}
	/* Strict: no trailing commas, no trailing characters; UTF-8 is checked on all strings and keys. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* All input was taken; a top-level scalar ("123") only ends at a delimiter, so give one. */
		obj = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_continue) {
			verr_set(e, NULL, "body is not valid JSON: unexpected end of data");
			goto out;
		}
	} else if (jerr == json_tokener_success && json_tokener_get_parse_end(tok) != len) {
		/* Strict mode already refuses trailing characters; this holds if that ever changes. */
		verr_set(e, NULL, "body is not valid JSON: unexpected data after the object");
		goto out;
	}
	if (jerr == json_tokener_error_depth) {
		verr_set(e, NULL, "body is nested deeper than %d levels", max_depth);
		goto out;
	}
	if (jerr != json_tokener_success) {
		verr_set(e, NULL, "body is not valid JSON: %s", json_tokener_error_desc(jerr));
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		verr_set(e, NULL, "body must be a JSON object");
		goto out;
	}
	*out = obj;
	obj = NULL;
	rc = MERR_OK;
out:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

/* Parses one JSON object; see json_parse_checked. Returns the object (caller owns it) or NULL. */
struct json_object *json_parse_object(const char *text, size_t len, int max_depth, struct verr *e)
{
	struct json_object *obj;

	json_parse_checked(text, len, max_depth, &obj, e);
	return obj;
}

/* True when ct's media type is application/json, parameters (";charset=utf-8") allowed. */
static bool json_content_type_ok(const char *ct)
{
	static const char want[] = "application/json";
	const char *p;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, sizeof(want) - 1) != 0)
		return false;
	p = ct + sizeof(want) - 1;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0' || *p == ';';
}

/*
 * Shared by both entry points. The body is read (under the cap) before the Content-Type is
 * checked, so that an empty body is told apart: required -> 400, optional -> {}.
 */
static struct json_object *json_body_read(struct http_request *req, struct http_response *resp, bool optional)
{
	const struct config *cfg = req->cfg;
	struct buf body = BUF_INIT;
	struct json_object *obj = NULL;
	struct verr e;
	size_t cap;
	enum merr rc;

	cap = cfg->max_json_bytes > 0 ? (size_t)cfg->max_json_bytes : 0;
	rc = http_read_body(req, cap, &body);
	switch (rc) {
	case MERR_OK:
		break;
	case MERR_PAYLOAD_TOO_LARGE:
		resp_error(resp, rc, NULL, "request body must be at most %lld bytes", cfg->max_json_bytes);
		goto out;
	case MERR_INTERNAL:
		resp_error(resp, rc, NULL, "out of memory");
		goto out;
	case MERR_REQUEST_TIMEOUT: {
		char msg[256];

		http_body_too_slow(req, msg, sizeof(msg));
		resp_error(resp, rc, NULL, "%s", msg);
		goto out;
	}
	default:
		resp_error(resp, MERR_BAD_REQUEST, NULL, "request body could not be read");
		goto out;
	}
	if (body.len == 0) {
		if (!optional) {
			resp_error(resp, MERR_BAD_REQUEST, NULL, "request body is required");
			goto out;
		}
		obj = json_object_new_object();
		if (obj == NULL)
			resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (!json_content_type_ok(http_header(req, "Content-Type"))) {
		resp_error(resp, MERR_UNSUPPORTED_MEDIA_TYPE, NULL, "Content-Type must be application/json");
		goto out;
	}
	rc = json_parse_checked(body.data, body.len, (int)cfg->max_json_depth, &obj, &e);
	if (rc != MERR_OK)
		resp_error(resp, rc, e.field, "%s", e.message);
out:
	buf_free(&body);
	return obj;
}

/* The request body as a JSON object, or NULL with the error response set. Caller owns it. */
struct json_object *http_json_body(struct http_request *req, struct http_response *resp)
{
	return json_body_read(req, resp, false);
}

/* As http_json_body, but an empty body is an empty object. Caller owns the result. */
struct json_object *http_json_body_optional(struct http_request *req, struct http_response *resp)
{
	return json_body_read(req, resp, true);
}

/*
 * Looks field up in obj. Returns 1 with *v set when present (and not a null that counts as
 * absent), 0 when absent and optional, -1 with e filled when absent and required.
 */
static int jget_lookup(struct json_object *obj, const char *field, unsigned flags, struct json_object **v,
                       bool *is_null, struct verr *e)
{
	*v = NULL;
	*is_null = false;
	if (json_object_object_get_ex(obj, field, v)) {
		/* json-c represents a JSON null as a NULL object. */
		if (*v != NULL || !(flags & JGET_NULLABLE)) {
			*is_null = *v == NULL;
			return 1;
		}
	}
	if (flags & JGET_REQUIRED) {
		verr_set(e, field, "%s is required", field);
		return -1;
	}
	return 0;
}

/*
 * Reads a UTF-8 string field; 1, 0 when absent and optional, -1 with e filled. *out points into
 * obj. A max_chars or max_bytes of 0 means no bound of that kind (the body cap still holds).
 */
int jget_string(struct json_object *obj, const char *field, unsigned flags, size_t min_chars,
                size_t max_chars, size_t max_bytes, const char **out, struct verr *e)
{
	struct json_object *v;
	bool is_null;
	size_t len, chars;
	const char *s;
	int rc;

	rc = jget_lookup(obj, field, flags, &v, &is_null, e);
	if (rc != 1)
		return rc;
	if (is_null || !json_object_is_type(v, json_type_string)) {
		verr_set(e, field, "%s must be a string", field);
		return -1;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (max_bytes != 0 && len > max_bytes) {
		verr_set(e, field, "%s must be at most %zu bytes", field, max_bytes);
		return -1;
	}
	if (!utf8_valid(s, len, &chars)) {
		verr_set(e, field, "%s must be valid UTF-8 text without NUL characters", field);
		return -1;
	}
	if (chars < min_chars) {
		if (min_chars == 1)
			verr_set(e, field, "%s must not be empty", field);
		else
			verr_set(e, field, "%s must be at least %zu characters", field, min_chars);
		return -1;
	}
	if (max_chars != 0 && chars > max_chars) {
		verr_set(e, field, "%s must be at most %zu characters", field, max_chars);
		return -1;
	}
	*out = s;
	return 1;
}

/*
 * json-c clamps an integer it cannot hold to INT64_MIN, INT64_MAX or UINT64_MAX without any
 * error or errno, and json_object_get_int64 reads every value >= INT64_MAX as INT64_MAX; the
 * original text is gone, so no later check can tell "-9223372036854775809" from INT64_MIN.
 * The robust rule is to refuse both extremes as out of range: no field of ours needs them.
 */
int jget_int(struct json_object *obj, const char *field, unsigned flags, int64_t min, int64_t max,
             int64_t *out, struct verr *e)
{
	struct json_object *v;
	bool is_null;
	int64_t n;
	int rc;

	rc = jget_lookup(obj, field, flags, &v, &is_null, e);
	if (rc != 1)
		return rc;
	if (is_null || !json_object_is_type(v, json_type_int)) {
		verr_set(e, field, "%s must be an integer", field);
		return -1;
	}
	n = json_object_get_int64(v);
	if (n == INT64_MIN || n == INT64_MAX || n < min || n > max) {
		verr_set(e, field, "%s must be from %" PRId64 " to %" PRId64, field, min, max);
		return -1;
	}
	*out = n;
	return 1;
}

/* Reads a JSON true/false; 1, 0 when absent and optional, -1 with e filled. */
int jget_bool(struct json_object *obj, const char *field, unsigned flags, bool *out, struct verr *e)
{
	struct json_object *v;
	bool is_null;
	int rc;

	rc = jget_lookup(obj, field, flags, &v, &is_null, e);
	if (rc != 1)
		return rc;
	if (is_null || !json_object_is_type(v, json_type_boolean)) {
		verr_set(e, field, "%s must be true or false", field);
		return -1;
	}
	*out = json_object_get_boolean(v) != 0;
	return 1;
}

/*
 * Returns 0 when every key of obj is in allowed, else -1 with e naming the first stranger.
 * e->field points into obj (valid while obj lives); a key too long to quote is not named.
 */
int jcheck_keys(struct json_object *obj, const char *const *allowed, struct verr *e)
{
	size_t i;

	if (!json_object_is_type(obj, json_type_object)) {
		verr_set(e, NULL, "body must be a JSON object");
		return -1;
	}
	json_object_object_foreach(obj, key, val)
	{
		bool known = false;

		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0) {
				known = true;
				break;
			}
		if (known)
			continue;
		if (strlen(key) > 64 || !utf8_valid(key, strlen(key), NULL))
			verr_set(e, NULL, "body has an unknown field");
		else
			verr_set(e, key, "%s is not an accepted field", key);
		return -1;
	}
	return 0;
}

/* Sets a 400 bad_request response naming e->field, with e->message. */
void resp_verr(struct http_response *resp, const struct verr *e)
{
	resp_error(resp, MERR_BAD_REQUEST, e->field, "%s", e->message);
}
