/* target.c: webhook URLs through libcurl's parser, and the addresses they may reach (target.h). */
#include "config.h"

#include "hooks/target.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/netaddr.h"

int target_parse(const char *url, struct target *t, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *zone = NULL;
	unsigned char probe[sizeof(struct in6_addr)];
	size_t n;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		snprintf(err, errlen, "the URL cannot be parsed");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "only http and https URLs are delivered to");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "a URL with a user part is not delivered to");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		snprintf(err, errlen, "the URL has no host");
		goto out;
	}
	/* A zone names an interface of the sending host: nothing a user of ours may choose. */
	if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
		snprintf(err, errlen, "an IPv6 address with a zone ID (%%25...) is not delivered to");
		goto out;
	}
	n = strlen(host);
	if (n == 0 || n >= sizeof(t->host)) {
		snprintf(err, errlen, "the URL's host is empty or too long");
		goto out;
	}
	/* "example.com." is the same name to DNS, but not to libcurl's pin (CURLOPT_RESOLVE) nor to
	 * TLS: refused with words that say so rather than as an address we did not check. */
	if (host[n - 1] == '.') {
		snprintf(err, errlen, "a host name ending in a dot is not delivered to (remove the dot)");
		goto out;
	}
	snprintf(t->url_host, sizeof(t->url_host), "%s", host);
	/* libcurl gives an IPv6 literal in brackets, its zone (refused above) apart. */
	if (host[0] == '[' && n > 2 && host[n - 1] == ']')
		snprintf(t->host, sizeof(t->host), "%.*s", (int)(n - 2), host + 1);
	else
		snprintf(t->host, sizeof(t->host), "%s", host);
	t->literal = inet_pton(AF_INET, t->host, probe) == 1 || inet_pton(AF_INET6, t->host, probe) == 1;
	t->port = (int)strtol(port, NULL, 10);
	if (t->port <= 0 || t->port > 65535) {
		snprintf(err, errlen, "the URL's port is not valid");
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(zone);
	curl_url_cleanup(u);
	return rc;
}

int target_check(const struct resolve_addrs *a, bool allow_private, char *err, size_t errlen)
{
	char text[NETADDR_TEXT_MAX];
	int i;

	for (i = 0; i < a->n && !allow_private; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&a->addr[i];
		const char *why = netaddr_class(sa);

		if (why != NULL) {
			netaddr_format(sa, text, sizeof(text));
			snprintf(err, errlen, "blocked address %s (%s)", text, why);
			return -1;
		}
	}
	return 0;
}

void target_pin(const struct target *t, const struct resolve_addrs *a, char *out, size_t outlen)
{
	char text[NETADDR_TEXT_MAX];
	size_t o;
	int i;

	o = (size_t)snprintf(out, outlen, "%s:%d:", t->url_host, t->port);
	for (i = 0; i < a->n && o < outlen; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&a->addr[i];

		netaddr_format(sa, text, sizeof(text));
		o += (size_t)snprintf(out + o, outlen - o, sa->sa_family == AF_INET6 ? "%s[%s]" : "%s%s",
		                      i > 0 ? "," : "", text);
	}
}

bool target_allowed(const struct resolve_addrs *a, const struct sockaddr *sa)
{
	int i;

	for (i = 0; i < a->n; i++) {
		const struct sockaddr *b = (const struct sockaddr *)&a->addr[i];

		if (b->sa_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)(const void *)b)->sin_addr,
		           &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		           sizeof(struct in_addr)) == 0)
			return true;
		if (sa->sa_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
		           &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		           sizeof(struct in6_addr)) == 0)
			return true;
	}
	return false;
}
