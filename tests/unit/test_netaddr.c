/* test_netaddr.c: CUnit tests for the SSRF classifier of IP addresses (util/netaddr.h). */
#include "config.h"

#include "util/netaddr.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* An address as text and the class it must get (NULL: public). */
struct addr_case {
	const char *text;
	const char *why;
};

/* The class of text, parsed as IPv4 or IPv6 into a sockaddr as getaddrinfo would give it. */
static const char *class_of(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
	} else {
		CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
	}
	return netaddr_class((const struct sockaddr *)&ss);
}

static void check_cases(const struct addr_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *got = class_of(cases[i].text);
		bool ok = cases[i].why == NULL ? got == NULL : got != NULL && strcmp(got, cases[i].why) == 0;

		if (!ok)
			fprintf(stderr, "\n  %s: wanted %s, got %s\n", cases[i].text,
			        cases[i].why ? cases[i].why : "public", got ? got : "public");
		CU_ASSERT(ok);
	}
}

static void test_ipv4_special_nets_are_blocked(void)
{
	static const struct addr_case cases[] = {
		{ "0.0.0.0", "this network" },
		{ "0.255.255.255", "this network" },
		{ "10.0.0.1", "private" },
		{ "10.255.255.255", "private" },
		{ "100.64.0.1", "shared address space" },
		{ "100.127.255.254", "shared address space" },
		{ "127.0.0.1", "loopback" },
		{ "127.255.0.9", "loopback" },
		{ "169.254.169.254", "link-local" },
		{ "172.16.0.1", "private" },
		{ "172.31.255.255", "private" },
		{ "192.0.0.8", "IETF protocol assignments" },
		{ "192.0.2.1", "documentation" },
		{ "192.168.1.1", "private" },
		{ "198.18.0.1", "benchmarking" },
		{ "198.19.255.255", "benchmarking" },
		{ "224.0.0.1", "multicast" },
		{ "239.255.255.250", "multicast" },
		{ "240.0.0.1", "reserved" },
		{ "255.255.255.254", "reserved" },
		{ "255.255.255.255", "broadcast" },
	};

	check_cases(cases, N_ELEMS(cases));
}

static void test_ipv4_edges_of_blocked_nets_are_public(void)
{
	static const struct addr_case cases[] = {
		{ "1.1.1.1", NULL },         { "8.8.8.8", NULL },         { "9.255.255.255", NULL },
		{ "11.0.0.0", NULL },        { "100.63.255.255", NULL },  { "100.128.0.0", NULL },
		{ "126.255.255.255", NULL }, { "128.0.0.0", NULL },       { "169.253.255.255", NULL },
		{ "169.255.0.0", NULL },     { "172.15.255.255", NULL },  { "172.32.0.0", NULL },
		{ "192.0.1.1", NULL },       { "192.167.255.255", NULL }, { "192.169.0.0", NULL },
		{ "198.17.255.255", NULL },  { "198.20.0.0", NULL },      { "223.255.255.255", NULL },
	};

	check_cases(cases, N_ELEMS(cases));
}

static void test_ipv6_special_nets_are_blocked(void)
{
	static const struct addr_case cases[] = {
		{ "::", "unspecified" },
		{ "::1", "loopback" },
		{ "::2", "reserved" },
		{ "fc00::1", "unique local" },
		{ "fd12:3456::1", "unique local" },
		{ "fe80::1", "link-local" },
		{ "febf:ffff::1", "link-local" },
		{ "fec0::1", "site-local" },
		{ "ff02::1", "multicast" },
		{ "ff0e::1", "multicast" },
		{ "2001:db8::1", "documentation" },
		{ "3fff::1", "documentation" },
		{ "3fff:0fff:ffff::1", "documentation" },
		{ "2001::1", "IETF protocol assignments" },
		{ "100::1", "discard-only" },
	};

	check_cases(cases, N_ELEMS(cases));
}

static void test_ipv6_public_addresses_pass(void)
{
	static const struct addr_case cases[] = {
		{ "2606:4700:4700::1111", NULL },
		{ "2a00:1450:4001:80b::200e", NULL },
		{ "2001:4860:4860::8888", NULL },
		{ "fbff:ffff::1", NULL },
		/* just past 3fff::/20 (documentation, RFC 9637), and just before it */
		{ "3fff:1000::1", NULL },
		{ "3ffe:ffff::1", NULL },
	};

	check_cases(cases, N_ELEMS(cases));
}

/* An IPv6 address that carries an IPv4 one goes where the IPv4 address goes. */
static void test_ipv6_carriers_of_ipv4_are_judged_by_it(void)
{
	static const struct addr_case cases[] = {
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:10.1.2.3", "private" },
		{ "::ffff:169.254.169.254", "link-local" },
		{ "::ffff:8.8.8.8", NULL },
		{ "64:ff9b::127.0.0.1", "loopback" },
		{ "64:ff9b::192.168.0.1", "private" },
		{ "64:ff9b::8.8.8.8", NULL },
		{ "64:ff9b:1::1", "NAT64 local-use" },
		/* 6to4: 2002:AABB:CCDD::/48 is the IPv4 address AA.BB.CC.DD */
		{ "2002:7f00:1::1", "loopback" },
		{ "2002:a9fe:a9fe::1", "link-local" },
		{ "2002:0a00:0001::", "private" },
		{ "2002:0808:0808::1", NULL },
	};

	check_cases(cases, N_ELEMS(cases));
}

static void test_other_families_are_not_public(void)
{
	struct sockaddr_un un;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CU_ASSERT_FALSE(netaddr_is_public((const struct sockaddr *)&un));
	CU_ASSERT_STRING_EQUAL(netaddr_class((const struct sockaddr *)&un), "not an IP address");
}

static void test_is_public_follows_the_class(void)
{
	struct sockaddr_in in;

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	CU_ASSERT_EQUAL(inet_pton(AF_INET, "93.184.216.34", &in.sin_addr), 1);
	CU_ASSERT_TRUE(netaddr_is_public((const struct sockaddr *)&in));
	CU_ASSERT_EQUAL(inet_pton(AF_INET, "127.0.0.1", &in.sin_addr), 1);
	CU_ASSERT_FALSE(netaddr_is_public((const struct sockaddr *)&in));
}

static void test_format_writes_the_address(void)
{
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
	char out[NETADDR_TEXT_MAX];

	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	CU_ASSERT_EQUAL(inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr), 1);
	netaddr_format((const struct sockaddr *)&in6, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "fe80::1");
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	netaddr_format((const struct sockaddr *)&un, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "?");
}

static const struct unit_test tests[] = {
	{ "IPv4 special-purpose nets are blocked", test_ipv4_special_nets_are_blocked },
	{ "IPv4 edges of blocked nets are public", test_ipv4_edges_of_blocked_nets_are_public },
	{ "IPv6 special-purpose nets are blocked", test_ipv6_special_nets_are_blocked },
	{ "IPv6 public addresses pass", test_ipv6_public_addresses_pass },
	{ "IPv6 carriers of IPv4 are judged by it", test_ipv6_carriers_of_ipv4_are_judged_by_it },
	{ "other families are not public", test_other_families_are_not_public },
	{ "is_public follows the class", test_is_public_follows_the_class },
	{ "format writes the address", test_format_writes_the_address },
};

UNIT_SUITES(UNIT_SUITE("netaddr", NULL, NULL, tests));
