/* router.c: matches a method and a decoded path against the route table, without allocation. */
#include "config.h"

#include "http/router.h"

#include <stdbool.h>
#include <string.h>

#define ROUTE_MAX_NAME (sizeof(((struct route_params *)0)->p[0].name) - 1)

/*
 * Matches path against pattern segment by segment; a ":name" segment takes any non-empty
 * segment of at most ROUTE_MAX_PARAM_LEN - 1 bytes into params. Matching is strict: empty
 * segments count, so "/projects/" does not match "/projects" nor "//projects" "/projects".
 * On a mismatch params may hold a partial result; the caller resets it.
 */
static bool route_path_match(const char *pattern, const char *path, struct route_params *params)
{
	const char *p = pattern, *s = path;
	size_t plen, slen;

	params->n = 0;
	if (*p != '/' || *s != '/')
		return false;
	for (;;) {
		p++;
		s++;
		plen = strcspn(p, "/");
		slen = strcspn(s, "/");
		if (*p == ':') {
			if (plen == 1 || plen - 1 > ROUTE_MAX_NAME)
				return false;
			if (slen == 0 || slen >= ROUTE_MAX_PARAM_LEN || params->n == ROUTE_MAX_PARAMS)
				return false;
			memcpy(params->p[params->n].name, p + 1, plen - 1);
			params->p[params->n].name[plen - 1] = '\0';
			memcpy(params->p[params->n].value, s, slen);
			params->p[params->n].value[slen] = '\0';
			params->n++;
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			return false;
		}
		p += plen;
		s += slen;
		if (*p == '\0' || *s == '\0')
			return *p == '\0' && *s == '\0';
	}
}

/* Appends method to the comma-separated list in allow unless it is there already or would not fit. */
static void allow_add(char *allow, size_t allowlen, const char *method)
{
	size_t used, mlen = strlen(method);
	const char *cur = allow;

	if (allow == NULL || allowlen == 0)
		return;
	while (*cur != '\0') {
		size_t n = strcspn(cur, ",");
		if (n == mlen && memcmp(cur, method, mlen) == 0)
			return;
		cur += n;
		if (*cur == ',')
			cur += 2;
	}
	used = strlen(allow);
	if (used + (used ? 2 : 0) + mlen + 1 > allowlen)
		return;
	if (used) {
		memcpy(allow + used, ", ", 2);
		used += 2;
	}
	memcpy(allow + used, method, mlen + 1);
}

/*
 * First pass: the first route (in table order) whose method and path both match wins. Without
 * one, a HEAD request takes the first GET route for the path. Otherwise the path decides between
 * 404 and 405; for 405, allow lists the methods of every route matching the path, in table
 * order, with HEAD right after GET when the table has no HEAD route of its own.
 */
enum route_result router_match(const struct route *table, size_t n, const char *method, const char *path,
                               const struct route **out, struct route_params *params, char *allow,
                               size_t allowlen)
{
	const struct route *get_route = NULL;
	bool path_seen = false, has_head = false;
	enum route_result rc = ROUTE_NOT_FOUND;
	size_t i;

	*out = NULL;
	if (allow != NULL && allowlen > 0)
		allow[0] = '\0';
	if (method == NULL)
		method = "";
	if (path == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (!route_path_match(table[i].pattern, path, params))
			continue;
		path_seen = true;
		if (strcmp(table[i].method, method) == 0) {
			*out = &table[i];
			rc = ROUTE_MATCH;
			goto out;
		}
		if (get_route == NULL && strcmp(table[i].method, "GET") == 0)
			get_route = &table[i];
		if (strcmp(table[i].method, "HEAD") == 0)
			has_head = true;
	}
	if (get_route != NULL && strcmp(method, "HEAD") == 0) {
		/* Matched once above, so this cannot fail; it refills params for the GET route. */
		if (route_path_match(get_route->pattern, path, params)) {
			*out = get_route;
			rc = ROUTE_MATCH;
			goto out;
		}
	}
	if (!path_seen)
		goto out;
	rc = ROUTE_METHOD_NOT_ALLOWED;
	for (i = 0; i < n; i++) {
		struct route_params scratch;

		if (!route_path_match(table[i].pattern, path, &scratch))
			continue;
		allow_add(allow, allowlen, table[i].method);
		if (!has_head && strcmp(table[i].method, "GET") == 0)
			allow_add(allow, allowlen, "HEAD");
	}
out:
	if (rc != ROUTE_MATCH)
		params->n = 0;
	return rc;
}
