/* range.c: Range, Content-Range, If-Range, If-None-Match and HTTP-date parsing (see range.h). */
#include "config.h"

#include "http/range.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest HTTP-date value we parse, trailing OWS included; the formats themselves are 24-30 bytes. */
#define HTTP_DATE_PARSE_MAX 64

/* A bounds-checked read cursor over [p, end). */
struct cur {
	const char *p;
	const char *end;
};

/* A run of digits: value saturates at UINT64_MAX; sig/siglen (leading zeros dropped) stay exact. */
struct range_num {
	uint64_t value;
	bool overflow;
	const char *sig;
	size_t siglen;
};

enum range_kind { RANGE_KIND_INT, RANGE_KIND_SUFFIX };

struct range_spec {
	enum range_kind kind;
	struct range_num first; /* int-range only */
	struct range_num last;  /* int-range: last-pos when has_last; suffix: the length */
	bool has_last;
};

static const char *const date_wkday[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const date_weekday[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
	                                     "Thursday", "Friday", "Saturday" };
static const char *const date_month[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void cur_init(struct cur *c, const char *s, size_t len)
{
	c->p = s;
	c->end = s + len;
}

static bool cur_eof(const struct cur *c)
{
	return c->p >= c->end;
}

static bool cur_peek(const struct cur *c, char ch)
{
	return !cur_eof(c) && *c->p == ch;
}

/* Consumes ch if it is next. */
static bool cur_char(struct cur *c, char ch)
{
	if (!cur_peek(c, ch))
		return false;
	c->p++;
	return true;
}

/* Consumes the exact bytes of lit if they are next. */
static bool cur_lit(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool cur_digit(const struct cur *c)
{
	return !cur_eof(c) && *c->p >= '0' && *c->p <= '9';
}

/* OWS = *( SP / HTAB ) */
static void cur_ows(struct cur *c)
{
	while (!cur_eof(c) && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* Reads exactly ndigits digits into *v. */
static bool cur_fixed(struct cur *c, int ndigits, int *v)
{
	int i, acc = 0;

	for (i = 0; i < ndigits; i++) {
		if (!cur_digit(c))
			return false;
		acc = acc * 10 + (*c->p - '0');
		c->p++;
	}
	*v = acc;
	return true;
}

/* Reads 1*DIGIT; never fails on length, the value saturates. */
static bool range_num_read(struct cur *c, struct range_num *n)
{
	if (!cur_digit(c))
		return false;
	n->value = 0;
	n->overflow = false;
	while (cur_peek(c, '0'))
		c->p++;
	n->sig = c->p;
	while (cur_digit(c)) {
		unsigned d = (unsigned)(*c->p - '0');

		if (n->value > (UINT64_MAX - d) / 10) {
			n->overflow = true;
			n->value = UINT64_MAX;
		} else if (!n->overflow) {
			n->value = n->value * 10 + d;
		}
		c->p++;
	}
	n->siglen = (size_t)(c->p - n->sig);
	return true;
}

/* Exact comparison of two digit runs: <0, 0, >0. */
static int range_num_cmp(const struct range_num *a, const struct range_num *b)
{
	if (a->siglen != b->siglen)
		return a->siglen < b->siglen ? -1 : 1;
	if (a->siglen == 0)
		return 0;
	return memcmp(a->sig, b->sig, a->siglen);
}

/* range-spec = int-range / suffix-range; other-range is not ours to understand. */
static bool range_spec_read(struct cur *c, struct range_spec *rs)
{
	if (cur_char(c, '-')) {
		rs->kind = RANGE_KIND_SUFFIX;
		rs->has_last = true;
		return range_num_read(c, &rs->last);
	}
	rs->kind = RANGE_KIND_INT;
	if (!range_num_read(c, &rs->first) || !cur_char(c, '-'))
		return false;
	rs->has_last = cur_digit(c);
	if (rs->has_last) {
		if (!range_num_read(c, &rs->last))
			return false;
		/* RFC 9110 14.1.1: last-pos < first-pos makes the range-spec invalid. */
		if (range_num_cmp(&rs->last, &rs->first) < 0)
			return false;
	}
	return true;
}

enum http_range_result http_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *end)
{
	struct cur c;
	struct range_spec rs, one = { 0 };
	size_t len, count = 0;

	if (header == NULL)
		return RANGE_NONE;
	len = strnlen(header, HTTP_RANGE_HEADER_MAX + 1);
	if (len > HTTP_RANGE_HEADER_MAX)
		return RANGE_NONE;
	cur_init(&c, header, len);
	cur_ows(&c);
	if ((size_t)(c.end - c.p) < 6 || strncasecmp(c.p, "bytes=", 6) != 0)
		return RANGE_NONE;
	c.p += 6;
	/* 1#range-spec, where a recipient must skip empty list elements (RFC 9110 5.6.1.2). */
	for (;;) {
		cur_ows(&c);
		if (cur_eof(&c))
			break;
		if (cur_char(&c, ','))
			continue;
		if (!range_spec_read(&c, &rs))
			return RANGE_NONE;
		if (count == 0)
			one = rs;
		count++;
		cur_ows(&c);
		if (cur_eof(&c))
			break;
		if (!cur_char(&c, ','))
			return RANGE_NONE;
	}
	if (count != 1)
		return RANGE_NONE;

	if (one.kind == RANGE_KIND_SUFFIX) {
		if (one.last.value == 0)
			return RANGE_UNSATISFIABLE;
		if (size == 0)
			return RANGE_NONE;
		*start = one.last.value >= size ? 0 : size - one.last.value;
		*end = size - 1;
		return RANGE_OK;
	}
	if (size == 0 || one.first.overflow || one.first.value >= size)
		return RANGE_UNSATISFIABLE;
	*start = one.first.value;
	*end = one.has_last && one.last.value < size ? one.last.value : size - 1;
	return RANGE_OK;
}

int http_content_range(char *out, size_t n, uint64_t start, uint64_t end, uint64_t size)
{
	int len;

	if (out == NULL || n == 0)
		return -1;
	out[0] = '\0';
	if (start > end || end >= size)
		return -1;
	len = snprintf(out, n, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, end, size);
	if (len < 0 || (size_t)len >= n) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int http_content_range_unsatisfied(char *out, size_t n, uint64_t size)
{
	int len;

	if (out == NULL || n == 0)
		return -1;
	len = snprintf(out, n, "bytes */%" PRIu64, size);
	if (len < 0 || (size_t)len >= n) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* etagc = %x21 / %x23-7E / obs-text */
static bool etag_char(unsigned char ch)
{
	return ch == 0x21 || (ch >= 0x23 && ch != 0x7f);
}

/*
 * entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE. On success *weak is set and tag/taglen span the
 * opaque-tag, quotes included.
 */
static bool etag_read(struct cur *c, bool *weak, const char **tag, size_t *taglen)
{
	const char *s;

	*weak = cur_lit(c, "W/");
	s = c->p;
	if (!cur_char(c, '"'))
		return false;
	while (!cur_eof(c) && etag_char((unsigned char)*c->p))
		c->p++;
	if (!cur_char(c, '"'))
		return false;
	*tag = s;
	*taglen = (size_t)(c->p - s);
	return true;
}

/* Parses a whole value that must be exactly one entity-tag (OWS around it allowed). */
static bool etag_parse_one(const char *s, bool *weak, const char **tag, size_t *taglen)
{
	struct cur c;
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, HTTP_ETAG_HEADER_MAX + 1);
	if (len > HTTP_ETAG_HEADER_MAX)
		return false;
	cur_init(&c, s, len);
	cur_ows(&c);
	if (!etag_read(&c, weak, tag, taglen))
		return false;
	cur_ows(&c);
	return cur_eof(&c);
}

bool http_if_range_ok(const char *if_range, const char *etag, time_t mtime)
{
	const char *p, *a, *b;
	size_t alen, blen;
	bool aweak, bweak;
	time_t t;

	if (if_range == NULL)
		return true;
	p = if_range + strspn(if_range, " \t");
	if (p[0] == '"' || (p[0] == 'W' && p[1] == '/')) {
		if (!etag_parse_one(if_range, &aweak, &a, &alen) || !etag_parse_one(etag, &bweak, &b, &blen))
			return false;
		return !aweak && !bweak && alen == blen && memcmp(a, b, alen) == 0;
	}
	if (http_date_parse(if_range, &t) != 0)
		return false;
	return t == mtime;
}

bool http_etag_match(const char *if_none_match, const char *etag)
{
	struct cur c;
	const char *mine, *tag;
	size_t len, minelen, taglen;
	bool weak, matched = false;

	if (if_none_match == NULL || !etag_parse_one(etag, &weak, &mine, &minelen))
		return false;
	len = strnlen(if_none_match, HTTP_ETAG_HEADER_MAX + 1);
	if (len > HTTP_ETAG_HEADER_MAX)
		return false;
	cur_init(&c, if_none_match, len);
	cur_ows(&c);
	if (cur_char(&c, '*')) {
		cur_ows(&c);
		return cur_eof(&c);
	}
	for (;;) {
		cur_ows(&c);
		if (cur_eof(&c))
			break;
		if (cur_char(&c, ','))
			continue;
		if (!etag_read(&c, &weak, &tag, &taglen))
			return false;
		if (taglen == minelen && memcmp(tag, mine, taglen) == 0)
			matched = true;
		cur_ows(&c);
		if (cur_eof(&c))
			break;
		if (!cur_char(&c, ','))
			return false;
	}
	return matched;
}

static bool date_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int date_mdays(int y, int m)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && date_leap(y) ? 29 : mdays[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t date_days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	unsigned yoe, doy, doe, mu = (unsigned)m;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (mu > 2 ? mu - 3 : mu + 9) + 2) / 5 + (unsigned)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of date_days_from_civil. */
static void date_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Reads a three-letter month name; *m is 1..12. */
static bool date_month_read(struct cur *c, int *m)
{
	int i;

	for (i = 0; i < 12; i++) {
		if (cur_lit(c, date_month[i])) {
			*m = i + 1;
			return true;
		}
	}
	return false;
}

/* time-of-day = hour ":" minute ":" second */
static bool date_time_read(struct cur *c, int *h, int *mi, int *s)
{
	return cur_fixed(c, 2, h) && cur_char(c, ':') && cur_fixed(c, 2, mi) && cur_char(c, ':') &&
	       cur_fixed(c, 2, s);
}

/* Reads a day name from names[7] that is followed by sep. */
static bool date_dayname_read(struct cur *c, const char *const names[7], char sep)
{
	int i;

	for (i = 0; i < 7; i++) {
		struct cur save = *c;

		if (cur_lit(c, names[i]) && cur_char(c, sep))
			return true;
		*c = save;
	}
	return false;
}

int http_date_parse(const char *s, time_t *out)
{
	struct cur c;
	int y = 0, m = 0, d = 0, h = 0, mi = 0, sec = 0;
	int64_t v;
	size_t len;

	if (s == NULL)
		return -1;
	len = strnlen(s, HTTP_DATE_PARSE_MAX + 1);
	if (len > HTTP_DATE_PARSE_MAX)
		return -1;
	cur_init(&c, s, len);
	cur_ows(&c);
	if (date_dayname_read(&c, date_wkday, ',')) {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		if (!cur_char(&c, ' ') || !cur_fixed(&c, 2, &d) || !cur_char(&c, ' ') ||
		    !date_month_read(&c, &m) || !cur_char(&c, ' ') || !cur_fixed(&c, 4, &y) ||
		    !cur_char(&c, ' ') || !date_time_read(&c, &h, &mi, &sec) || !cur_lit(&c, " GMT"))
			return -1;
	} else if (date_dayname_read(&c, date_weekday, ',')) {
		/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
		if (!cur_char(&c, ' ') || !cur_fixed(&c, 2, &d) || !cur_char(&c, '-') ||
		    !date_month_read(&c, &m) || !cur_char(&c, '-') || !cur_fixed(&c, 2, &y) ||
		    !cur_char(&c, ' ') || !date_time_read(&c, &h, &mi, &sec) || !cur_lit(&c, " GMT"))
			return -1;
		y += y < 70 ? 2000 : 1900;
	} else if (date_dayname_read(&c, date_wkday, ' ')) {
		/* asctime-date: "Sun Nov  6 08:49:37 1994" */
		if (!date_month_read(&c, &m) || !cur_char(&c, ' '))
			return -1;
		if (cur_char(&c, ' ')) {
			if (!cur_fixed(&c, 1, &d))
				return -1;
		} else if (!cur_fixed(&c, 2, &d)) {
			return -1;
		}
		if (!cur_char(&c, ' ') || !date_time_read(&c, &h, &mi, &sec) || !cur_char(&c, ' ') ||
		    !cur_fixed(&c, 4, &y))
			return -1;
	} else {
		return -1;
	}
	cur_ows(&c);
	if (!cur_eof(&c))
		return -1;
	if (d < 1 || d > date_mdays(y, m) || h > 23 || mi > 59 || sec > 60)
		return -1;
	v = date_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + sec;
	if ((int64_t)(time_t)v != v)
		return -1;
	*out = (time_t)v;
	return 0;
}

int http_date_format(time_t t, char *out, size_t n)
{
	int64_t days, secs, y;
	int m, d, wd, len;

	if (out == NULL || n == 0)
		return -1;
	out[0] = '\0';
	days = (int64_t)t / 86400;
	secs = (int64_t)t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	date_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return -1;
	wd = (int)(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
	len = snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", date_wkday[wd], d, date_month[m - 1],
	               (int)y, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
	if (len < 0 || (size_t)len >= n) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
