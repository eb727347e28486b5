/* buf.h: the one growable byte buffer of the project. */
#ifndef MEDIAD_BUF_H
#define MEDIAD_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Invariants:
 * - data is never NULL: an empty buffer points at a shared static "" (cap 0);
 * - data[len] == '\0' always, so data can be used as a C string when it holds no NUL;
 * - cap is the allocated size minus the terminator; cap == 0 means nothing is allocated;
 * - failed is sticky: once an append could not allocate, every later append is a no-op
 *   and returns -1, so a builder may append freely and check once at the end.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

extern char buf_empty[1];
#define BUF_INIT                       \
	{                              \
		buf_empty, 0, 0, false \
	}

void buf_init(struct buf *b);
/* Frees the memory and resets b to BUF_INIT. Safe on an initialised empty buffer. */
void buf_free(struct buf *b);
/* Empties b but keeps its memory. */
void buf_reset(struct buf *b);
/* Ensures room for extra more bytes. Returns 0, or -1 on overflow or out of memory. */
int buf_grow(struct buf *b, size_t extra) __attribute__((warn_unused_result));
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands out the memory (caller frees it with free()) and resets b. Returns NULL if b failed
 * or on out of memory; an empty buffer gives a fresh "" allocation. */
char *buf_detach(struct buf *b, size_t *len) __attribute__((warn_unused_result));

#endif
