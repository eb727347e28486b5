/* clientip.c: trusted-proxy CIDR matching and X-Forwarded-For resolution (see clientip.h). */
#include "config.h"

#include "http/clientip.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Longest entry of a trusted-proxy list we read: an IPv6 text, '/', three digits. */
#define CLIENTIP_ENTRY_MAX (INET6_ADDRSTRLEN + 4)

static const unsigned char clientip_v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool clientip_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parses the address text s[0..n) into addr (IPv4 as IPv4-mapped IPv6). Only inet_pton's
 * strict forms are accepted: no ports, brackets, zone ids or abbreviated IPv4.
 */
static bool clientip_addr_parse(const char *s, size_t n, unsigned char addr[16], bool *is_v4)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in_addr a4;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (strlen(tmp) != n)
		return false;
	if (memchr(tmp, ':', n) != NULL) {
		*is_v4 = false;
		return inet_pton(AF_INET6, tmp, addr) == 1;
	}
	if (inet_pton(AF_INET, tmp, &a4) != 1)
		return false;
	memcpy(addr, clientip_v4mapped_prefix, sizeof(clientip_v4mapped_prefix));
	memcpy(addr + 12, &a4, 4);
	*is_v4 = true;
	return true;
}

/* Whether addr lies in c. */
static bool clientip_cidr_match(const struct cidr *c, const unsigned char addr[16])
{
	unsigned whole = c->prefix / 8, bits = c->prefix % 8;
	unsigned char mask;

	if (memcmp(c->addr, addr, whole) != 0)
		return false;
	if (bits == 0)
		return true;
	mask = (unsigned char)(0xffu << (8 - bits));
	return (addr[whole] & mask) == c->addr[whole];
}

static bool clientip_list_match(const struct cidr_list *l, const unsigned char addr[16])
{
	size_t i;

	if (l == NULL)
		return false;
	for (i = 0; i < l->n && i < CLIENTIP_MAX_CIDRS; i++)
		if (clientip_cidr_match(&l->e[i], addr))
			return true;
	return false;
}

/* Parses one list entry s[0..n) ("addr" or "addr/prefix") into *c. Returns NULL, or the problem. */
static const char *clientip_cidr_parse(const char *s, size_t n, struct cidr *c)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n, i, plen;
	unsigned prefix = 0, max;
	bool is_v4 = false;

	if (!clientip_addr_parse(s, alen, c->addr, &is_v4))
		return "not an IP address";
	max = is_v4 ? 32 : 128;
	if (slash == NULL) {
		prefix = max;
	} else {
		plen = n - alen - 1;
		if (plen == 0 || plen > 3)
			return "bad prefix length";
		for (i = 0; i < plen; i++) {
			char d = slash[1 + i];

			if (d < '0' || d > '9')
				return "bad prefix length";
			prefix = prefix * 10 + (unsigned)(d - '0');
		}
		if (prefix > max)
			return is_v4 ? "prefix length above 32" : "prefix length above 128";
	}
	c->prefix = is_v4 ? prefix + 96 : prefix;
	for (i = 0; i < 16; i++) {
		unsigned keep = c->prefix > i * 8 ? c->prefix - (unsigned)(i * 8) : 0;

		if (keep < 8)
			c->addr[i] &= (unsigned char)(0xffu << (8 - keep));
	}
	return NULL;
}

int clientip_parse_trusted(const char *spec, struct cidr_list *out, char *err, size_t errlen)
{
	const char *p = spec, *why = NULL;
	int rc = -1;

	out->n = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (spec == NULL)
		return 0;
	for (;;) {
		const char *start;
		size_t n;

		while (*p == ',' || clientip_blank(*p) || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && !clientip_blank(*p) && *p != '\r' && *p != '\n')
			p++;
		n = (size_t)(p - start);
		if (out->n == CLIENTIP_MAX_CIDRS) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "too many trusted proxies (at most %d), at \"%.*s\"",
				         CLIENTIP_MAX_CIDRS, (int)(n > 64 ? 64 : n), start);
			goto out;
		}
		why = n > CLIENTIP_ENTRY_MAX ? "too long" : clientip_cidr_parse(start, n, &out->e[out->n]);
		if (why != NULL) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "bad trusted proxy \"%.*s\": %s",
				         (int)(n > 64 ? 64 : n), start, why);
			goto out;
		}
		out->n++;
	}
	rc = 0;
out:
	if (rc != 0)
		out->n = 0;
	return rc;
}

bool clientip_is_trusted(const struct cidr_list *trusted, const char *addr)
{
	unsigned char a[16];
	bool is_v4;

	if (addr == NULL || !clientip_addr_parse(addr, strlen(addr), a, &is_v4))
		return false;
	return clientip_list_match(trusted, a);
}

/* Writes addr as text, IPv4-mapped addresses as plain IPv4. */
static int clientip_format(const unsigned char addr[16], char *out, size_t outlen)
{
	const char *r;

	if (outlen > (size_t)INT32_MAX)
		outlen = INT32_MAX;
	if (memcmp(addr, clientip_v4mapped_prefix, sizeof(clientip_v4mapped_prefix)) == 0)
		r = inet_ntop(AF_INET, addr + 12, out, (socklen_t)outlen);
	else
		r = inet_ntop(AF_INET6, addr, out, (socklen_t)outlen);
	return r == NULL ? -1 : 0;
}

int clientip_resolve(const struct cidr_list *trusted, const char *remote_addr, const char *xff, char *out,
                     size_t outlen)
{
	unsigned char last[16], hop[16];
	const char *end;
	size_t hops = 0;
	bool is_v4;
	int rc = -1;

	if (out == NULL || outlen == 0)
		return -1;
	out[0] = '\0';
	if (remote_addr == NULL || !clientip_addr_parse(remote_addr, strlen(remote_addr), last, &is_v4))
		goto out;
	if (xff == NULL || !clientip_list_match(trusted, last))
		goto done;
	end = xff + strlen(xff);
	while (end > xff) {
		const char *p = end, *s, *e;

		while (p > xff && p[-1] != ',')
			p--;
		s = p;
		e = end;
		end = p > xff ? p - 1 : xff;
		while (s < e && clientip_blank(*s))
			s++;
		while (e > s && clientip_blank(e[-1]))
			e--;
		if (s == e)
			continue;
		if (++hops > CLIENTIP_MAX_HOPS)
			break;
		if (!clientip_addr_parse(s, (size_t)(e - s), hop, &is_v4))
			break;
		memcpy(last, hop, sizeof(last));
		if (!clientip_list_match(trusted, hop))
			break;
	}
done:
	if (clientip_format(last, out, outlen) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		out[0] = '\0';
	return rc;
}

int clientip_resolve_request(const struct cidr_list *trusted, const char *remote_addr, const char *xff,
                             size_t xff_count, char *out, size_t outlen)
{
	/* Two values of one header: which did our proxy write? Neither is believed. */
	if (xff_count > 1)
		xff = NULL;
	return clientip_resolve(trusted, remote_addr, xff, out, outlen);
}

int clientip_limit_key(const char *addr, char *out, size_t outlen)
{
	unsigned char a[16];
	size_t n;
	bool is_v4;

	if (out == NULL || outlen == 0)
		return -1;
	out[0] = '\0';
	if (addr == NULL || !clientip_addr_parse(addr, strlen(addr), a, &is_v4))
		return -1;
	/* IPv4-mapped addresses (::ffff:a.b.c.d) are IPv4 clients: keyed by the whole address. */
	if (memcmp(a, clientip_v4mapped_prefix, sizeof(clientip_v4mapped_prefix)) != 0)
		memset(a + 8, 0, 8);
	if (clientip_format(a, out, outlen) != 0)
		goto fail;
	if (memcmp(a, clientip_v4mapped_prefix, sizeof(clientip_v4mapped_prefix)) == 0)
		return 0;
	n = strlen(out);
	if (outlen - n < sizeof("/64"))
		goto fail;
	memcpy(out + n, "/64", sizeof("/64"));
	return 0;
fail:
	out[0] = '\0';
	return -1;
}
