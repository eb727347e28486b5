/* test_err.c: unit tests of the error enum's mapping to HTTP status and code (core/err.c). */
#include "config.h"

#include "core/err.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The table of DESIGN.md "API conventions", plus ok and insufficient_storage. */
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

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "every error maps to the DESIGN.md status and code",
		  test_every_error_maps_to_design_status_and_code },
		{ "the table covers every enum value", test_table_covers_every_enum_value },
		{ "an out-of-range value is 500 internal", test_out_of_range_is_internal },
		{ "reason phrases", test_reason_phrases },
	};
	CU_pSuite suite;
	unsigned failures;
	size_t i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("err", NULL, NULL);
	if (suite == NULL)
		goto fail;
	for (i = 0; i < ARRAY_LEN(tests); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
fail:
	CU_cleanup_registry();
	return 1;
}
