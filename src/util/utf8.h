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
/*
 * Makes s[0..n) valid UTF-8 for a text column, in place: each byte that does not begin a valid
 * character (utf8_valid's rules: a truncated sequence, a stray continuation byte, NUL) becomes
 * '?', so the length stays n; then s[n] = '\0' (s must have room for it).
 */
void utf8_scrub(char *s, size_t n);
/* The longest prefix of s[0..n) of at most max bytes that does not end inside a multibyte
 * character: max itself, or up to 3 less when a character straddles it. */
size_t utf8_cut(const char *s, size_t n, size_t max);

#endif
