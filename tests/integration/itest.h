/* itest.h: HTTP helpers for integration tests: libcurl against the stack the harness started. */
#ifndef MEDIAD_ITEST_H
#define MEDIAD_ITEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct itest_resp {
	long status;
	char *body;        /* NUL-terminated */
	size_t body_len;
	char *headers;     /* raw header block, NUL-terminated */
	struct json_object *json; /* parsed body, or NULL when it is not JSON */
};

/* The base URL from MEDIAD_BASE_URL (exits the program with a message when unset). */
const char *itest_base(void);
/*
 * Sends method path (relative to the base URL) with optional extra header lines (NULL-terminated
 * array, may be NULL) and body (may be NULL). Returns 0 and fills r, or -1 on a transport error.
 */
int itest_request(const char *method, const char *path, const char *const *headers, const char *body,
                  size_t body_len, struct itest_resp *r);
/* Convenience: JSON body with Content-Type: application/json and an optional bearer token. */
int itest_json(const char *method, const char *path, const char *token, const char *json, struct itest_resp *r);
void itest_resp_free(struct itest_resp *r);
/* The value of header name (case-insensitive) copied into out, or false. */
bool itest_header(const struct itest_resp *r, const char *name, char *out, size_t outlen);
/* A string member of the response's JSON object, or NULL. */
const char *itest_jstr(const struct itest_resp *r, const char *key);
/* Runs an executable from MEDIAD_TEST_DIR (e.g. "pg-stop") with no shell. Returns its exit code. */
int itest_run_tool(const char *name);
/* Polls GET path until it answers want_status or timeout_ms passes. Returns true when it did. */
bool itest_wait_status(const char *path, long want_status, int timeout_ms);
/* Standard main body: runs the registered suites, returns the process exit code. */
int itest_run_all(void);

#endif
