/* target.h: where a webhook URL leads, and whether it may be reached (the SSRF policy). */
#ifndef MEDIAD_HOOKS_TARGET_H
#define MEDIAD_HOOKS_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "hooks/resolve.h"

/* A webhook URL's parts, as libcurl (which sends the request) reads them. */
struct target {
	char host[256];     /* for getaddrinfo: an IPv6 literal without its brackets */
	char url_host[260]; /* as in the URL: "[::1]", "example.com" (the CURLOPT_RESOLVE key) */
	int port;
	bool literal; /* the host is an IP address: nothing to resolve */
};

/* Room for a CURLOPT_RESOLVE entry: "host:port:" and every address, bracketed, comma-separated. */
#define TARGET_PIN_MAX (260 + 8 + RESOLVE_MAX_ADDRS * 48)

/*
 * Parses url with libcurl's own parser: only http and https, a host, no user part, no IPv6 zone
 * ("[fe80::1%25eth0]"), no trailing dot ("example.com."); the port given or the scheme's.
 * Returns 0, or -1 with why in err.
 */
int target_parse(const char *url, struct target *t, char *err, size_t errlen)
        __attribute__((warn_unused_result));
/*
 * Checks every address of a (netaddr.h): 0 when all are public, else -1 with "blocked address
 * <addr> (<class>)" in err for the first that is not. allow_private skips the check
 * (webhook_allow_private).
 */
int target_check(const struct resolve_addrs *a, bool allow_private, char *err, size_t errlen)
        __attribute__((warn_unused_result));
/* The CURLOPT_RESOLVE entry that pins t's host to the addresses of a: "host:port:addr,[v6],...". */
void target_pin(const struct target *t, const struct resolve_addrs *a, char *out, size_t outlen);
/* Whether sa (the address libcurl is about to connect to) is one of a's (same family and address). */
bool target_allowed(const struct resolve_addrs *a, const struct sockaddr *sa);

#endif
