/* unit_main.c: the one main() of the unit test programs: registers their unit_suites, runs them. */
#include "config.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

/* Exit status, as automake's test driver reads it. */
#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_HARD_ERROR 99

/* Whether the test runs under pattern (NULL: every test). */
static int selected(const struct unit_suite *s, const struct unit_test *t, const char *pattern)
{
	return pattern == NULL || strstr(s->name, pattern) != NULL || strstr(t->name, pattern) != NULL;
}

/*
 * Registers the tests of every suite that pattern selects. Returns how many, or -1 when CUnit
 * could not register one.
 */
static int register_suites(const char *pattern)
{
	int count = 0;
	size_t i, k;

	for (i = 0; i < unit_suite_count; i++) {
		const struct unit_suite *s = &unit_suites[i];
		CU_pSuite suite = NULL;

		for (k = 0; k < s->n_tests; k++) {
			if (!selected(s, &s->tests[k], pattern))
				continue;
			if (suite == NULL)
				suite = CU_add_suite(s->name, s->init, s->cleanup);
			if (suite == NULL || CU_add_test(suite, s->tests[k].name, s->tests[k].fn) == NULL)
				return -1;
			count++;
		}
	}
	return count;
}

int main(int argc, char **argv)
{
	const char *pattern = argc > 1 ? argv[1] : NULL;
	unsigned failed;
	CU_ErrorCode rc;
	int n;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [PATTERN]\n", argv[0]);
		return EXIT_HARD_ERROR;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "%s: CUnit: %s\n", argv[0], CU_get_error_msg());
		return EXIT_HARD_ERROR;
	}
	n = register_suites(pattern);
	if (n <= 0) {
		if (n < 0)
			fprintf(stderr, "%s: CUnit: %s\n", argv[0], CU_get_error_msg());
		else
			fprintf(stderr, "%s: no test matches \"%s\"\n", argv[0], pattern ? pattern : "");
		CU_cleanup_registry();
		return n < 0 ? EXIT_HARD_ERROR : EXIT_FAIL;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	rc = CU_basic_run_tests();
	/* A suite whose set-up failed ran none of its tests: that is a failure too. */
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	if (rc != CUE_SUCCESS && failed == 0)
		fprintf(stderr, "%s: CUnit: %s\n", argv[0], CU_get_error_msg());
	CU_cleanup_registry();
	return failed == 0 && rc == CUE_SUCCESS ? EXIT_PASS : EXIT_FAIL;
}
