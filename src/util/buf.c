/* buf.c: growable NUL-terminated byte buffer (see buf.h for the invariants). */
#include "config.h"

#include "util/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char buf_empty[1];

void buf_init(struct buf *b)
{
	b->data = buf_empty;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void buf_free(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
	b->failed = false;
}

int buf_grow(struct buf *b, size_t extra)
{
	size_t want, ncap;
	char *p;

	if (b->failed)
		return -1;
	if (extra > SIZE_MAX - 1 - b->len)
		goto fail;
	want = b->len + extra;
	if (want <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < want) {
		if (ncap > (SIZE_MAX - 1) / 2) {
			ncap = want;
			break;
		}
		ncap *= 2;
	}
	p = b->cap ? realloc(b->data, ncap + 1) : malloc(ncap + 1);
	if (p == NULL)
		goto fail;
	if (!b->cap)
		p[0] = '\0';
	b->data = p;
	b->cap = ncap;
	return 0;
fail:
	b->failed = true;
	return -1;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) != 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (b->failed)
		return -1;
	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len + (b->cap ? 1 : 0), fmt, cp);
	va_end(cp);
	if (n < 0) {
		b->failed = true;
		return -1;
	}
	if ((size_t)n > b->cap - b->len || !b->cap) {
		if (buf_grow(b, (size_t)n) != 0)
			return -1;
		n = vsnprintf(b->data + b->len, b->cap - b->len + 1, fmt, ap);
		if (n < 0) {
			b->failed = true;
			return -1;
		}
	}
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p;

	if (b->failed) {
		buf_free(b);
		return NULL;
	}
	if (b->cap == 0) {
		p = calloc(1, 1);
	} else {
		p = b->data;
	}
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}
