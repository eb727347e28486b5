/* test_buf.c: unit tests of the growable buffer (util/buf.c). */
#include "config.h"

#include "util/buf.h"

#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static void test_init_is_empty_string(void)
{
	struct buf b = BUF_INIT;
	struct buf c;

	CU_ASSERT_PTR_NOT_NULL(b.data);
	CU_ASSERT_STRING_EQUAL(b.data, "");
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(b.cap, 0);
	CU_ASSERT_FALSE(b.failed);
	buf_init(&c);
	CU_ASSERT_STRING_EQUAL(c.data, "");
	CU_ASSERT_EQUAL(c.len, 0);
	buf_free(&b);
	buf_free(&c);
}

static void test_append_keeps_nul_terminated(void)
{
	struct buf b = BUF_INIT;

	CU_ASSERT_EQUAL(buf_append(&b, "abc", 3), 0);
	CU_ASSERT_EQUAL(buf_puts(&b, "def"), 0);
	CU_ASSERT_EQUAL(buf_putc(&b, 'g'), 0);
	CU_ASSERT_EQUAL(buf_append(&b, "xyz", 0), 0);
	CU_ASSERT_EQUAL(b.len, 7);
	CU_ASSERT_STRING_EQUAL(b.data, "abcdefg");
	CU_ASSERT_EQUAL(b.data[b.len], '\0');
	CU_ASSERT_TRUE(b.cap >= b.len);
	buf_free(&b);
}

static void test_append_holds_binary_bytes(void)
{
	struct buf b = BUF_INIT;
	const char bin[] = { 'a', '\0', 'b', '\xff' };

	CU_ASSERT_EQUAL(buf_append(&b, bin, sizeof(bin)), 0);
	CU_ASSERT_EQUAL(b.len, 4);
	CU_ASSERT_EQUAL(memcmp(b.data, bin, 4), 0);
	CU_ASSERT_EQUAL(b.data[4], '\0');
	buf_free(&b);
}

static void test_append_grows_across_many_calls(void)
{
	struct buf b = BUF_INIT;
	char want[5000];
	size_t i;

	for (i = 0; i < sizeof(want) - 1; i++) {
		want[i] = (char)('a' + i % 26);
		CU_ASSERT_EQUAL_FATAL(buf_putc(&b, want[i]), 0);
	}
	want[sizeof(want) - 1] = '\0';
	CU_ASSERT_EQUAL(b.len, sizeof(want) - 1);
	CU_ASSERT_STRING_EQUAL(b.data, want);
	buf_free(&b);
}

static void test_printf_grows_past_64_bytes(void)
{
	struct buf b = BUF_INIT;
	char want[256];
	int i;

	/* One call larger than the first allocation. */
	CU_ASSERT_EQUAL(buf_printf(&b, "%0100d", 7), 0);
	CU_ASSERT_EQUAL(b.len, 100);
	CU_ASSERT_EQUAL(strlen(b.data), 100);
	CU_ASSERT_EQUAL(b.data[99], '7');
	buf_reset(&b);
	/* Calls that each fit but together cross the 64-byte boundary. */
	want[0] = '\0';
	for (i = 0; i < 20; i++) {
		char piece[16];

		snprintf(piece, sizeof(piece), "[%d:%s]", i, "xy");
		strncat(want, piece, sizeof(want) - strlen(want) - 1);
		CU_ASSERT_EQUAL_FATAL(buf_printf(&b, "[%d:%s]", i, "xy"), 0);
	}
	CU_ASSERT_EQUAL(b.len, strlen(want));
	CU_ASSERT_STRING_EQUAL(b.data, want);
	buf_free(&b);
}

static void test_printf_fills_exactly_to_capacity(void)
{
	struct buf b = BUF_INIT;

	CU_ASSERT_EQUAL(buf_printf(&b, "%s", "a"), 0);
	CU_ASSERT_EQUAL(b.cap, 64);
	/* 63 more bytes leave len == cap; the next byte must trigger a grow, not an overflow. */
	CU_ASSERT_EQUAL(buf_printf(&b, "%063d", 1), 0);
	CU_ASSERT_EQUAL(b.len, 64);
	CU_ASSERT_EQUAL(b.len, b.cap);
	CU_ASSERT_EQUAL(buf_printf(&b, "%s", "Z"), 0);
	CU_ASSERT_EQUAL(b.len, 65);
	CU_ASSERT_EQUAL(b.data[64], 'Z');
	CU_ASSERT_EQUAL(b.data[65], '\0');
	buf_free(&b);
}

static void test_printf_of_empty_string_on_empty_buffer(void)
{
	struct buf b = BUF_INIT;

	CU_ASSERT_EQUAL(buf_printf(&b, "%s", ""), 0);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_STRING_EQUAL(b.data, "");
	CU_ASSERT_EQUAL(buf_printf(&b, "%d", 42), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "42");
	buf_free(&b);
}

static void test_reset_keeps_memory(void)
{
	struct buf b = BUF_INIT;
	char *mem;
	size_t cap;

	CU_ASSERT_EQUAL(buf_puts(&b, "hello world"), 0);
	mem = b.data;
	cap = b.cap;
	buf_reset(&b);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_STRING_EQUAL(b.data, "");
	CU_ASSERT_PTR_EQUAL(b.data, mem);
	CU_ASSERT_EQUAL(b.cap, cap);
	CU_ASSERT_EQUAL(buf_puts(&b, "x"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "x");
	buf_free(&b);
}

static void test_detach_hands_out_memory_and_resets(void)
{
	struct buf b = BUF_INIT;
	size_t len = 0;
	char *p;

	CU_ASSERT_EQUAL(buf_puts(&b, "payload"), 0);
	p = buf_detach(&b, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p, "payload");
	CU_ASSERT_EQUAL(len, 7);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(b.cap, 0);
	CU_ASSERT_STRING_EQUAL(b.data, "");
	free(p);
	/* The buffer is usable again after a detach. */
	CU_ASSERT_EQUAL(buf_puts(&b, "again"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "again");
	buf_free(&b);
}

static void test_detach_of_empty_buffer_gives_fresh_string(void)
{
	struct buf b = BUF_INIT;
	size_t len = 99;
	char *p;

	p = buf_detach(&b, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_EQUAL(p, buf_empty);
	CU_ASSERT_STRING_EQUAL(p, "");
	CU_ASSERT_EQUAL(len, 0);
	free(p);
}

static void test_grow_overflow_sets_sticky_failed(void)
{
	struct buf b = BUF_INIT;

	CU_ASSERT_EQUAL(buf_puts(&b, "keep"), 0);
	CU_ASSERT_EQUAL(buf_grow(&b, SIZE_MAX), -1);
	CU_ASSERT_TRUE(b.failed);
	/* Every later append is a no-op returning -1, and the content stays intact. */
	CU_ASSERT_EQUAL(buf_puts(&b, "more"), -1);
	CU_ASSERT_EQUAL(buf_putc(&b, 'x'), -1);
	CU_ASSERT_EQUAL(buf_printf(&b, "%d", 1), -1);
	CU_ASSERT_EQUAL(buf_grow(&b, 1), -1);
	CU_ASSERT_EQUAL(b.len, 4);
	CU_ASSERT_STRING_EQUAL(b.data, "keep");
	buf_free(&b);
	CU_ASSERT_FALSE(b.failed);
}

static void test_detach_of_failed_buffer_returns_null(void)
{
	struct buf b = BUF_INIT;
	size_t len = 7;

	CU_ASSERT_EQUAL(buf_puts(&b, "data"), 0);
	CU_ASSERT_EQUAL(buf_grow(&b, SIZE_MAX - 2), -1);
	CU_ASSERT_PTR_NULL(buf_detach(&b, &len));
	/* The memory was freed and the buffer reset to a usable empty state. */
	CU_ASSERT_FALSE(b.failed);
	CU_ASSERT_EQUAL(b.cap, 0);
	CU_ASSERT_STRING_EQUAL(b.data, "");
	buf_free(&b);
}

static void test_reset_clears_failed(void)
{
	struct buf b = BUF_INIT;

	CU_ASSERT_EQUAL(buf_grow(&b, SIZE_MAX), -1);
	CU_ASSERT_TRUE(b.failed);
	buf_reset(&b);
	CU_ASSERT_FALSE(b.failed);
	CU_ASSERT_EQUAL(buf_puts(&b, "ok"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "ok");
	buf_free(&b);
}

static void test_free_twice_is_safe(void)
{
	struct buf b = BUF_INIT;

	CU_ASSERT_EQUAL(buf_puts(&b, "x"), 0);
	buf_free(&b);
	buf_free(&b);
	CU_ASSERT_EQUAL(b.cap, 0);
	CU_ASSERT_STRING_EQUAL(b.data, "");
}

static const struct unit_test tests[] = {
	{ "init is an empty string", test_init_is_empty_string },
	{ "append keeps the buffer NUL-terminated", test_append_keeps_nul_terminated },
	{ "append holds binary bytes", test_append_holds_binary_bytes },
	{ "append grows across many calls", test_append_grows_across_many_calls },
	{ "printf grows past 64 bytes", test_printf_grows_past_64_bytes },
	{ "printf fills exactly to capacity then grows", test_printf_fills_exactly_to_capacity },
	{ "printf of an empty string on an empty buffer", test_printf_of_empty_string_on_empty_buffer },
	{ "reset keeps the memory", test_reset_keeps_memory },
	{ "detach hands out the memory and resets", test_detach_hands_out_memory_and_resets },
	{ "detach of an empty buffer gives a fresh string", test_detach_of_empty_buffer_gives_fresh_string },
	{ "grow overflow sets a sticky failed flag", test_grow_overflow_sets_sticky_failed },
	{ "detach of a failed buffer returns NULL", test_detach_of_failed_buffer_returns_null },
	{ "reset clears the failed flag", test_reset_clears_failed },
	{ "free twice is safe", test_free_twice_is_safe },
};

UNIT_SUITES(UNIT_SUITE("buf", NULL, NULL, tests));
