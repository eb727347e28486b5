/* utf8.c: a strict UTF-8 decoder that only counts. */
#include "config.h"

#include "util/utf8.h"

/*
 * A strict decoder (RFC 3629): refuses overlong forms, UTF-16 surrogates (U+D800..U+DFFF),
 * anything past U+10FFFF, truncated sequences and NUL. chars may be NULL.
 */
bool utf8_valid(const char *s, size_t n, size_t *chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, count = 0, need, k;
	unsigned char lo, hi;

	while (i < n) {
		unsigned char c = p[i];

		lo = 0x80;
		hi = 0xBF;
		if (c == 0x00)
			return false;
		if (c < 0x80) {
			need = 0;
		} else if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong below U+0800 */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong below U+10000 */
			else if (c == 0xF4)
				hi = 0x8F; /* past U+10FFFF */
		} else {
			return false; /* continuation byte, C0/C1 overlong lead, or F5..FF */
		}
		if (n - i - 1 < need)
			return false;
		for (k = 1; k <= need; k++) {
			unsigned char b = p[i + k];

			if (b < lo || b > hi)
				return false;
			lo = 0x80;
			hi = 0xBF;
		}
		i += need + 1;
		count++;
	}
	if (chars != NULL)
		*chars = count;
	return true;
}

void utf8_scrub(char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		k = c < 0x80           ? 1 :
		    (c & 0xe0) == 0xc0 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 :
		    (c & 0xf8) == 0xf0 ? 4 :
		                         0;
		if (k == 0 || k > n - i || !utf8_valid(s + i, k, NULL)) {
			s[i++] = '?';
			continue;
		}
		i += k;
	}
	s[n] = '\0';
}

size_t utf8_cut(const char *s, size_t n, size_t max)
{
	size_t cut, back;

	if (n <= max)
		return n;
	/* Back over the continuation bytes (10xxxxxx) of a character that the cut splits, at most 3. */
	for (cut = max, back = 0; cut > 0 && back < 3 && ((unsigned char)s[cut] & 0xc0) == 0x80; back++)
		cut--;
	return back < 3 || ((unsigned char)s[cut] & 0xc0) != 0x80 ? cut : max;
}
