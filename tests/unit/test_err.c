/* test_err.c: unit tests of the error enum's mapping to HTTP status and code (core/err.c). */
#include "config.h"

#include "core/err.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The table of DESIGN.md "API conventions", plus ok, insufficient_storage, quota_exceeded and
 * request_timeout, tus's precondition_failed and checksum_mismatch, and the webhooks'
 * unprocessable_entity. */
static const struct {
	enum merr e;
	int status;
	const char *code;
	const char *reason;
} design[] = {
	{ MERR_OK, 200, "ok", "OK" },
	{ MERR_BAD_REQUEST, 400, "bad_request", "Bad Request" },
	{ MERR_UNAUTHORIZED, 401, "unauthorized", "Unauthorized" },
	{ MERR_FORBIDDEN, 403, "forbidden", "Forbidden" },
	{ MERR_NOT_FOUND, 404, "not_found", "Not Found" },
	{ MERR_METHOD_NOT_ALLOWED, 405, "method_not_allowed", "Method Not Allowed" },
	{ MERR_CONFLICT, 409, "conflict", "Conflict" },
	{ MERR_GONE, 410, "gone", "Gone" },
	{ MERR_PAYLOAD_TOO_LARGE, 413, "payload_too_large", "Payload Too Large" },
	{ MERR_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type", "Unsupported Media Type" },
	{ MERR_RANGE_NOT_SATISFIABLE, 416, "range_not_satisfiable", "Range Not Satisfiable" },
	{ MERR_RATE_LIMITED, 429, "rate_limited", "Too Many Requests" },
	{ MERR_INTERNAL, 500, "internal", "Internal Server Error" },
	{ MERR_UNAVAILABLE, 503, "unavailable", "Service Unavailable" },
	{ MERR_INSUFFICIENT_STORAGE, 507, "insufficient_storage", "Insufficient Storage" },
	{ MERR_QUOTA_EXCEEDED, 413, "quota_exceeded", "Payload Too Large" },
	{ MERR_REQUEST_TIMEOUT, 408, "request_timeout", "Request Timeout" },
	{ MERR_PRECONDITION_FAILED, 412, "precondition_failed", "Precondition Failed" },
	{ MERR_CHECKSUM_MISMATCH, 460, "checksum_mismatch", "Checksum Mismatch" },
	{ MERR_UNPROCESSABLE, 422, "unprocessable_entity", "Unprocessable Entity" },
	{ MERR_LENGTH_REQUIRED, 411, "length_required", "Length Required" },
};

static void test_every_error_maps_to_design_status_and_code(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(design); i++) {
		if (merr_status(design[i].e) != design[i].status ||
		    strcmp(merr_code(design[i].e), design[i].code) != 0)
			fprintf(stderr, "\n  %s: got %d %s\n", design[i].code, merr_status(design[i].e),
			        merr_code(design[i].e));
		CU_ASSERT_EQUAL(merr_status(design[i].e), design[i].status);
		CU_ASSERT_STRING_EQUAL(merr_code(design[i].e), design[i].code);
	}
}

static void test_table_covers_every_enum_value(void)
{
	int seen[MERR__COUNT];
	size_t i;

	/* A new enum value must be added to DESIGN.md and to this table. */
	CU_ASSERT_EQUAL(ARRAY_LEN(design), MERR__COUNT);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < ARRAY_LEN(design); i++)
		if ((unsigned)design[i].e < MERR__COUNT)
			seen[design[i].e]++;
	for (i = 0; i < MERR__COUNT; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
}

static void test_out_of_range_is_internal(void)
{
	CU_ASSERT_EQUAL(merr_status(MERR__COUNT), 500);
	CU_ASSERT_STRING_EQUAL(merr_code(MERR__COUNT), "internal");
	CU_ASSERT_EQUAL(merr_status((enum merr)(MERR__COUNT + 100)), 500);
	CU_ASSERT_STRING_EQUAL(merr_code((enum merr)(MERR__COUNT + 100)), "internal");
	CU_ASSERT_EQUAL(merr_status((enum merr) - 1), 500);
	CU_ASSERT_STRING_EQUAL(merr_code((enum merr) - 1), "internal");
}

static void test_reason_phrases(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(design); i++)
		CU_ASSERT_STRING_EQUAL(http_reason(design[i].status), design[i].reason);
	CU_ASSERT_STRING_EQUAL(http_reason(201), "Created");
	CU_ASSERT_STRING_EQUAL(http_reason(204), "No Content");
	CU_ASSERT_STRING_EQUAL(http_reason(206), "Partial Content");
	CU_ASSERT_STRING_EQUAL(http_reason(304), "Not Modified");
	CU_ASSERT_STRING_EQUAL(http_reason(299), "Unknown");
	CU_ASSERT_STRING_EQUAL(http_reason(-1), "Unknown");
}

/*
 * The web servers answer some errors on their own from fcgi-conf/errors/<status>.html (JSON, see
 * fcgi-conf/lighttpd.conf). Each must be our shape, {"error", "message"}, and where mediad has a
 * code for that status, use it: the mapping stays the one of err.c.
 */
static void test_web_server_error_files_have_our_shape_and_codes(void)
{
	static const int required[] = { 400, 408, 411, 413, 414, 416, 431, 500, 502, 503, 504 };
	const char *srcdir = getenv("abs_top_srcdir");
	char dir[3000], path[3400];
	struct dirent *de;
	size_t i, found = 0;
	DIR *d;

	if (srcdir == NULL) {
		fprintf(stderr,
		        "\n  abs_top_srcdir is not set (make check sets it): error files not checked\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%.2900s/fcgi-conf/errors", srcdir);
	d = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d)) != NULL) {
		struct json_object *o, *v;
		const char *code = NULL;
		bool mediad_has = false, same = false;
		char *end;
		long status = strtol(de->d_name, &end, 10);

		if (de->d_name[0] == '.')
			continue;
		/* lighttpd 1.4 looks for <prefix><status>.html; nothing else belongs here. */
		CU_ASSERT_TRUE(status >= 400 && status <= 599 && strcmp(end, ".html") == 0);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		o = json_object_from_file(path);
		CU_ASSERT_PTR_NOT_NULL(o);
		if (o == NULL)
			continue;
		found++;
		CU_ASSERT_EQUAL(json_object_object_length(o), 2);
		CU_ASSERT_TRUE(json_object_object_get_ex(o, "message", &v) &&
		               json_object_is_type(v, json_type_string));
		if (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string))
			code = json_object_get_string(v);
		CU_ASSERT_PTR_NOT_NULL(code);
		for (i = 0; code != NULL && i < MERR__COUNT; i++) {
			if (merr_status((enum merr)i) != status || i == MERR_OK)
				continue;
			mediad_has = true;
			same = same || strcmp(merr_code((enum merr)i), code) == 0;
		}
		if (mediad_has && !same)
			fprintf(stderr, "\n  %s: \"%s\" is not mediad's code for %ld\n", de->d_name, code,
			        status);
		CU_ASSERT_TRUE(!mediad_has || same);
		json_object_put(o);
	}
	closedir(d);
	CU_ASSERT_TRUE(found >= ARRAY_LEN(required));
	for (i = 0; i < ARRAY_LEN(required); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%d.html", dir, required[i]);
		f = fopen(path, "r");
		CU_ASSERT_PTR_NOT_NULL(f);
		if (f != NULL)
			fclose(f);
	}
}

static const struct unit_test tests[] = {
	{ "every error maps to the DESIGN.md status and code",
	  test_every_error_maps_to_design_status_and_code },
	{ "the table covers every enum value", test_table_covers_every_enum_value },
	{ "an out-of-range value is 500 internal", test_out_of_range_is_internal },
	{ "reason phrases", test_reason_phrases },
	{ "the web server's error files have our shape and codes",
	  test_web_server_error_files_have_our_shape_and_codes },
};

UNIT_SUITES(UNIT_SUITE("err", NULL, NULL, tests));
