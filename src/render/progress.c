/* progress.c: ffmpeg "-progress" line parser and percent computation (see progress.h). */
#include "config.h"

#include "render/progress.h"

#include <string.h>

/* Which key set pending_us: a higher rank overrides a lower one within a block. */
enum progress_rank {
	PROGRESS_RANK_NONE = 0,
	PROGRESS_RANK_OUT_TIME,
	PROGRESS_RANK_OUT_TIME_MS,
	PROGRESS_RANK_OUT_TIME_US
};

#define PROGRESS_US_PER_SEC INT64_C(1000000)

void progress_init(struct progress *p, int64_t total_us)
{
	memset(p, 0, sizeof(*p));
	p->total_us = total_us;
	p->out_time_us = -1;
	p->pending_us = -1;
	p->pending_rank = PROGRESS_RANK_NONE;
}

/* Whether s[0..n) equals the literal lit. */
static bool progress_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Parses s[0..n) as 1*DIGIT into *out; false on empty, signed ("-9223..."), "N/A" or overflow. */
static bool progress_parse_us(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		int d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/*
 * Parses out_time "H+:MM:SS[.f+]" (ffmpeg prints "%02d:%02d:%02d.%06d", hours unbounded) into
 * microseconds; digits past the sixth of the fraction are dropped. Negative times fail.
 */
static bool progress_parse_hms(const char *s, size_t n, int64_t *out)
{
	int64_t hours = 0, us = 0, scale = 100000;
	size_t i = 0, start;
	int mm, ss;

	start = i;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (hours > (INT64_MAX - 9) / 10)
			return false;
		hours = hours * 10 + (s[i] - '0');
		i++;
	}
	if (i == start || i + 6 > n || s[i] != ':' || s[i + 3] != ':')
		return false;
	if (s[i + 1] < '0' || s[i + 1] > '5' || s[i + 2] < '0' || s[i + 2] > '9' || s[i + 4] < '0' ||
	    s[i + 4] > '5' || s[i + 5] < '0' || s[i + 5] > '9')
		return false;
	mm = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
	ss = (s[i + 4] - '0') * 10 + (s[i + 5] - '0');
	i += 6;
	if (i < n) {
		if (s[i] != '.' || i + 1 == n)
			return false;
		for (i++; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return false;
			us += (s[i] - '0') * scale;
			scale /= 10;
		}
	}
	us += (int64_t)(mm * 60 + ss) * PROGRESS_US_PER_SEC;
	if (hours > (INT64_MAX - us) / (3600 * PROGRESS_US_PER_SEC))
		return false;
	*out = hours * 3600 * PROGRESS_US_PER_SEC + us;
	return true;
}

/* Handles one complete line (no newline); returns 1 if it closed a block, else 0. */
static size_t progress_line(struct progress *p, const char *s, size_t n)
{
	const char *eq, *val;
	size_t klen, vlen;
	int64_t us;
	int rank = PROGRESS_RANK_NONE;
	bool ok = false;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\0', n) != NULL)
		return 0;
	eq = memchr(s, '=', n);
	if (eq == NULL)
		return 0;
	klen = (size_t)(eq - s);
	val = eq + 1;
	vlen = n - klen - 1;

	if (progress_eq(s, klen, "progress")) {
		if (p->pending_rank != PROGRESS_RANK_NONE)
			p->out_time_us = p->pending_us;
		if (progress_eq(val, vlen, "end"))
			p->ended = true;
		p->pending_us = -1;
		p->pending_rank = PROGRESS_RANK_NONE;
		p->blocks++;
		return 1;
	}
	if (progress_eq(s, klen, "out_time_us")) {
		rank = PROGRESS_RANK_OUT_TIME_US;
		ok = progress_parse_us(val, vlen, &us);
	} else if (progress_eq(s, klen, "out_time_ms")) {
		rank = PROGRESS_RANK_OUT_TIME_MS;
		ok = progress_parse_us(val, vlen, &us);
	} else if (progress_eq(s, klen, "out_time")) {
		rank = PROGRESS_RANK_OUT_TIME;
		ok = progress_parse_hms(val, vlen, &us);
	}
	if (ok && rank >= p->pending_rank) {
		p->pending_us = us;
		p->pending_rank = rank;
	}
	return 0;
}

size_t progress_feed(struct progress *p, const void *data, size_t n)
{
	const char *s = data, *end;
	size_t closed = 0;

	if (n == 0)
		return 0;
	end = s + n;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t take = (size_t)((nl ? nl : end) - s);

		if (!p->discarding) {
			if (take > PROGRESS_LINE_MAX - p->len) {
				p->discarding = true;
				p->len = 0;
			} else {
				memcpy(p->line + p->len, s, take);
				p->len += take;
			}
		}
		if (nl == NULL)
			break;
		if (!p->discarding) {
			p->line[p->len] = '\0';
			closed += progress_line(p, p->line, p->len);
		}
		p->discarding = false;
		p->len = 0;
		s = nl + 1;
	}
	return closed;
}

int progress_percent(const struct progress *p)
{
	uint64_t t, total, r = 0;
	int i, pct = 0;

	if (p->ended)
		return 100;
	if (p->total_us <= 0 || p->out_time_us <= 0)
		return 0;
	if (p->out_time_us >= p->total_us)
		return 99;
	/*
	 * floor(100 * t / total) without overflowing 100 * t: add t a hundred times, carrying out
	 * whole totals. r and t are below total <= INT64_MAX, so r + t cannot wrap a uint64_t.
	 */
	t = (uint64_t)p->out_time_us;
	total = (uint64_t)p->total_us;
	for (i = 0; i < 100; i++) {
		r += t;
		if (r >= total) {
			r -= total;
			pct++;
		}
	}
	return pct > 99 ? 99 : pct;
}
