/* fuzz_range.c: libFuzzer target for the Range, ETag, If-Range and HTTP-date parsers. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first byte picks a file size; the rest is the header value. A range we accept must lie
 * inside the file, and a date we parse must format and parse back to itself. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t fsize = size ? (uint64_t)data[0] * 997 : 0, a = 0, b = 0;
	char out[HTTP_DATE_SIZE];
	time_t t, u;
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (http_range_parse(s, fsize, &a, &b) == RANGE_OK && (a > b || b >= fsize))
		abort();
	(void)http_etag_match(s, "\"abc-1\"");
	(void)http_if_range_ok(s, "\"abc-1\"", 1700000000);
	if (http_date_parse(s, &t) == 0 && http_date_format(t, out, sizeof(out)) == 0 &&
	    (http_date_parse(out, &u) != 0 || u != t))
		abort();
	free(s);
	return 0;
}
