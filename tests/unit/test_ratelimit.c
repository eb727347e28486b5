/* test_ratelimit.c: unit tests of the per-process fixed windows used while Redis is down
 * (api/ratelimit.c). */
#include "config.h"

#include "api/ratelimit.h"

#include <CUnit/Basic.h>
#include <sodium.h>
#include <stdio.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_hits_count_up_within_the_window(void)
{
	long long count = 0, ttl = 0;
	int i;

	for (i = 1; i <= 5; i++) {
		ratelimit_local_hit("count-up", 60, 1000, &count, &ttl);
		CU_ASSERT_EQUAL(count, i);
		CU_ASSERT_EQUAL(ttl, 60);
	}
	ratelimit_local_hit("count-up", 60, 1030, &count, &ttl);
	CU_ASSERT_EQUAL(count, 6);
	CU_ASSERT_EQUAL(ttl, 30);
}

static void test_a_new_window_starts_from_one(void)
{
	long long count = 0, ttl = 0;

	ratelimit_local_hit("restart", 60, 2000, &count, &ttl);
	ratelimit_local_hit("restart", 60, 2059, &count, &ttl);
	CU_ASSERT_EQUAL(count, 2);
	CU_ASSERT_EQUAL(ttl, 1);
	ratelimit_local_hit("restart", 60, 2060, &count, &ttl);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_EQUAL(ttl, 60);
}

static void test_keys_count_apart(void)
{
	long long a = 0, b = 0, ttl = 0;

	ratelimit_local_hit("apart-a", 60, 3000, &a, &ttl);
	ratelimit_local_hit("apart-a", 60, 3000, &a, &ttl);
	ratelimit_local_hit("apart-b", 60, 3000, &b, &ttl);
	CU_ASSERT_EQUAL(a, 2);
	CU_ASSERT_EQUAL(b, 1);
}

/* A flood of one-off keys (a client rotating addresses) fills the table, but a counter near its
 * limit is not the one given up: the quiet ones are. */
static void test_a_flood_of_fresh_keys_keeps_the_busy_counter(void)
{
	long long count = 0, ttl = 0;
	char key[64];
	int i;

	for (i = 0; i < 50; i++)
		ratelimit_local_hit("busy", 60, 4000, &count, &ttl);
	CU_ASSERT_EQUAL(count, 50);
	for (i = 0; i < RATELIMIT_LOCAL_SLOTS * 4; i++) {
		snprintf(key, sizeof(key), "flood-%d", i);
		ratelimit_local_hit(key, 60, 4001, &count, &ttl);
		CU_ASSERT_EQUAL_FATAL(count, 1);
	}
	ratelimit_local_hit("busy", 60, 4002, &count, &ttl);
	CU_ASSERT_EQUAL(count, 51);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "hits count up within the window", test_hits_count_up_within_the_window },
		{ "a new window starts from one", test_a_new_window_starts_from_one },
		{ "keys count apart", test_keys_count_apart },
		{ "a flood of fresh keys keeps the busy counter",
		  test_a_flood_of_fresh_keys_keeps_the_busy_counter },
	};
	CU_pSuite suite;
	unsigned failures;
	size_t i;

	if (sodium_init() < 0 || CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("ratelimit", NULL, NULL);
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
