/* netaddr.c: the classifier of IP addresses an outgoing request may not reach (netaddr.h). */
#include "config.h"

#include "util/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* A blocked IPv4 net: address and prefix length, host order. */
struct net4 {
	uint32_t net;
	int bits;
	const char *why;
};

/* Most specific first where nets overlap (none do today). */
static const struct net4 blocked4[] = {
	{ 0x00000000, 8, "this network" },
	{ 0x0a000000, 8, "private" },
	{ 0x64400000, 10, "shared address space" },
	{ 0x7f000000, 8, "loopback" },
	{ 0xa9fe0000, 16, "link-local" },
	{ 0xac100000, 12, "private" },
	{ 0xc0000000, 24, "IETF protocol assignments" },
	{ 0xc0000200, 24, "documentation" },
	{ 0xc0586300, 24, "6to4 relay anycast" },
	{ 0xc0a80000, 16, "private" },
	{ 0xc6120000, 15, "benchmarking" },
	{ 0xc6336400, 24, "documentation" },
	{ 0xcb007100, 24, "documentation" },
	{ 0xe0000000, 4, "multicast" },
	{ 0xffffffff, 32, "broadcast" },
	{ 0xf0000000, 4, "reserved" },
};

/* A blocked IPv6 net: its first bytes (prefix bits rounded up) and prefix length. */
struct net6 {
	unsigned char net[16];
	int bits;
	const char *why;
};

static const struct net6 blocked6[] = {
	{ { 0 }, 128, "unspecified" },
	{ { [15] = 1 }, 128, "loopback" },
	/* IPv4-compatible (deprecated), and the rest of ::/8 with it */
	{ { 0 }, 8, "reserved" },
	{ { 0x01, 0x00 }, 64, "discard-only" },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation" },
	{ { 0x3f, 0xff }, 20, "documentation" }, /* RFC 9637 */
	{ { 0x20, 0x01, 0x00, 0x00 }, 23, "IETF protocol assignments" },
	{ { 0xfc }, 7, "unique local" },
	{ { 0xfe, 0x80 }, 10, "link-local" },
	{ { 0xfe, 0xc0 }, 10, "site-local" },
	{ { 0xff }, 8, "multicast" },
};

static const char *class4(uint32_t a)
{
	size_t i;

	for (i = 0; i < sizeof(blocked4) / sizeof(blocked4[0]); i++) {
		uint32_t mask = blocked4[i].bits == 0 ? 0 : 0xffffffffu << (32 - blocked4[i].bits);

		if ((a & mask) == blocked4[i].net)
			return blocked4[i].why;
	}
	return NULL;
}

static bool prefix6(const unsigned char *a, const unsigned char *net, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ net[full]) & (0xff << (8 - rest))) == 0;
}

static uint32_t v4_at(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *class6(const unsigned char *a)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const unsigned char nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	static const unsigned char nat64_local[6] = { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 };
	size_t i;

	/* Carriers of an IPv4 address: what counts is where the packets end up. */
	if (memcmp(a, mapped, sizeof(mapped)) == 0 || memcmp(a, nat64, sizeof(nat64)) == 0)
		return class4(v4_at(a + 12)) != NULL ? class4(v4_at(a + 12)) : NULL;
	if (memcmp(a, nat64_local, sizeof(nat64_local)) == 0)
		return "NAT64 local-use";
	if (a[0] == 0x20 && a[1] == 0x02)
		return class4(v4_at(a + 2));
	for (i = 0; i < sizeof(blocked6) / sizeof(blocked6[0]); i++)
		if (prefix6(a, blocked6[i].net, blocked6[i].bits))
			return blocked6[i].why;
	return NULL;
}

const char *netaddr_class(const struct sockaddr *sa)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;

	/* Copied out: the caller's storage need not be aligned for the specific type. */
	if (sa->sa_family == AF_INET) {
		memcpy(&in, sa, sizeof(in));
		return class4(ntohl(in.sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(&in6, sa, sizeof(in6));
		return class6(in6.sin6_addr.s6_addr);
	}
	return "not an IP address";
}

bool netaddr_is_public(const struct sockaddr *sa)
{
	return netaddr_class(sa) == NULL;
}

void netaddr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	const char *ok = NULL;

	if (outlen == 0)
		return;
	if (sa->sa_family == AF_INET) {
		memcpy(&in, sa, sizeof(in));
		ok = inet_ntop(AF_INET, &in.sin_addr, out, (socklen_t)outlen);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&in6, sa, sizeof(in6));
		ok = inet_ntop(AF_INET6, &in6.sin6_addr, out, (socklen_t)outlen);
	}
	if (ok == NULL)
		snprintf(out, outlen, "?");
}
