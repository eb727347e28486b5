/* range.h: HTTP byte ranges, validators and dates (RFC 9110) as pure functions over header values. */
#ifndef MEDIAD_RANGE_H
#define MEDIAD_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest Range value we look at; a longer one is ignored (the full body is served). */
#define HTTP_RANGE_HEADER_MAX 1024
/* Longest If-Range or If-None-Match value we look at; a longer one never matches. */
#define HTTP_ETAG_HEADER_MAX 8192
/* Buffer size for an IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" and the NUL. */
#define HTTP_DATE_SIZE 30
/* Buffer size that fits any Content-Range value: "bytes " 3 x 20 digits, '-', '/' and the NUL. */
#define HTTP_CONTENT_RANGE_SIZE 69

enum http_range_result {
	RANGE_NONE,         /* no usable Range: ignore it and answer 200 with the whole body */
	RANGE_OK,           /* answer 206 with bytes start..end (inclusive) */
	RANGE_UNSATISFIABLE /* answer 416 with "Content-Range: bytes * /size" */
};

/*
 * Parses a Range header value against a representation of size bytes.
 * header NULL, a unit other than "bytes" (case-insensitive), bad syntax (e.g. "bytes=5-2", signs,
 * spaces inside a range, trailing garbage) or a value longer than HTTP_RANGE_HEADER_MAX give
 * RANGE_NONE. Forms: "bytes=a-b", "bytes=a-", "bytes=-n"; OWS and empty elements around commas
 * are tolerated. RANGE_OK sets *start and *end (inclusive, end clipped to size - 1); otherwise they
 * are left alone.
 * Decisions: a request with more than one range gets RANGE_NONE (RFC 9110 lets a server ignore
 * Range; we never send multipart/byteranges). first-pos >= size, a suffix of 0, or any int-range
 * when size is 0 is RANGE_UNSATISFIABLE; "bytes=-n" (n > 0) on an empty representation is
 * RANGE_NONE, since RFC 9110 calls it satisfiable but no Content-Range can describe zero bytes.
 * Numbers of any length are handled exactly: a huge first-pos is unsatisfiable, a huge last-pos
 * or suffix is clipped.
 */
enum http_range_result http_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *end);

/*
 * Writes the Content-Range value "bytes start-end/size" into out (n bytes; HTTP_CONTENT_RANGE_SIZE
 * always fits). Returns 0, or -1 (out set to "" when n > 0) when start > end, end >= size, or out is
 * too small.
 */
int http_content_range(char *out, size_t n, uint64_t start, uint64_t end, uint64_t size)
        __attribute__((warn_unused_result));
/* Writes the 416 Content-Range value "bytes * /size" (no space) into out. Returns 0 or -1 as above. */
int http_content_range_unsatisfied(char *out, size_t n, uint64_t size) __attribute__((warn_unused_result));

/*
 * Whether a Range may be honoured under If-Range (RFC 9110 13.1.5). if_range NULL means there is
 * no precondition: true. An entity-tag is compared strongly with etag (our ETag value, quotes
 * included, e.g. "\"abc\"" or "W/\"abc\""): a weak tag on either side never matches. Otherwise
 * if_range must be an HTTP-date exactly equal to mtime. Anything malformed is false, so the
 * caller serves the whole body, which is always correct.
 */
bool http_if_range_ok(const char *if_range, const char *etag, time_t mtime);

/*
 * Whether If-None-Match matches etag (weak comparison, RFC 9110 13.1.2): "*" matches any
 * existing representation (etag non-NULL), else any listed entity-tag with the same opaque-tag,
 * W/ ignored on both sides. NULL, malformed or over-long values are false (serve 200, not 304).
 */
bool http_etag_match(const char *if_none_match, const char *etag);

/*
 * Parses an HTTP-date into *out (seconds since the epoch, UTC). Accepts the IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT") and, as RFC 9110 requires of recipients, the obsolete RFC 850
 * ("Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years 70-99 are 19xx, 00-69 are 20xx) and asctime
 * ("Sun Nov  6 08:49:37 1994") forms. Day names are checked for spelling, not against the date.
 * Returns 0, or -1 (*out untouched) on anything else, including impossible dates.
 */
int http_date_parse(const char *s, time_t *out) __attribute__((warn_unused_result));

/*
 * Writes t as an IMF-fixdate into out (n >= HTTP_DATE_SIZE), independent of locale and TZ.
 * Returns 0, or -1 (out set to "" when n > 0) when out is too small or the year is not in
 * 0000..9999.
 */
int http_date_format(time_t t, char *out, size_t n) __attribute__((warn_unused_result));

#endif
