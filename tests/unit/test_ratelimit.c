/* test_ratelimit.c: unit tests of the per-process fixed windows used while Redis is down or not
 * configured (api/ratelimit.c). */
#include "config.h"

#include "api/ratelimit.h"

#include <CUnit/Basic.h>
#include <sodium.h>
#include <stdio.h>

#include "unit.h"

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

/* A cleared key starts again from one (a successful login clears its account's failures); the
 * others keep counting. */
static void test_a_cleared_key_starts_from_one(void)
{
	long long count = 0, other = 0, ttl = 0;
	int i;

	for (i = 0; i < 3; i++) {
		ratelimit_local_hit("clear-me", 900, 5000, &count, &ttl);
		ratelimit_local_hit("clear-other", 900, 5000, &other, &ttl);
	}
	CU_ASSERT_EQUAL(count, 3);
	ratelimit_local_clear("clear-me");
	ratelimit_local_clear("clear-never-seen");
	ratelimit_local_hit("clear-me", 900, 5001, &count, &ttl);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_EQUAL(ttl, 900);
	ratelimit_local_hit("clear-other", 900, 5001, &other, &ttl);
	CU_ASSERT_EQUAL(other, 4);
}

/* The local table hashes its keys with libsodium's SipHash. */
static int suite_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

static const struct unit_test tests[] = {
	{ "hits count up within the window", test_hits_count_up_within_the_window },
	{ "a new window starts from one", test_a_new_window_starts_from_one },
	{ "keys count apart", test_keys_count_apart },
	{ "a flood of fresh keys keeps the busy counter", test_a_flood_of_fresh_keys_keeps_the_busy_counter },
	{ "a cleared key starts from one", test_a_cleared_key_starts_from_one },
};

UNIT_SUITES(UNIT_SUITE("ratelimit", suite_init, NULL, tests));
