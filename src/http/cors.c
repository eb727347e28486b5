/* cors.c: which origins may read our answers (cors_origins), the headers that say so, preflights. */
#include "config.h"

#include "http/cors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "http/response.h"

#define CORS_SEPARATORS ", \t\r\n"

/* The next entry of a cors_origins value at *cur: *tok and *len, *cur moved past it. False at the end. */
static bool cors_next(const char **cur, const char **tok, size_t *len)
{
	const char *p = *cur;

	p += strspn(p, CORS_SEPARATORS);
	if (*p == '\0') {
		*cur = p;
		return false;
	}
	*tok = p;
	*len = strcspn(p, CORS_SEPARATORS);
	*cur = p + *len;
	return true;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Whether s[0..n) is an origin as browsers send it: scheme "://" host [":" port], the host a
 * name or IPv4 address ([A-Za-z0-9.-]) or a bracketed IPv6 address, the port 1 to 65535; no path,
 * query, user information or wildcard.
 */
static bool origin_syntax_ok(const char *s, size_t n)
{
	size_t i = 0, start;
	long port = 0;

	if (n == 0 || !is_alpha(s[0]))
		return false;
	while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (n - i < 3 || memcmp(s + i, "://", 3) != 0)
		return false;
	i += 3;
	start = i;
	if (i < n && s[i] == '[') {
		for (i++; i < n && (is_digit(s[i]) || strchr("abcdefABCDEF:.", s[i]) != NULL); i++)
			;
		if (i >= n || s[i] != ']' || i == start + 1)
			return false;
		i++;
	} else {
		while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '.' || s[i] == '-'))
			i++;
		if (i == start)
			return false;
	}
	if (i == n)
		return true;
	if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
		return false;
	for (i++; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

int cors_check_origins(const char *origins, char *err, size_t errlen)
{
	const char *cur = origins != NULL ? origins : "", *tok;
	size_t len, count = 0;
	bool star = false;

	while (cors_next(&cur, &tok, &len)) {
		count++;
		if (len == 1 && tok[0] == '*') {
			star = true;
		} else if (len > CORS_ORIGIN_MAX) {
			snprintf(err, errlen, "an origin is longer than %d bytes: \"%.60s...\"",
			         CORS_ORIGIN_MAX, tok);
			return -1;
		} else if (!origin_syntax_ok(tok, len)) {
			snprintf(err, errlen,
			         "\"%.*s\" is not an origin: write scheme://host[:port], without a path or a "
			         "trailing slash, or * alone",
			         (int)(len > 120 ? 120 : len), tok);
			return -1;
		}
		if (star && count > 1) {
			snprintf(err, errlen, "\"*\" lets every origin in: it must stand alone");
			return -1;
		}
	}
	if (count > CORS_MAX_ORIGINS) {
		snprintf(err, errlen, "more than %d origins", CORS_MAX_ORIGINS);
		return -1;
	}
	return 0;
}

/* Whether origins is exactly "*" (blanks around it aside). */
static bool cors_star(const char *origins)
{
	const char *cur = origins != NULL ? origins : "", *tok;
	size_t len;

	return cors_next(&cur, &tok, &len) && len == 1 && tok[0] == '*' && !cors_next(&cur, &tok, &len);
}

bool cors_origin_allowed(const char *origins, const char *origin)
{
	const char *cur = origins != NULL ? origins : "", *tok;
	size_t olen, len;

	if (origin == NULL)
		return false;
	if (cors_star(origins))
		return true;
	olen = strlen(origin);
	if (olen == 0 || olen > CORS_ORIGIN_MAX)
		return false;
	while (cors_next(&cur, &tok, &len))
		if (len == olen && strncasecmp(tok, origin, len) == 0)
			return true;
	return false;
}

bool cors_response_headers(const char *origins, const char *origin, struct http_response *resp)
{
	bool allowed = cors_origin_allowed(origins, origin);

	if (cors_star(origins)) {
		/* The same answer for every origin: caches need no Vary, and an answer cached from a
		 * request without Origin (a plain <video>) still works for fetch(). */
		resp_header(resp, "Access-Control-Allow-Origin", "*");
	} else {
		resp_header(resp, "Vary", "Origin");
		if (!allowed)
			return false;
		/* The request's own bytes: the browser compares them exactly, and they equal a list
		 * entry (without case), so nothing but origin characters goes out. */
		resp_header(resp, "Access-Control-Allow-Origin", "%s", origin);
	}
	resp_header(resp, "Access-Control-Expose-Headers", "%s", CORS_EXPOSE_HEADERS);
	return allowed;
}

void cors_options(const char *origin, const char *request_method, bool allowed, const char *methods,
                  struct http_response *resp)
{
	resp_header(resp, "Allow", "%s%sOPTIONS", methods, methods[0] != '\0' ? ", " : "");
	if (origin != NULL && request_method != NULL) {
		if (!allowed) {
			resp_error(resp, MERR_FORBIDDEN, NULL,
			           "origin %.120s is not allowed to call this API: add it to cors_origins",
			           origin);
			return;
		}
		resp_header(resp, "Access-Control-Allow-Methods", "%s", methods);
		resp_header(resp, "Access-Control-Allow-Headers", "%s", CORS_ALLOW_HEADERS);
		resp_header(resp, "Access-Control-Max-Age", "%d", CORS_MAX_AGE);
	}
	resp->status = 204;
	resp->content_type[0] = '\0';
}
