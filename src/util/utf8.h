/* utf8.h: strict UTF-8 validation of bytes from outside. */
#ifndef MEDIAD_UTF8_H
#define MEDIAD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Returns true when s[0..n) is valid UTF-8 (RFC 3629) without NUL bytes, overlong forms,
 * UTF-16 surrogates or code points past U+10FFFF; *chars (chars may be NULL) then gets the number
 * of code points. On false *chars is left alone.
 */
bool utf8_valid(const char *s, size_t n, size_t *chars);

#endif
