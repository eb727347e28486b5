/* json_body.h: JSON request bodies with size and depth caps, and typed field getters. */
#ifndef MEDIAD_JSON_BODY_H
#define MEDIAD_JSON_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "util/verr.h"

struct json_object;
struct http_request;
struct http_response;

enum jget_flags {
	JGET_OPTIONAL = 0,
	JGET_REQUIRED = 1 << 0,
	JGET_NULLABLE = 1 << 1, /* an explicit null counts as absent */
};

/*
 * Parses text[0..len) as one JSON object, at most max_depth deep. Returns the object (caller
 * owns it, json_object_put) or NULL with e filled ("body is not valid JSON: ...").
 */
struct json_object *json_parse_object(const char *text, size_t len, int max_depth, struct verr *e);

/*
 * Reads the request body as a JSON object under the configured caps. Checks the Content-Type is
 * application/json (a form-encoded body is refused with 415). On failure sets the error response
 * and returns NULL. The caller owns the result.
 */
struct json_object *http_json_body(struct http_request *req, struct http_response *resp);
/* Like http_json_body, but an empty body yields an empty object (for optional bodies). */
struct json_object *http_json_body_optional(struct http_request *req, struct http_response *resp);

/*
 * Typed getters. Each returns 1 when the value was found and stored, 0 when it is absent and
 * optional, and -1 with e filled when it is missing but required, of the wrong type, or out of
 * bounds. Strings must be valid UTF-8 (utf8_valid); their length bounds are in characters (code points),
 * max_bytes bounds their size. *out points into obj.
 */
int jget_string(struct json_object *obj, const char *field, unsigned flags, size_t min_chars,
                size_t max_chars, size_t max_bytes, const char **out, struct verr *e);
int jget_int(struct json_object *obj, const char *field, unsigned flags, int64_t min, int64_t max,
             int64_t *out, struct verr *e);
int jget_bool(struct json_object *obj, const char *field, unsigned flags, bool *out, struct verr *e);
/* Refuses any key of obj that is not in allowed (NULL-terminated). */
int jcheck_keys(struct json_object *obj, const char *const *allowed, struct verr *e);

/* Sets a 400 response from e. */
void resp_verr(struct http_response *resp, const struct verr *e);

#endif
