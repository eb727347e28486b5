/* netaddr.h: which IP addresses are public: the SSRF check of outgoing requests (webhooks). */
#ifndef MEDIAD_NETADDR_H
#define MEDIAD_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

/* Longest text netaddr_format writes, NUL included (an IPv6 address, as inet_ntop writes it). */
#define NETADDR_TEXT_MAX 46

/*
 * Why sa may not be reached from the server, as a short class name ("loopback", "private",
 * "link-local", ...), or NULL when it is a public unicast address. Covers the IANA special-purpose
 * registries (RFC 6890 and its updates): IPv4 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
 * 192.0.0/24, the documentation nets, 192.88.99/24, 192.168/16, 198.18/15, 224/4, 240/4 and
 * 255.255.255.255; IPv6 ::, ::1, ::/96, 100::/64, 2001::/23, 2001:db8::/32, 3fff::/20, fc00::/7, fe80::/10,
 * fec0::/10 and ff00::/8. An IPv6 address that carries an IPv4 one (IPv4-mapped ::ffff:0:0/96,
 * NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16) is judged by the IPv4 address inside.
 * A family other than AF_INET and AF_INET6 is never public ("not an IP address").
 */
const char *netaddr_class(const struct sockaddr *sa);
/* True when netaddr_class(sa) is NULL. */
bool netaddr_is_public(const struct sockaddr *sa);
/* The address of sa as text ("127.0.0.1", "::1") into out; "?" when it is not IP. */
void netaddr_format(const struct sockaddr *sa, char *out, size_t outlen);

#endif
