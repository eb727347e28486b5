/* query.c: percent-decoding and the parsed, capped form of a query string. */
#include "config.h"

#include "http/query.h"

#include <stdlib.h>
#include <string.h>

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A raw NUL byte in the input is refused like an encoded one: the result is used as a C string.
 * On failure out is cut back to its length on entry (its failed flag stays set on out of memory).
 */
int url_decode(const char *in, size_t n, bool plus_space, struct buf *out)
{
	size_t mark = out->len;
	size_t i = 0;
	int hi, lo;
	char c;

	while (i < n) {
		c = in[i];
		if (c == '%') {
			if (n - i < 3)
				goto fail;
			hi = hex_value(in[i + 1]);
			lo = hex_value(in[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto fail;
			c = (char)(hi << 4 | lo);
			i += 3;
		} else {
			if (c == '\0')
				goto fail;
			if (c == '+' && plus_space)
				c = ' ';
			i++;
		}
		if (buf_putc(out, c) != 0)
			goto fail;
	}
	return 0;
fail:
	if (out->cap) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	return -1;
}

/* Decodes in[0..n) into a fresh string. Returns it (caller frees) or NULL. */
static char *query_decode_dup(const char *in, size_t n)
{
	struct buf b = BUF_INIT;
	char *s = NULL;

	if (url_decode(in, n, true, &b) != 0)
		goto out;
	s = buf_detach(&b, NULL);
out:
	buf_free(&b);
	return s;
}

/*
 * Fills q from qs; any earlier content of q is overwritten, not freed. NULL is an empty query.
 * On failure q is emptied and nothing is left allocated.
 */
int query_parse(const char *qs, struct query *q)
{
	const char *p, *end, *amp, *eq;
	size_t len;
	char *key = NULL, *value = NULL;
	int rc = -1;

	q->n = 0;
	if (qs == NULL)
		return 0;
	len = strlen(qs);
	if (len > QUERY_MAX_LEN)
		goto out;
	p = qs;
	end = qs + len;
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (amp == p) {
			p++;
			continue;
		}
		if (q->n == QUERY_MAX_PARAMS)
			goto out;
		eq = memchr(p, '=', (size_t)(amp - p));
		key = query_decode_dup(p, (size_t)((eq ? eq : amp) - p));
		value = eq ? query_decode_dup(eq + 1, (size_t)(amp - eq - 1)) : strdup("");
		if (key == NULL || value == NULL)
			goto out;
		q->kv[q->n].key = key;
		q->kv[q->n].value = value;
		key = NULL;
		value = NULL;
		q->n++;
		p = amp;
	}
	rc = 0;
out:
	free(key);
	free(value);
	if (rc != 0)
		query_free(q);
	return rc;
}

/* The first value of key (exact, case-sensitive match), owned by q; NULL when absent. */
const char *query_get(const struct query *q, const char *key)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->kv[i].key, key) == 0)
			return q->kv[i].value;
	return NULL;
}

/* Stores up to max values of key in out (owned by q) and returns how many q holds in all. */
size_t query_get_all(const struct query *q, const char *key, const char **out, size_t max)
{
	size_t i, found = 0;

	for (i = 0; i < q->n; i++) {
		if (strcmp(q->kv[i].key, key) != 0)
			continue;
		if (found < max)
			out[found] = q->kv[i].value;
		found++;
	}
	return found;
}

/* Frees every pair and leaves q empty; safe to call twice. */
void query_free(struct query *q)
{
	size_t i;

	for (i = 0; i < q->n; i++) {
		free(q->kv[i].key);
		free(q->kv[i].value);
		q->kv[i].key = NULL;
		q->kv[i].value = NULL;
	}
	q->n = 0;
}
