/* clientip.h: trusted-proxy CIDR lists and the client address behind X-Forwarded-For. */
#ifndef MEDIAD_CLIENTIP_H
#define MEDIAD_CLIENTIP_H

#include <stdbool.h>
#include <stddef.h>

/* Most entries in a trusted-proxy list. */
#define CLIENTIP_MAX_CIDRS 32
/* Most X-Forwarded-For hops walked; past that the walk stops as on a malformed hop. */
#define CLIENTIP_MAX_HOPS 32
/* Buffer size that fits any address clientip_resolve writes (INET6_ADDRSTRLEN). */
#define CLIENTIP_ADDR_SIZE 46

/*
 * One network. IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d, prefix + 96), so a v4 entry
 * matches both "1.2.3.4" and "::ffff:1.2.3.4", and a v6 entry covering ::ffff:0:0/96 (e.g. ::/0)
 * matches IPv4 clients too.
 */
struct cidr {
	unsigned char addr[16]; /* host bits already cleared */
	unsigned prefix;        /* 0..128 */
};

struct cidr_list {
	size_t n;
	struct cidr e[CLIENTIP_MAX_CIDRS];
};

/*
 * Parses a trusted-proxy list such as "127.0.0.1/32, 10.0.0.0/8, ::1/128": entries separated by
 * commas and/or blanks, a bare address meaning /32 or /128, host bits below the prefix ignored
 * (10.1.2.3/8 is 10.0.0.0/8). NULL or blank gives an empty list (no proxy trusted).
 * Returns 0, or -1 with out emptied and, when err is non-NULL, a message naming the bad entry
 * (bad address, bad or out-of-range prefix, zone ids, more than CLIENTIP_MAX_CIDRS entries).
 */
int clientip_parse_trusted(const char *spec, struct cidr_list *out, char *err, size_t errlen)
        __attribute__((warn_unused_result));

/* Whether addr (IPv4 or IPv6 text) parses and lies in one of the list's networks. */
bool clientip_is_trusted(const struct cidr_list *trusted, const char *addr);

/*
 * Writes the client's address into out (outlen >= CLIENTIP_ADDR_SIZE always fits), normalised by
 * inet_ntop; an IPv4-mapped address is written as plain IPv4.
 * If remote_addr is not trusted, or xff is NULL or blank, that is remote_addr. Otherwise xff is
 * walked right to left, skipping trusted hops, and the first untrusted hop is the client; if every
 * hop is trusted, the leftmost. A malformed hop (a port, "unknown", garbage) or more than
 * CLIENTIP_MAX_HOPS hops stops the walk and the last good address seen, i.e. the hop to its
 * right (remote_addr for the rightmost), is the client: nothing left of a hop that we cannot
 * read is believed.
 * Returns 0, or -1 (out set to "" when outlen > 0) if remote_addr is not an address or out is
 * too small.
 */
int clientip_resolve(const struct cidr_list *trusted, const char *remote_addr, const char *xff, char *out,
                     size_t outlen) __attribute__((warn_unused_result));

/*
 * clientip_resolve for a request that carried xff_count X-Forwarded-For values, xff being the first
 * (NULL when there is none). Repeated X-Forwarded-For headers reach us joined into one list
 * ("a, b": lighttpd and Apache both do that), which is walked as usual. But lighttpd also maps an
 * "X_Forwarded_For" header to HTTP_X_FORWARDED_FOR and passes it as a second parameter of that
 * name, and which of the two a trusted proxy wrote cannot be told: with more than one value none
 * is believed, and the client is remote_addr, as if no proxy were trusted.
 * Returns as clientip_resolve.
 */
int clientip_resolve_request(const struct cidr_list *trusted, const char *remote_addr, const char *xff,
                             size_t xff_count, char *out, size_t outlen) __attribute__((warn_unused_result));

/* Buffer size that fits any key clientip_limit_key writes: an IPv6 address and "/64". */
#define CLIENTIP_KEY_SIZE (CLIENTIP_ADDR_SIZE + 3)

/*
 * Writes the part of addr that rate limits count by: an IPv4 address (IPv4-mapped IPv6 too) as
 * itself, in dotted form; an IPv6 address as its /64 network ("2001:db8:1:2::/64"), since one
 * subscriber is routinely given a whole /64 and could otherwise use a fresh address per request.
 * Returns 0, or -1 (out set to "" when outlen > 0) if addr is not an address or out is too small.
 */
int clientip_limit_key(const char *addr, char *out, size_t outlen) __attribute__((warn_unused_result));

#endif
