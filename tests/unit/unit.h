/* unit.h: what a unit test program defines; tests/unit/unit_main.c is the main() of them all. */
#ifndef MEDIAD_UNIT_H
#define MEDIAD_UNIT_H

#include <CUnit/CUnit.h>
#include <stddef.h>

/*
 * A program tests/unit/test_<name>.c holds its tests, one behaviour each, and ends with its table:
 *
 *	static const struct unit_test tests[] = {
 *		{ "an empty buffer is an empty string", test_empty_buffer_is_an_empty_string },
 *	};
 *
 *	UNIT_SUITES(UNIT_SUITE("buf", NULL, NULL, tests));
 *
 * Makefile.am lists it in UNIT_TESTS with one _CFLAGS line; it has no main() of its own.
 * Run one by hand as tests/unit/test_<name> [PATTERN]: with a pattern, only the tests whose suite
 * or test name holds it (case-sensitive) run.
 */

/* One test: a sentence naming the behaviour, and the function that checks it. */
struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

/* One suite: its tests, and an optional set-up and clean-up (0 is success; a set-up that fails
 * fails the program, and its tests do not run). */
struct unit_suite {
	const char *name;
	CU_InitializeFunc init; /* may be NULL */
	CU_CleanupFunc cleanup; /* may be NULL */
	const struct unit_test *tests;
	size_t n_tests;
};

/* A suite over tests, which must be an array (not a pointer) of struct unit_test. */
/* clang-format off */
#define UNIT_SUITE(name, init, cleanup, tests) { name, init, cleanup, tests, sizeof(tests) / sizeof((tests)[0]) }
/* clang-format on */

/* Defines the program's suites, once, at file scope: UNIT_SUITES(UNIT_SUITE(...), ...); */
#define UNIT_SUITES(...)                                         \
	const struct unit_suite unit_suites[] = { __VA_ARGS__ }; \
	const size_t unit_suite_count = sizeof(unit_suites) / sizeof(unit_suites[0])

extern const struct unit_suite unit_suites[];
extern const size_t unit_suite_count;

#endif
