/* query.h: percent-decoding and application/x-www-form-urlencoded query strings. */
#ifndef MEDIAD_QUERY_H
#define MEDIAD_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

#define QUERY_MAX_PARAMS 64
#define QUERY_MAX_LEN 8192

struct query_kv {
	char *key;
	char *value;
};

struct query {
	size_t n;
	struct query_kv kv[QUERY_MAX_PARAMS];
};

/*
 * Appends the percent-decoding of in[0..n) to out. With plus_space, '+' decodes to ' '.
 * Returns 0, or -1 on a malformed escape, an encoded NUL byte, or out of memory.
 */
int url_decode(const char *in, size_t n, bool plus_space, struct buf *out);
/*
 * Parses qs ("a=1&b=x%20y&a=2") into q, in order, repeated keys kept. A key without '=' has the
 * value "". Empty pairs are skipped. Returns 0, or -1 (q emptied) when qs is longer than
 * QUERY_MAX_LEN, has more than QUERY_MAX_PARAMS pairs, or holds a malformed escape.
 */
int query_parse(const char *qs, struct query *q);
/* The first value of key, or NULL. */
const char *query_get(const struct query *q, const char *key);
/* Fills out with up to max values of key, in order; returns how many there are in all. */
size_t query_get_all(const struct query *q, const char *key, const char **out, size_t max);
void query_free(struct query *q);

#endif
