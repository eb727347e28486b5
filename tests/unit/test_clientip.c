/* test_clientip.c: CUnit tests for trusted-proxy lists and X-Forwarded-For resolution. */
#include "config.h"

#include "http/clientip.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define TRUSTED_SPEC "127.0.0.1/32, 10.0.0.0/8, 192.168.1.0/24 ::1/128,2001:db8:a::/48"

/* Parses TRUSTED_SPEC, failing the test on error. */
static void trusted_init(struct cidr_list *l)
{
	char err[160];

	CU_ASSERT_EQUAL_FATAL(clientip_parse_trusted(TRUSTED_SPEC, l, err, sizeof(err)), 0);
}

static void test_parse_trusted_accepts_lists(void)
{
	static const struct {
		const char *spec;
		size_t n;
	} cases[] = {
		{ NULL, 0 },
		{ "", 0 },
		{ " , ,\t", 0 },
		{ "127.0.0.1", 1 },
		{ "::1", 1 },
		{ "127.0.0.1/32, 10.0.0.0/8, ::1/128", 3 },
		{ "127.0.0.1/32,10.0.0.0/8,::1/128", 3 },
		{ "127.0.0.1/32 10.0.0.0/8\t::1/128", 3 },
		{ " ,127.0.0.1/32,, 10.0.0.0/8 ,\n::1/128 , ", 3 },
		{ "0.0.0.0/0", 1 },
		{ "::/0", 1 },
		{ "10.1.2.3/8", 1 },
		{ "::ffff:10.0.0.0/104", 1 },
		{ "2001:db8::/32 fe80::/10 fc00::/7", 3 },
		{ "1.2.3.4/032", 1 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		struct cidr_list l;
		char err[160] = "x";
		int rc = clientip_parse_trusted(cases[i].spec, &l, err, sizeof(err));

		if (rc != 0 || l.n != cases[i].n)
			fprintf(stderr, "\nspec case %zu: rc %d n %zu err %s\n", i, rc, l.n, err);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(l.n, cases[i].n);
		CU_ASSERT_STRING_EQUAL(err, "");
	}
}

static void test_parse_trusted_errors_name_the_entry(void)
{
	static const struct {
		const char *spec;
		const char *in_err;
	} cases[] = {
		{ "127.0.0.1/32, 10.0.0.0/33", "\"10.0.0.0/33\"" },
		{ "10.0.0.0/8, ::1/129", "\"::1/129\"" },
		{ "10.0.0.0/", "\"10.0.0.0/\"" },
		{ "10.0.0.0/-1", "\"10.0.0.0/-1\"" },
		{ "10.0.0.0/+8", "\"10.0.0.0/+8\"" },
		{ "10.0.0.0/8/8", "\"10.0.0.0/8/8\"" },
		{ "10.0.0.0/1000", "\"10.0.0.0/1000\"" },
		{ "10.0.0.0/8x", "\"10.0.0.0/8x\"" },
		{ "localhost", "\"localhost\"" },
		{ "10.0.0", "\"10.0.0\"" },
		{ "10.0.0.256", "\"10.0.0.256\"" },
		{ "010.0.0.1", "\"010.0.0.1\"" },
		{ "/8", "\"/8\"" },
		{ "fe80::1%eth0", "\"fe80::1%eth0\"" },
		{ "[::1]", "\"[::1]\"" },
		{ "1.2.3.4:80", "\"1.2.3.4:80\"" },
		{ "::1::2", "\"::1::2\"" },
		{ "1.2.3.4;5.6.7.8", "\"1.2.3.4;5.6.7.8\"" },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/128", "too long" },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		struct cidr_list l;
		char err[160];
		int rc;

		l.n = 5;
		rc = clientip_parse_trusted(cases[i].spec, &l, err, sizeof(err));
		if (rc != -1 || strstr(err, cases[i].in_err) == NULL)
			fprintf(stderr, "\nbad spec case %zu: rc %d err %s\n", i, rc, err);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_EQUAL(l.n, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].in_err));
	}
}

static void test_parse_trusted_caps_the_entry_count(void)
{
	char spec[CLIENTIP_MAX_CIDRS * 16 + 32], err[160];
	struct cidr_list l;
	size_t i, off = 0;

	for (i = 0; i < CLIENTIP_MAX_CIDRS; i++)
		off += (size_t)snprintf(spec + off, sizeof(spec) - off, "10.0.%zu.0/24,", i);
	CU_ASSERT_EQUAL(clientip_parse_trusted(spec, &l, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(l.n, CLIENTIP_MAX_CIDRS);
	snprintf(spec + off, sizeof(spec) - off, "1.2.3.4");
	CU_ASSERT_EQUAL(clientip_parse_trusted(spec, &l, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "too many"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"1.2.3.4\""));
	/* A NULL or tiny error buffer is fine. */
	CU_ASSERT_EQUAL(clientip_parse_trusted(spec, &l, NULL, 0), -1);
	CU_ASSERT_EQUAL(clientip_parse_trusted(spec, &l, err, 1), -1);
	CU_ASSERT_STRING_EQUAL(err, "");
}

static void test_is_trusted_matches_cidrs(void)
{
	static const struct {
		const char *spec;
		const char *addr;
		bool want;
	} cases[] = {
		{ "127.0.0.1", "127.0.0.1", true },
		{ "127.0.0.1", "127.0.0.2", false },
		{ "10.0.0.0/8", "10.255.255.255", true },
		{ "10.0.0.0/8", "11.0.0.0", false },
		{ "10.0.0.0/8", "9.255.255.255", false },
		{ "10.1.2.3/8", "10.200.0.1", true },
		{ "192.168.1.0/25", "192.168.1.127", true },
		{ "192.168.1.0/25", "192.168.1.128", false },
		{ "192.168.1.128/25", "192.168.1.128", true },
		{ "172.16.0.0/12", "172.31.255.255", true },
		{ "172.16.0.0/12", "172.32.0.0", false },
		{ "1.2.3.4/31", "1.2.3.5", true },
		{ "1.2.3.4/31", "1.2.3.6", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "0.0.0.0/0", "2001:db8::1", false },
		{ "::1", "::1", true },
		{ "::1", "::2", false },
		{ "::1/128", "0:0:0:0:0:0:0:1", true },
		{ "2001:db8::/32", "2001:db8:ffff::1", true },
		{ "2001:db8::/32", "2001:db9::1", false },
		{ "2001:db8::/33", "2001:db8:8000::1", false },
		{ "2001:db8::/33", "2001:db8:7fff::1", true },
		{ "::/0", "2001:db8::1", true },
		{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
		{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
		{ "::ffff:10.0.0.0/104", "10.9.9.9", true },
		{ "::ffff:0:0/96", "8.8.8.8", true },
		{ "127.0.0.1", "::1", false },
		{ "::1", "127.0.0.1", false },
		{ "10.0.0.0/8", "10.0.0.1 ", false },
		{ "10.0.0.0/8", "", false },
		{ "10.0.0.0/8", "garbage", false },
		{ "", "10.0.0.1", false },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		struct cidr_list l;

		CU_ASSERT_EQUAL_FATAL(clientip_parse_trusted(cases[i].spec, &l, NULL, 0), 0);
		if (clientip_is_trusted(&l, cases[i].addr) != cases[i].want)
			fprintf(stderr, "\nmatch case %zu: %s in %s\n", i, cases[i].addr, cases[i].spec);
		CU_ASSERT_EQUAL(clientip_is_trusted(&l, cases[i].addr), cases[i].want);
	}
	CU_ASSERT_FALSE(clientip_is_trusted(NULL, "10.0.0.1"));
}

struct resolve_case {
	const char *remote;
	const char *xff;
	const char *want;
};

/* Runs a table against TRUSTED_SPEC. */
static void resolve_run(const struct resolve_case *cases, size_t n)
{
	struct cidr_list l;
	size_t i;

	trusted_init(&l);
	for (i = 0; i < n; i++) {
		char out[CLIENTIP_ADDR_SIZE];
		int rc = clientip_resolve(&l, cases[i].remote, cases[i].xff, out, sizeof(out));

		if (rc != 0 || strcmp(out, cases[i].want) != 0)
			fprintf(stderr, "\nresolve case %zu (%s, %s): rc %d \"%s\"\n", i, cases[i].remote,
			        cases[i].xff ? cases[i].xff : "(null)", rc, out);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
}

static void test_resolve_untrusted_remote_ignores_xff(void)
{
	static const struct resolve_case cases[] = {
		{ "203.0.113.7", NULL, "203.0.113.7" },
		{ "203.0.113.7", "1.1.1.1", "203.0.113.7" },
		{ "203.0.113.7", "garbage", "203.0.113.7" },
		{ "2001:db8:b::1", "1.1.1.1", "2001:db8:b::1" },
	};

	resolve_run(cases, N_ELEMS(cases));
}

static void test_resolve_trusted_remote_without_xff(void)
{
	static const struct resolve_case cases[] = {
		{ "127.0.0.1", NULL, "127.0.0.1" },
		{ "127.0.0.1", "", "127.0.0.1" },
		{ "127.0.0.1", " , ,", "127.0.0.1" },
		{ "::1", NULL, "::1" },
	};

	resolve_run(cases, N_ELEMS(cases));
}

static void test_resolve_walks_right_to_left_to_first_untrusted(void)
{
	static const struct resolve_case cases[] = {
		{ "127.0.0.1", "203.0.113.7", "203.0.113.7" },
		{ "127.0.0.1", "203.0.113.7, 10.0.0.2", "203.0.113.7" },
		{ "127.0.0.1", "203.0.113.7,10.0.0.2,192.168.1.9", "203.0.113.7" },
		/* A client can prepend anything; only the hop our proxies saw counts. */
		{ "127.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7" },
		{ "127.0.0.1", "1.1.1.1, 6.6.6.6, 10.0.0.2", "6.6.6.6" },
		{ "127.0.0.1", "garbage, 203.0.113.7", "203.0.113.7" },
		{ "10.9.9.9", "2001:db8:b::5, 2001:db8:a::1", "2001:db8:b::5" },
		{ "::1", "203.0.113.7", "203.0.113.7" },
		{ "127.0.0.1", " \t203.0.113.7\t , \t10.0.0.2 ", "203.0.113.7" },
		{ "127.0.0.1", "203.0.113.7,,10.0.0.2,", "203.0.113.7" },
	};

	resolve_run(cases, N_ELEMS(cases));
}

static void test_resolve_all_trusted_gives_leftmost(void)
{
	static const struct resolve_case cases[] = {
		{ "127.0.0.1", "10.0.0.1, 10.0.0.2", "10.0.0.1" },
		{ "127.0.0.1", "127.0.0.1", "127.0.0.1" },
		{ "127.0.0.1", ", 192.168.1.1 ,10.0.0.3", "192.168.1.1" },
	};

	resolve_run(cases, N_ELEMS(cases));
}

static void test_resolve_malformed_hop_stops_at_previous_good(void)
{
	static const struct resolve_case cases[] = {
		{ "127.0.0.1", "unknown", "127.0.0.1" },
		{ "127.0.0.1", "203.0.113.7:5555", "127.0.0.1" },
		{ "127.0.0.1", "[2001:db8::1]", "127.0.0.1" },
		{ "127.0.0.1", "[2001:db8::1]:443", "127.0.0.1" },
		{ "127.0.0.1", "203.0.113.7, unknown, 10.0.0.2", "10.0.0.2" },
		{ "127.0.0.1", "203.0.113.7, 10.0.0.2 10.0.0.3", "127.0.0.1" },
		{ "127.0.0.1", "203.0.113.7, 10.0.0.2;x", "127.0.0.1" },
		{ "127.0.0.1", "203.0.113.7, 10.0.0.256", "127.0.0.1" },
		{ "127.0.0.1", "203.0.113.7, fe80::1%eth0", "127.0.0.1" },
		{ "127.0.0.1", "203.0.113.7, 11111111111111111111111111111111111111111111111111111111111111",
		  "127.0.0.1" },
	};

	resolve_run(cases, N_ELEMS(cases));
}

static void test_resolve_normalises_output(void)
{
	static const struct resolve_case cases[] = {
		{ "0:0:0:0:0:0:0:1", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
		{ "::ffff:127.0.0.1", "::ffff:203.0.113.7", "203.0.113.7" },
		{ "::ffff:127.0.0.1", NULL, "127.0.0.1" },
		{ "::ffff:203.0.113.7", NULL, "203.0.113.7" },
		{ "127.0.0.1", "::FFFF:10.0.0.5, ::ffff:10.0.0.6", "10.0.0.5" },
	};

	resolve_run(cases, N_ELEMS(cases));
}

static void test_resolve_caps_the_hop_count(void)
{
	char xff[CLIENTIP_MAX_HOPS * 16 + 64], out[CLIENTIP_ADDR_SIZE];
	struct cidr_list l;
	size_t i, off;

	trusted_init(&l);
	/* 203.0.113.7 then exactly CLIENTIP_MAX_HOPS - 1 trusted hops: still reached. */
	off = (size_t)snprintf(xff, sizeof(xff), "203.0.113.7");
	for (i = 1; i < CLIENTIP_MAX_HOPS; i++)
		off += (size_t)snprintf(xff + off, sizeof(xff) - off, ", 10.0.0.%zu", i);
	CU_ASSERT_EQUAL(clientip_resolve(&l, "127.0.0.1", xff, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "203.0.113.7");
	/* One more trusted hop: the walk stops at the last hop it read. */
	snprintf(xff + off, sizeof(xff) - off, ", 10.0.0.%d", CLIENTIP_MAX_HOPS);
	CU_ASSERT_EQUAL(clientip_resolve(&l, "127.0.0.1", xff, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "10.0.0.1");
}

static void test_resolve_fails_on_bad_remote_or_small_buffer(void)
{
	struct cidr_list l;
	char out[CLIENTIP_ADDR_SIZE];

	trusted_init(&l);
	CU_ASSERT_EQUAL(clientip_resolve(&l, NULL, NULL, out, sizeof(out)), -1);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(clientip_resolve(&l, "", NULL, out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(clientip_resolve(&l, "unix:/run/sock", NULL, out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(clientip_resolve(&l, "127.0.0.1", "203.0.113.7", out, 11), -1);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(clientip_resolve(&l, "127.0.0.1", "203.0.113.7", out, 12), 0);
	CU_ASSERT_STRING_EQUAL(out, "203.0.113.7");
	CU_ASSERT_EQUAL(clientip_resolve(&l, "127.0.0.1", NULL, NULL, 0), -1);
	/* No list: nothing is trusted. */
	CU_ASSERT_EQUAL(clientip_resolve(NULL, "127.0.0.1", "203.0.113.7", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "127.0.0.1");
}

/* Two X-Forwarded-For parameters (lighttpd passes "X-Forwarded-For" and "X_Forwarded_For" so):
 * neither is believed, whatever the peer. One is walked as clientip_resolve does. */
static void test_resolve_request_with_two_xff_uses_the_peer(void)
{
	static const struct {
		const char *remote, *xff;
		size_t count;
		const char *want;
	} cases[] = {
		{ "127.0.0.1", "203.0.113.7", 1, "203.0.113.7" },
		{ "127.0.0.1", "6.6.6.6", 2, "127.0.0.1" },
		{ "127.0.0.1", "6.6.6.6, 203.0.113.7", 2, "127.0.0.1" },
		{ "::1", "2001:db8:b::5", 3, "::1" },
		{ "10.9.9.9", "203.0.113.7", 2, "10.9.9.9" },
		/* An untrusted peer is the client either way. */
		{ "203.0.113.9", "6.6.6.6", 2, "203.0.113.9" },
		/* Repeated headers arrive joined: a list, walked right to left as usual. */
		{ "127.0.0.1", "6.6.6.6, 203.0.113.7", 1, "203.0.113.7" },
		{ "127.0.0.1", NULL, 0, "127.0.0.1" },
		{ "::ffff:127.0.0.1", "6.6.6.6", 2, "127.0.0.1" },
	};
	struct cidr_list l;
	size_t i;

	trusted_init(&l);
	for (i = 0; i < N_ELEMS(cases); i++) {
		char out[CLIENTIP_ADDR_SIZE];
		int rc = clientip_resolve_request(&l, cases[i].remote, cases[i].xff, cases[i].count, out,
		                                  sizeof(out));

		if (rc != 0 || strcmp(out, cases[i].want) != 0)
			fprintf(stderr, "\nrequest case %zu: rc %d \"%s\"\n", i, rc, out);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
	{
		char out[CLIENTIP_ADDR_SIZE];

		CU_ASSERT_EQUAL(clientip_resolve_request(&l, "nonsense", "6.6.6.6", 2, out, sizeof(out)), -1);
	}
}

static void test_limit_key_groups_ipv6_by_64(void)
{
	static const struct {
		const char *addr, *want;
	} cases[] = {
		{ "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64" },
		{ "2001:db8:1:2:bbbb::2", "2001:db8:1:2::/64" },
		{ "2001:0DB8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64" },
		{ "2001:db8:1:3::1", "2001:db8:1:3::/64" },
		{ "2001:db8::1", "2001:db8::/64" },
		{ "::1", "::/64" },
		{ "fe80::1:2:3:4", "fe80::/64" },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		char out[CLIENTIP_KEY_SIZE];
		int rc = clientip_limit_key(cases[i].addr, out, sizeof(out));

		if (rc != 0 || strcmp(out, cases[i].want) != 0)
			fprintf(stderr, "\nkey case %zu (%s): rc %d \"%s\"\n", i, cases[i].addr, rc, out);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
}

static void test_limit_key_keeps_ipv4_and_unmaps_mapped(void)
{
	static const struct {
		const char *addr, *want;
	} cases[] = {
		{ "203.0.113.7", "203.0.113.7" },
		{ "203.0.113.8", "203.0.113.8" },
		{ "127.0.0.1", "127.0.0.1" },
		/* IPv4-mapped IPv6 is an IPv4 client. */
		{ "::ffff:203.0.113.7", "203.0.113.7" },
		{ "::FFFF:cb00:7107", "203.0.113.7" },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		char out[CLIENTIP_KEY_SIZE];
		int rc = clientip_limit_key(cases[i].addr, out, sizeof(out));

		if (rc != 0 || strcmp(out, cases[i].want) != 0)
			fprintf(stderr, "\nkey case %zu (%s): rc %d \"%s\"\n", i, cases[i].addr, rc, out);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
}

static void test_limit_key_refuses_bad_input(void)
{
	char out[CLIENTIP_KEY_SIZE];

	CU_ASSERT_EQUAL(clientip_limit_key(NULL, out, sizeof(out)), -1);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(clientip_limit_key("", out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(clientip_limit_key("unix:/run/sock", out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(clientip_limit_key("203.0.113.7:80", out, sizeof(out)), -1);
	CU_ASSERT_STRING_EQUAL(out, "");
	/* "2001:db8:1:2::/64" is 17 bytes and its NUL. */
	CU_ASSERT_EQUAL(clientip_limit_key("2001:db8:1:2::9", out, 17), -1);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(clientip_limit_key("2001:db8:1:2::9", out, 18), 0);
	CU_ASSERT_STRING_EQUAL(out, "2001:db8:1:2::/64");
	CU_ASSERT_EQUAL(clientip_limit_key("203.0.113.7", NULL, 0), -1);
}

static const struct unit_test tests[] = {
	{ "parse trusted accepts lists", test_parse_trusted_accepts_lists },
	{ "parse trusted errors name the entry", test_parse_trusted_errors_name_the_entry },
	{ "parse trusted caps the count", test_parse_trusted_caps_the_entry_count },
	{ "is_trusted matches CIDRs", test_is_trusted_matches_cidrs },
	{ "untrusted remote ignores XFF", test_resolve_untrusted_remote_ignores_xff },
	{ "trusted remote without XFF", test_resolve_trusted_remote_without_xff },
	{ "right to left to first untrusted", test_resolve_walks_right_to_left_to_first_untrusted },
	{ "all trusted gives leftmost", test_resolve_all_trusted_gives_leftmost },
	{ "malformed hop stops at previous", test_resolve_malformed_hop_stops_at_previous_good },
	{ "output normalised", test_resolve_normalises_output },
	{ "hop count capped", test_resolve_caps_the_hop_count },
	{ "bad remote or small buffer", test_resolve_fails_on_bad_remote_or_small_buffer },
	{ "two XFF values: the peer is the client", test_resolve_request_with_two_xff_uses_the_peer },
	{ "limit key: IPv6 by /64", test_limit_key_groups_ipv6_by_64 },
	{ "limit key: IPv4 as is, mapped unmapped", test_limit_key_keeps_ipv4_and_unmaps_mapped },
	{ "limit key: not addresses, small buffers", test_limit_key_refuses_bad_input },
};

UNIT_SUITES(UNIT_SUITE("clientip", NULL, NULL, tests));
